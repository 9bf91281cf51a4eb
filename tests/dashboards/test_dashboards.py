"""Log in as a demo teacher and a demo school admin in headless Chromium, open their dashboard,
wait for every chart, and check the numbers shown against the marts for that role's scope:
a teacher sees their classes' students only, an admin their school's.

Screenshots go to logs/dashboards/ (a test artifact); with UPDATE_SCREENSHOTS=1 also to
docs/dashboards/, the ones the README shows (`make dashboards-screenshots`).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ARTIFACTS, CHROMIUM, PROJECT_DIR, Superset
from playwright.sync_api import Browser, Page, sync_playwright

from ingest.settings import Settings
from ingest.warehouse.lake import connect

TEACHER = ("t-north-alg1", "demo-teacher")
ADMIN = ("admin-sch-north", "demo-admin")
SCHOOL = "sch-north"
CHART_TIMEOUT_SECONDS = 600  # every chart of a dashboard; the machine may be slow and shared
DOCS = PROJECT_DIR / "docs" / "dashboards"


def query(settings: Settings, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
    with connect(settings, read_only=True) as connection:
        return connection.execute(sql, list(parameters)).fetchall()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no Chromium at {CHROMIUM}: run 'dashboards/superset.sh install-browser' "
                    "(apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def log_in(browser: Browser, superset: Superset, user: tuple[str, str]) -> Page:
    # Tall enough for a whole dashboard: a full-page screenshot of a taller page resizes the
    # viewport, and Superset redraws every chart, blank for a moment.
    page = browser.new_page(viewport={"width": 1600, "height": 2000})
    page.set_default_timeout(120_000)
    page.goto(f"{superset.url}/login/")
    page.fill("#username", user[0])
    page.fill("#password", user[1])
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


# One state per chart: "error: ...", "loading" or "ready".
CHART_STATES = """() => Array.from(document.querySelectorAll('[data-test-chart-name]')).map(chart => {
    const name = chart.getAttribute('data-test-chart-name');
    const text = chart.innerText;
    if (text.includes('Data error') || chart.querySelector('[role="alert"]')) return [name, 'error: ' + text];
    if (chart.querySelector('.loading') || text.includes('Waiting on')) return [name, 'loading'];
    const drawn = chart.querySelector('canvas, svg, table, .header-line');
    return [name, drawn ? 'ready' : 'loading'];
})"""


def open_dashboard(page: Page, superset: Superset, slug: str, charts: int) -> None:
    page.goto(f"{superset.url}/superset/dashboard/{slug}/")
    deadline = time.monotonic() + CHART_TIMEOUT_SECONDS
    states: list[list[str]] = []
    while time.monotonic() < deadline:
        states = page.evaluate(CHART_STATES)
        errors = [f"{name}: {state}" for name, state in states if state.startswith("error")]
        assert not errors, "\n".join(errors)
        if len(states) == charts and all(state == "ready" for _, state in states):
            page.wait_for_timeout(1500)  # the charts' entry animations end
            return
        page.wait_for_timeout(1000)
    pytest.fail(f"dashboard {slug}: charts not drawn after {CHART_TIMEOUT_SECONDS}s: {states}")


def big_number(page: Page, chart: str) -> str:
    return page.locator(f'[data-test-chart-name="{chart}"] .header-line').inner_text().strip()


def shown_as(shown: str, exact: float, places: int = 1) -> bool:
    """Whether a number shown to `places` decimals is `exact` rounded. Not an equality of rounded
    values: two sums of the same floats in another order can differ in a last bit, and a value
    ending in 5 then rounds either way (seen: 231.1 shown, 231.0 computed here)."""
    return abs(float(shown.replace(",", "")) - exact) <= 0.5 * 10 ** -places + 1e-9


def column(page: Page, chart: str, name: str) -> list[str]:
    cells = page.locator(f'[data-test-chart-name="{chart}"] td[aria-labelledby="header-{name}"]')
    return [text.strip() for text in cells.all_inner_texts()]


def chart_data(page: Page, superset: Superset, dataset: str, columns: list[str]) -> list[dict[str, Any]]:
    """The rows Superset's chart data API gives this user for `columns` of `dataset`, unfiltered."""
    token = page.request.get(f"{superset.url}/api/v1/security/csrf_token/").json()["result"]
    found = page.request.get(f"{superset.url}/api/v1/dataset/",
                             params={"q": f"(filters:!((col:table_name,opr:eq,value:{dataset})))"}).json()
    assert found["count"] == 1, found
    response = page.request.post(
        f"{superset.url}/api/v1/chart/data", headers={"X-CSRFToken": token, "Referer": superset.url},
        data={"datasource": {"id": found["result"][0]["id"], "type": "table"}, "result_format": "json",
              "result_type": "full", "queries": [{"columns": columns, "row_limit": 100000}]})
    assert response.ok, response.text()
    rows: list[dict[str, Any]] = response.json()["result"][0]["data"]
    return rows


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    height = page.evaluate("() => Math.max(...Array.from("
                           "document.querySelectorAll('[data-test=\"dashboard-component-chart-holder\"]'),"
                           " e => e.getBoundingClientRect().bottom))")
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": 1600, "height": min(int(height) + 16, 2000)})
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / f"{name}.png")


