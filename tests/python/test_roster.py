"""The roster: the demo roster fits the sample, a bad roster is refused with the line and the
fix, a load replaces the previous roster as a whole, and the class marts add up to the
course marts (each student is in one class per course in the demo roster)."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from ingest.errors import InputError
from ingest.load.loader import load_files
from ingest.load.roster import load_roster, read_roster
from ingest.sample.generate import GenerateConfig, generate
from ingest.sample.roster import ROSTER_FOLDER, demo_roster, write_roster
from ingest.settings import PROJECT_DIR, Settings
from ingest.warehouse.dbt_runner import run_dbt
from ingest.warehouse.lake import connect

STUDENTS, SEED = 120, 5


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("roster")
    generate(GenerateConfig(students=STUDENTS, days=3, start=date.today() - timedelta(days=4), seed=SEED,
                            out=folder / "raw"), progress=False)
    write_roster(demo_roster(STUDENTS, SEED), folder / "raw" / ROSTER_FOLDER)
    settings = Settings(warehouse_path=folder / "warehouse.sqlite")
    report = load_files([str(folder / "raw")], settings, show_progress=False)
    assert not any("_roster" in name for name in report.files_loaded), "roster CSVs are not event files"
    load_roster(folder / "raw" / ROSTER_FOLDER, settings)
    done = run_dbt(["build", "--exclude", "test_type:unit", "--quiet"], settings, capture=True)
    assert done.returncode == 0, done.stdout[-4000:]
    return settings


def rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with connect(settings, read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_every_students_course_has_a_class_in_the_demo_roster(built: Settings) -> None:
    assert rows(built, """
        select count(*) from (select distinct student_hash, course_id from silver.events_cleaned) as taken
        where not exists (select 1 from silver.class_students as enrolled
                          where enrolled.student_hash = taken.student_hash and enrolled.course_id = taken.course_id)
    """) == [(0,)]
    assert rows(built, "select count(*), count(distinct teacher_id) from silver.class_teachers") == [(20, 10)]


def test_class_chapter_engagement_adds_up_to_chapter_engagement(built: Settings) -> None:
    differences = rows(built, """
        with by_class as (
            select date, course_id, chapter_id, round(sum(total_time_spent), 6) as time_spent,
                   sum(visits_count) as visits, sum(unique_students) as students,
                   coalesce(sum(round(dropoff_rate * visits_count)), 0) as exits
            from gold.class_chapter_engagement group by all
        ),
        by_course as (
            select date, course_id, chapter_id, round(total_time_spent, 6) as time_spent, visits_count as visits,
                   unique_students as students, round(coalesce(dropoff_rate * visits_count, 0)) as exits
            from gold.chapter_engagement
        )
        select * from (select * from by_class except select * from by_course)
        union all
        select * from (select * from by_course except select * from by_class)
    """)
    assert differences == []
    assert rows(built, "select count(*) > 0 from gold.class_chapter_engagement") == [(True,)]


def test_class_question_summary_adds_up_to_the_question_summary(built: Settings) -> None:
    assert rows(built, """
        select * from (
            select date, quiz_id, question_id, sum(attempts_count), sum(correct_count)
            from gold.class_question_attempts_summary group by all
            except
            select date, quiz_id, question_id, attempts_count, correct_count from gold.question_attempts_summary
        )
    """) == []


def test_no_roster_student_id_leaves_raw(built: Settings) -> None:
    ids = {user for (user,) in rows(built, "select user_id from raw.roster_enrollments where role = 'student'")}
    outside = rows(built, """
        select distinct student_hash from silver.class_students
        union all select distinct cast(class_id as varchar) from gold.class_chapter_engagement
    """)
    assert ids and not ids & {value for (value,) in outside}


def write(folder: Path, name: str, lines: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join(lines) + "\n")


def good_roster(folder: Path) -> Path:
    write(folder, "schools.csv", ["school_id,name", "s1,School One"])
    write(folder, "classes.csv", ["class_id,school_id,course_id,title", "k1,s1,alg1,Algebra", "k2,s1,bio1,Bio"])
    write(folder, "enrollments.csv", ["class_id,user_id,role", "k1,t-1,teacher", "k1,s-0000001,student",
                                      "k2,s-0000001,student"])
    return folder


BROKEN = [
    ("schools.csv", None, "missing; a roster folder holds schools.csv"),
    ("classes.csv", ["class_id,school,course_id,title", "k1,s1,alg1,A"], "it must name the columns"),
    ("classes.csv", ["class_id,school_id,course_id,title", ",s1,alg1,A"], "line 2: class_id is empty"),
    ("classes.csv", ["class_id,school_id,course_id,title", "k1,s1,alg1,A", "k1,s1,bio1,B"], "repeats line 2"),
    ("classes.csv", ["class_id,school_id,course_id,title", "k1,s9,alg1,A"], "school 's9' is not in schools.csv"),
    ("enrollments.csv", ["class_id,user_id,role", "k9,t-1,teacher"], "class 'k9' is not in classes.csv"),
    ("enrollments.csv", ["class_id,user_id,role", "k1,t-1,principal"], "role 'principal' is neither teacher"),
    ("enrollments.csv", ["class_id,user_id,role", "k1,t-1"], "line 2: 3 cells expected"),
]


@pytest.mark.parametrize("name,lines,message", BROKEN, ids=[message[:30] for _, _, message in BROKEN])
def test_a_bad_roster_is_refused_with_the_line_and_the_fix(tmp_path: Path, name: str, lines: list[str] | None,
                                                          message: str) -> None:
    folder = good_roster(tmp_path / "roster")
    if lines is None:
        (folder / name).unlink()
    else:
        write(folder, name, lines)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_roster(folder)


def test_a_load_replaces_the_roster_whole_and_a_refused_one_changes_nothing(tmp_path: Path) -> None:
    settings = Settings(warehouse_path=tmp_path / "wh" / "warehouse.sqlite")
    first = good_roster(tmp_path / "first")
    load_roster(first, settings)
    second = good_roster(tmp_path / "second")
    write(second, "enrollments.csv", ["class_id,user_id,role", "k2,t-2,teacher"])
    load_roster(second, settings)
    assert rows(settings, "select class_id, user_id, role from raw.roster_enrollments") == [("k2", "t-2", "teacher")]

    broken = good_roster(tmp_path / "broken")
    write(broken, "enrollments.csv", ["class_id,user_id,role", "k1,t-1,nobody"])
    done = subprocess.run([sys.executable, "-m", "ingest", "roster", "load", str(broken)], cwd=PROJECT_DIR,
                          env={"WAREHOUSE_PATH": str(settings.warehouse_path), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "nobody" in done.stderr
    assert rows(settings, "select class_id, user_id, role from raw.roster_enrollments") == [("k2", "t-2", "teacher")]


def test_the_generated_roster_is_readable_csv(tmp_path: Path) -> None:
    files = write_roster(demo_roster(10, 1), tmp_path)
    with open(files[2], newline="") as handle:
        enrollments = list(csv.DictReader(handle))
    assert {row["role"] for row in enrollments} == {"teacher", "student"}
    assert read_roster(tmp_path)["enrollments"][0]["class_id"] == enrollments[0]["class_id"]
