"""The read API over real HTTP (uvicorn on a free port) against a small built warehouse: what
each role may read, and a negative test for every role and every endpoint; tokens that must
not pass (expired, another key, a missing claim, another audience or issuer, RS256 against a
JWKS file); pages, ETags, date limits and errors; and a copy that moves on to a new snapshot
while a build writes the warehouse."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from warehouses import copy_warehouse

from ingest.access.tokens import ANALYST, ML_SERVICE, ROLES, SCHOOL_ADMIN, TEACHER, issue
from ingest.api.process import free_port
from ingest.settings import PROJECT_DIR, ReadApiSettings, Settings
from ingest.warehouse.dbt_runner import dbt_environment, dbt_executable
from readapi.app import create_app, student_hash_of
from readapi.data import Store

SECRET = "read-api-test-secret-of-32-chars!!"
READ = ReadApiSettings(jwt_secret=SECRET, refresh_seconds=3600)


@dataclass
class Api:
    url: str
    store: Store
    own_class: str  # a class of the teacher TEACHER_ID, in school SCHOOL
    other_class: str  # a class of the other school
    own_student: tuple[str, str]  # (LMS id, hash) of a student of own_class with activity
    other_student: str  # the hash of a student of the other school only
    course: str  # the course of own_class

    def get(self, path: str, token: str | None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.get(self.url + path, headers=headers, timeout=60, **kwargs)


# The teacher of the fixture's class, and its school; the fixture picks them from the data.
SCOPE = {"teacher": "", "school": "", "other_teacher": ""}


def token(role: str, subject: str | None = None, school: str | None = None, **changes: Any) -> str:
    if role == TEACHER:
        subject = subject or SCOPE["teacher"]
    if role == SCHOOL_ADMIN:
        school = school or SCOPE["school"]
    return issue(replace(READ, **changes), role, subject or f"{role}-1", school)


@pytest.fixture(scope="module")
def api(built_warehouse: Settings) -> Iterator[Api]:
    settings = replace(built_warehouse, read_api=READ)
    store = Store(settings)
    with store.cursor() as (db, _):
        teacher, own_class, course, school, own_hash = db.execute(
            "select t.teacher_id, t.class_id, t.course_id, t.school_id, min(s.student_hash) "
            "from silver.class_teachers as t inner join silver.class_students as s on t.class_id = s.class_id "
            "inner join gold.student_daily_activity as a on s.student_hash = a.student_hash "
            "group by all order by t.class_id limit 1").fetchall()[0]
        other_class, other = db.execute(
            "select class_id, min(student_hash) from silver.class_students where school_id <> ? and student_hash not "
            "in (select student_hash from silver.class_students where school_id = ?) group by all order by 1 limit 1",
            [school, school]).fetchall()[0]
        SCOPE.update(teacher=teacher, school=school, other_teacher=db.execute(
            "select min(teacher_id) from silver.class_teachers where school_id = ? and teacher_id <> ?",
            [school, teacher]).fetchall()[0][0])
    with built_warehouse_connection(built_warehouse) as lake:
        own_id = next(user for (user,) in lake.execute(
            "select distinct user_id from raw.roster_enrollments where role = 'student' and class_id = ?",
            [own_class]).fetchall() if student_hash_of(user) == own_hash)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the read API did not start"
        time.sleep(0.05)
    yield Api(f"http://127.0.0.1:{port}", store, own_class, other_class, (own_id, own_hash), other, course)
    server.should_exit = True
    thread.join(timeout=30)


def built_warehouse_connection(settings: Settings) -> Any:
    from ingest.warehouse.lake import connect

    return connect(settings, read_only=True)


# Every endpoint, the roles that may call it (with a scope they are in), as path templates.
ENDPOINTS: dict[str, frozenset[str]] = {
    "/v1/students/{own_hash}/activity": frozenset({TEACHER, SCHOOL_ADMIN, ANALYST}),
    "/v1/students/{own_hash}/features": frozenset({TEACHER, SCHOOL_ADMIN, ML_SERVICE, ANALYST}),
    "/v1/lms-students/activity": frozenset({TEACHER, SCHOOL_ADMIN}),
    "/v1/lms-students/features": frozenset({TEACHER, SCHOOL_ADMIN}),
    "/v1/features": frozenset({ML_SERVICE, ANALYST}),
    "/v1/classes/{own_class}/chapter-engagement": frozenset({TEACHER, SCHOOL_ADMIN, ANALYST}),
    "/v1/classes/{own_class}/question-difficulty": frozenset({TEACHER, SCHOOL_ADMIN, ANALYST}),
    "/v1/classes/{own_class}/disengaged-students": frozenset({TEACHER, SCHOOL_ADMIN, ANALYST}),
    "/v1/courses/{course}/chapter-engagement": frozenset({ANALYST}),
    "/v1/courses/{course}/question-difficulty": frozenset({ANALYST}),
    "/v1/courses/{course}/activity/realtime": frozenset({TEACHER, SCHOOL_ADMIN, ANALYST}),
    "/v1/freshness": frozenset(ROLES),
}


def path_of(api: Api, template: str) -> str:
    return template.format(own_hash=api.own_student[1], own_class=api.own_class, course=api.course)


def lms_header(api: Api, template: str) -> dict[str, str]:
    return {"X-Student-Id": api.own_student[0]} if "lms-students" in template else {}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reads_only_its_endpoints(api: Api, role: str) -> None:
    for template, roles in ENDPOINTS.items():
        response = api.get(path_of(api, template), token(role), headers=lms_header(api, template))
        if role in roles:
            assert response.status_code == 200, (template, response.text)
            assert response.headers["content-type"] == "application/json"
        else:
            assert response.status_code == 403, (template, response.text)
            assert response.json()["error"]["code"] == "forbidden"


SCOPED = [t for t in ENDPOINTS if "{own_hash}" in t or "{own_class}" in t or "lms-students" in t]


@pytest.mark.parametrize("role", [TEACHER, SCHOOL_ADMIN])
def test_a_teacher_or_admin_never_reads_another_schools_class_or_student(api: Api, role: str) -> None:
    for template in SCOPED:
        path = template.format(own_hash=api.other_student, own_class=api.other_class, course=api.course)
        headers = {"X-Student-Id": "s-not-in-any-of-my-classes"} if "lms-students" in template else {}
        response = api.get(path, token(role), headers=headers)
        assert response.status_code == 403, (template, response.text)
        assert response.json()["error"]["code"] == "forbidden"


def test_a_teacher_never_reads_a_class_of_another_teacher_in_the_same_school(api: Api) -> None:
    other_teacher = token(TEACHER, subject=SCOPE["other_teacher"])
    response = api.get(f"/v1/classes/{api.own_class}/chapter-engagement", other_teacher)
    assert response.status_code == 403


def test_a_teacher_reads_a_student_by_lms_id_as_by_hash(api: Api) -> None:
    since = {"start": str(date.today() - timedelta(days=10))}
    by_hash = api.get(f"/v1/students/{api.own_student[1]}/activity", token(TEACHER), params=since)
    by_id = api.get("/v1/lms-students/activity", token(TEACHER), params=since,
                    headers={"X-Student-Id": api.own_student[0]})
    assert by_hash.status_code == by_id.status_code == 200
    assert by_hash.json()["data"] and by_id.json() == by_hash.json()
    assert api.own_student[0] not in by_id.text


def _rsa() -> tuple[Any, dict[str, Any]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return key, {**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": READ.issuer, "aud": READ.audience, "sub": "a-1", "role": ANALYST, "iat": now, "exp": now + 600}
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


BAD_TOKENS = {
    "expired": lambda: jwt.encode(claims(exp=int(time.time()) - 3600), SECRET, algorithm="HS256"),
    "another key": lambda: jwt.encode(claims(), "another-secret-that-is-32-chars-long!", algorithm="HS256"),
    "no role claim": lambda: jwt.encode(claims(role=None), SECRET, algorithm="HS256"),
    "no sub claim": lambda: jwt.encode(claims(sub=None), SECRET, algorithm="HS256"),
    "no exp claim": lambda: jwt.encode(claims(exp=None), SECRET, algorithm="HS256"),
    "admin without school": lambda: jwt.encode(claims(role=SCHOOL_ADMIN), SECRET, algorithm="HS256"),
    "unknown role": lambda: jwt.encode(claims(role="superuser"), SECRET, algorithm="HS256"),
    "another audience": lambda: jwt.encode(claims(aud="another-api"), SECRET, algorithm="HS256"),
    "another issuer": lambda: jwt.encode(claims(iss="someone-else"), SECRET, algorithm="HS256"),
    "unsigned (alg none)": lambda: jwt.encode(claims(), "", algorithm="none"),
    "RS256 without a JWKS": lambda: jwt.encode(claims(), _rsa()[0], algorithm="RS256", headers={"kid": "k1"}),
    "not a JWT": lambda: "not-a-token",
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_a_bad_token_is_401_on_every_endpoint(api: Api, case: str) -> None:
    bad = BAD_TOKENS[case]()
    for template in ENDPOINTS:
        response = api.get(path_of(api, template), bad, headers=lms_header(api, template))
        assert response.status_code == 401, (template, response.text)
        assert response.json()["error"]["code"] == "invalid_token"
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_no_token_is_401_on_every_endpoint(api: Api) -> None:
    for template in ENDPOINTS:
        response = api.get(path_of(api, template), None, headers=lms_header(api, template))
        assert response.status_code == 401, template
        assert response.json()["error"]["code"] == "unauthorized"


def test_rs256_tokens_verify_against_a_jwks_file_and_only_its_keys(tmp_path: Path) -> None:
    from ingest.access.tokens import TokenVerifier
    from ingest.errors import TokenError

    key, jwk = _rsa()
    other, _ = _rsa()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    verifier = TokenVerifier(ReadApiSettings(jwks=str(jwks)))
    good = jwt.encode(claims(role=ML_SERVICE, sub="ml-1"), key, algorithm="RS256", headers={"kid": "k1"})
    assert verifier.verify(good).role == ML_SERVICE
    with pytest.raises(TokenError, match="signature"):
        verifier.verify(jwt.encode(claims(), other, algorithm="RS256", headers={"kid": "k1"}))
    with pytest.raises(TokenError, match="not accepted"):  # HS256 is not checked with the public key
        verifier.verify(jwt.encode(claims(), SECRET, algorithm="HS256"))


def test_a_short_secret_or_no_key_is_refused_naming_the_fix() -> None:
    from ingest.access.tokens import TokenVerifier
    from ingest.errors import InputError

    with pytest.raises(InputError, match="at least 32"):
        TokenVerifier(ReadApiSettings(jwt_secret="short"))
    with pytest.raises(InputError, match="READ_API_JWT_SECRET"):
        TokenVerifier(ReadApiSettings())


def test_pages_follow_the_cursor_to_the_same_rows(api: Api) -> None:
    whole = api.get("/v1/features", token(ML_SERVICE), params={"limit": 1000}).json()
    assert whole["next_cursor"] is None and len(whole["data"]) > 3
    rows, cursor = [], None
    while True:
        page = api.get("/v1/features", token(ML_SERVICE), params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200
        rows += page.json()["data"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert rows == whole["data"]
    bad = api.get("/v1/features", token(ML_SERVICE), params={"cursor": "garbage"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_cursor"


def test_etag_gives_304_and_answers_say_how_long_to_cache(api: Api) -> None:
    first = api.get("/v1/freshness", token(ANALYST))
    assert first.headers["cache-control"].startswith("private, max-age=")
    again = api.get("/v1/freshness", token(ANALYST), headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize("params,message", [
    ({"start": "2020-01-01", "end": "2025-01-01"}, "at most 366 days"),
    ({"start": "2025-01-02", "end": "2025-01-01"}, "is after end"),
    ({"start": "yesterday"}, "start"),
    ({"limit": 0}, "limit"),
    ({"limit": 5000}, "at most 1000"),
])
def test_bad_parameters_are_400_with_the_same_error_shape(api: Api, params: dict[str, Any], message: str) -> None:
    response = api.get(f"/v1/classes/{api.own_class}/chapter-engagement", token(ANALYST), params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["status"] == 400 and error["code"] == "bad_request" and message in error["message"]


def test_freshness_names_each_tables_latest_partition_and_run(api: Api) -> None:
    body = api.get("/v1/freshness", token(TEACHER)).json()
    tables = {item["table"]: item for item in body["tables"]}
    assert {"gold.student_daily_activity", "feature_store.student_features",
            "gold.course_activity_realtime"} <= set(tables)
    assert all(item["latest_partition"] and item["latest_run"] for item in tables.values())
    assert body["missing"] == [] and body["snapshot"] == api.store.copy.snapshot


def test_the_openapi_document_lists_every_endpoint(api: Api) -> None:
    paths = httpx.get(api.url + "/openapi.json", timeout=60).json()["paths"]
    assert {template.replace("{own_hash}", "{student_hash}").replace("{own_class}", "{class_id}")
            .replace("{course}", "{course_id}") for template in ENDPOINTS} <= set(paths)


def test_the_copy_moves_to_new_snapshots_and_answers_while_a_build_runs(built_warehouse: Settings,
                                                                      tmp_path: Path) -> None:
    """A build writes the warehouse; the reader's refresh and its answers go on meanwhile."""
    copy = tmp_path / "warehouse.sqlite"
    copy_warehouse(built_warehouse.warehouse_path, copy)
    settings = Settings(warehouse_path=copy, read_api=READ)
    store = Store(settings)
    before = store.copy.snapshot
    assert not store.refresh()
    watching = store.watch.connection
    build = subprocess.Popen([dbt_executable(), "run", "--quiet", "--full-refresh",
                              "-s", "student_daily_activity", "student_features",
                              "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
                             cwd=PROJECT_DIR, env=dbt_environment(settings), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    refreshes = 0
    while build.poll() is None:
        refreshes += store.refresh()
        with store.cursor() as (db, _):
            assert db.execute("select count(*) from gold.student_daily_activity").fetchall()[0][0] > 0
        time.sleep(0.2)
    assert build.returncode == 0, build.stdout.read() if build.stdout else ""
    store.refresh()
    assert store.copy.snapshot > before
    # One connection watches for new snapshots: attaching the lake for every check made the
    # p99 of make bench-read 30 times its median.
    assert watching is not None and store.watch.connection is watching
    print(f"{refreshes} refreshes during the build")