def test_a_teacher_sees_their_classes_and_no_other_students(browser: Browser, superset: Superset) -> None:
    settings = superset.settings
    classes = {row[0] for row in query(settings, "select class_id from silver.class_teachers where teacher_id = ?",
                                       TEACHER[0])}
    assert classes, "the demo teacher has no class in the roster"
    roster = query(settings, "select class_id, student_hash from silver.class_students")
    mine = {student for class_id, student in roster if class_id in classes}
    others = {student for class_id, student in roster if class_id not in classes} - mine
    assert mine and others
    (disengaged,) = query(settings, """
        with features as (
            select * from feature_store.student_features
            where as_of_date = (select max(as_of_date) from feature_store.student_features)
        )
        select count(distinct roster.student_hash) filter (
            where coalesce(features.last_login_days_ago >= 3 or features.engagement_trend <= -0.5, true))
        from silver.class_students as roster
        left join features on roster.student_hash = features.student_hash
        where roster.class_id in (select class_id from silver.class_teachers where teacher_id = ?)
        """, TEACHER[0])[0]
    chapters = dict(query(settings, """
        select chapter_id, sum(total_time_spent) / 60.0 from gold.class_chapter_engagement
        where class_id in (select class_id from silver.class_teachers where teacher_id = ?) group by chapter_id
        """, TEACHER[0]))

    page = log_in(browser, superset, TEACHER)
    open_dashboard(page, superset, "teacher", charts=6)
    screenshot(page, "teacher")

    assert big_number(page, "Students in my classes") == f"{len(mine):,}"
    assert big_number(page, "Disengaged students") == f"{disengaged:,}"
    shown_classes = column(page, "Least engaged students", "class_id")
    shown_students = column(page, "Least engaged students", "student")
    assert set(shown_classes) <= classes
    assert {student for student in shown_students} == {student[:12] for student in mine}
    assert not {student[:12] for student in others} & set(shown_students)
    # No other class's student anywhere on the page, whole hash or its first 12 characters.
    text = page.inner_text("body")
    assert not [student for student in others if student[:12] in text]
    shown_chapters = dict(zip(column(page, "Chapter engagement and drop-off", "chapter_id"),
                              column(page, "Chapter engagement and drop-off", "minutes_spent"), strict=True))
    assert shown_chapters.keys() == chapters.keys()
    assert all(shown_as(shown_chapters[chapter], minutes) for chapter, minutes in chapters.items()), \
        (shown_chapters, chapters)
    # The admin dashboard is not the teacher's: the API refuses it.
    assert page.request.get(f"{superset.url}/api/v1/dashboard/school").status in (403, 404)
    # A query of their own, past the dashboard's charts, returns their students' rows only.
    rows = chart_data(page, superset, "teacher_students", ["class_id", "student_hash"])
    assert {row["student_hash"] for row in rows} == mine and {row["class_id"] for row in rows} <= classes
    page.close()


def test_a_school_admin_sees_their_school(browser: Browser, superset: Superset) -> None:
    settings = superset.settings
    students, sessions, minutes = query(settings, """
        select count(distinct sessions.student_hash), count(distinct sessions.session_id),
            avg(sessions.session_duration_seconds) / 60.0
        from silver.sessions
        where sessions.student_hash in (select student_hash from silver.class_students where school_id = ?)
        """, SCHOOL)[0]
    everyone = query(settings, "select count(distinct student_hash) from silver.sessions")[0][0]
    assert 0 < students < everyone, "the sample should have students outside the admin's school"
    courses = dict(query(settings, """
        select course_id, sum(total_time_spent) / 60.0 from gold.class_chapter_engagement
        where school_id = ? group by course_id
        """, SCHOOL))

    page = log_in(browser, superset, ADMIN)
    open_dashboard(page, superset, "school", charts=8)
    screenshot(page, "school")

    assert big_number(page, "Active students (whole period)") == f"{students:,}"
    assert big_number(page, "Sessions (whole period)") == f"{sessions:,}"
    assert shown_as(big_number(page, "Average session length (minutes)"), minutes)
    shown_courses = dict(zip(column(page, "Course comparison", "course_id"),
                             column(page, "Course comparison", "minutes_spent"), strict=True))
    assert shown_courses.keys() == courses.keys()
    assert all(shown_as(shown_courses[course], minutes) for course, minutes in courses.items()), \
        (shown_courses, courses)
    tables = column(page, "Freshness of each table", "table_name")
    assert {"silver.events_cleaned", "gold.student_daily_activity", "silver.class_students"} <= set(tables)
    page.close()
