"""The read API's routes: FastAPI, its OpenAPI document at /openapi.json (docs at /docs).

Every answer is JSON. Errors are `{"error": {"status", "code", "message"}}`, the same for a
bad token, a forbidden scope, a bad parameter or a table not built yet. Lists are pages of
at most `limit` rows in a fixed order; `next_cursor` (when there are more) is passed back as
`cursor` for the next page. Dates filter with `start` and `end` (inclusive; at most
READ_API_MAX_RANGE_DAYS apart; by default the 30 days up to today). Each answer carries an
`ETag` (a digest of its body: `If-None-Match` gets 304) and `Cache-Control: private`,
valid for the refresh interval, since a new snapshot may change it after that.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from ingest.access.tokens import Principal, TokenVerifier
from ingest.errors import TokenError
from ingest.settings import Settings
from ingest.warehouse.student_hash_salt import salt_from_environment
from readapi import scopes
from readapi.data import Copy, Store

DEFAULT_DAYS = 30
DEFAULT_LIMIT = 100
bearer = HTTPBearer(auto_error=False, description="a JWT: `python -m ingest tokens issue` for development")


CACHE_ENTRIES = 20_000


class CachedAnswer(Exception):
    """Raised by the cache dependency on a hit: the stored answer is sent as is."""

    def __init__(self, body: bytes, etag: str) -> None:
        super().__init__(etag)
        self.body, self.etag = body, etag


class AnswerCache:
    """Answers of the served snapshot, by who asked and what: a repeated request costs no query.
    Emptied when the snapshot changes. An LMS id is kept only as its hash."""

    def __init__(self) -> None:
        self.snapshot = -1
        self.entries: OrderedDict[tuple[Any, ...], tuple[bytes, str]] = OrderedDict()
        self.lock = threading.Lock()

    @staticmethod
    def key(request: Request, caller: Principal) -> tuple[Any, ...]:
        lms_id = request.headers.get("x-student-id")
        return (caller.role, caller.subject, caller.school_id, request.url.path, request.url.query,
                student_hash_of(lms_id) if lms_id else None)

    def get(self, snapshot: int, key: tuple[Any, ...]) -> tuple[bytes, str] | None:
        with self.lock:
            if snapshot != self.snapshot:
                return None
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
            return found

    def put(self, snapshot: int, key: tuple[Any, ...], answer: tuple[bytes, str]) -> None:
        with self.lock:
            if snapshot != self.snapshot:
                self.entries.clear()
                self.snapshot = snapshot
            self.entries[key] = answer
            if len(self.entries) > CACHE_ENTRIES:
                self.entries.popitem(last=False)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else None
    return JSONResponse({"error": {"status": status, "code": code, "message": message}}, status_code=status,
                        headers=headers)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def student_hash_of(student_id: str) -> str:
    """The warehouse's hash of an LMS student id (macros/student_hash.sql), computed here, never stored."""
    return hashlib.sha256(f"{salt_from_environment()}:{student_id}".encode()).hexdigest()


def _encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values), default=_json_default)).decode().rstrip("=")


def _decode_cursor(token: str, width: int) -> list[Any]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        values = None
    if not isinstance(values, list) or len(values) != width:
        raise ApiError(400, "bad_cursor", "cursor is not one this API gave: pass next_cursor back unchanged")
    return values


class Query_:
    """A page of one served table: conditions, the ordering key, and the cursor past the last row."""

    def __init__(self, table: str, columns: Sequence[str], keys: Sequence[str]) -> None:
        self.table, self.columns, self.keys = table, list(columns), list(keys)
        self.conditions: list[str] = []
        self.params: list[Any] = []

    def where(self, condition: str, *params: Any) -> Query_:
        self.conditions.append(condition)
        self.params.extend(params)
        return self

    def page(self, cursor_db: Any, copy: Copy, limit: int, cursor: str | None, max_limit: int) -> dict[str, Any]:
        if limit > max_limit:
            raise ApiError(400, "bad_request", f"limit: at most {max_limit} rows per page")
        if self.table.split(" ")[0] in copy.missing:
            raise ApiError(503, "not_built", f"{self.table.split(' ')[0]} is not in the warehouse yet: run dbt build")
        conditions, params = list(self.conditions), list(self.params)
        if cursor:
            after = _decode_cursor(cursor, len(self.keys))
            conditions.append(f"({', '.join(self.keys)}) > ({', '.join('?' for _ in after)})")
            params.extend(after)
        sql = (f"select {', '.join(self.columns)} from {self.table}"
               + (f" where {' and '.join(conditions)}" if conditions else "")
               + f" order by {', '.join(self.keys)} limit {int(limit) + 1}")
        result = cursor_db.execute(sql, params)
        names = [column[0] for column in result.description]
        rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
        more = len(rows) > limit
        rows = rows[:limit]
        key_names = [key.split(".")[-1] for key in self.keys]
        next_cursor = _encode_cursor([rows[-1][key] for key in key_names]) if more else None
        return {"data": rows, "next_cursor": next_cursor}


def principal(request: Request,
              credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    """The verified holder of the request's bearer token."""
    if credentials is None:
        raise ApiError(401, "unauthorized", "send a bearer token: Authorization: Bearer <JWT>")
    verifier: TokenVerifier = request.app.state.verifier
    try:
        caller = verifier.verify(credentials.credentials)
    except TokenError as error:
        raise ApiError(401, "invalid_token", str(error)) from None
    request.state.caller = caller
    return caller


Caller = Annotated[Principal, Depends(principal)]
Start = Annotated[date | None, Query(description="first date (inclusive); default: 29 days before end")]
End = Annotated[date | None, Query(description="last date (inclusive); default: today (UTC)")]
Limit = Annotated[int, Query(ge=1, description="rows per page, at most READ_API_MAX_PAGE_SIZE")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
StudentHash = Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="the student's hash (64 hex digits)")]
LmsId = Annotated[str, Header(alias="X-Student-Id", min_length=1, max_length=200,
                              description="the LMS student id; hashed here, never stored or logged")]
ClassId = Annotated[str, Path(min_length=1, max_length=200)]
CourseId = Annotated[str, Path(min_length=1, max_length=200)]


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    verifier = TokenVerifier(settings.read_api)
    limits = settings.read_api
    max_rows = limits.max_page_size

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if store is None:
            app.state.store = Store(settings)
            app.state.store.start()
        yield
        app.state.store.stop()

    app = FastAPI(title="Student Behavior read API", version="1", lifespan=lifespan,
                  description=(__doc__ or "").split("\n\n", 1)[1])
    if store is not None:
        app.state.store = store

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.code, error.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("query", "path", "header"))
        return error_response(400, "bad_request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "error")
        return error_response(error.status_code, code, str(error.detail))

    app.state.verifier = verifier
    cache = AnswerCache()

    def cache_headers(etag: str) -> dict[str, str]:
        return {"ETag": etag, "Cache-Control": f"private, max-age={max(int(limits.refresh_seconds), 1)}",
                "Vary": "Authorization"}

    def answer(request: Request, body: bytes, etag: str) -> Response:
        if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=cache_headers(etag))
        return Response(body, media_type="application/json", headers=cache_headers(etag))

    def from_cache(request: Request, caller: Caller) -> None:
        found = cache.get(request.app.state.store.copy.snapshot, AnswerCache.key(request, caller))
        if found is not None:
            raise CachedAnswer(*found)

    @app.exception_handler(CachedAnswer)
    async def _cached(request: Request, hit: CachedAnswer) -> Response:
        return answer(request, hit.body, hit.etag)

    router = APIRouter(dependencies=[Depends(from_cache)])

    def allow(caller: Principal, roles: frozenset[str], what: str) -> None:
        if caller.role not in roles:
            raise ApiError(403, "forbidden", f"the {caller.role} role may not read {what}")

    def date_range(start: date | None, end: date | None) -> tuple[date, date]:
        end = end or datetime.now(UTC).date()
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise ApiError(400, "bad_request", f"start ({start}) is after end ({end})")
        if (end - start).days + 1 > limits.max_range_days:
            raise ApiError(400, "bad_request", f"at most {limits.max_range_days} days per request; "
                                               "ask for a shorter range")
        return start, end

    def respond(request: Request, payload: dict[str, Any], copy: Copy) -> Response:
        body = orjson.dumps({**payload, "snapshot": copy.snapshot}, default=_json_default)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        caller: Principal = request.state.caller
        cache.put(copy.snapshot, AnswerCache.key(request, caller), (body, etag))
        return answer(request, body, etag)

    def the_store(request: Request) -> Store:
        current: Store = request.app.state.store
        return current

    def student_rows(request: Request, caller: Principal, student_hash: str, view: str, start: date | None,
                     end: date | None, limit: int, cursor: str | None) -> Response:
        first, last = date_range(start, end)
        with the_store(request).cursor() as (db, copy):
            if not scopes.may_see_student(copy.roster, caller, student_hash):
                raise ApiError(403, "forbidden", "this student is in none of the classes your token may see")
            if view == "activity":
                query = Query_("gold.student_daily_activity", ("date", "total_sessions", "total_time_spent_seconds",
                               "pages_viewed", "quizzes_attempted", "videos_watched_seconds", "assignments_submitted",
                               "quizzes_correct"), ("date",)).where("student_hash = ?", student_hash) \
                    .where("date between ? and ?", first, last)
            else:
                query = Query_("feature_store.student_features", ("as_of_date", "rolling_7d_time_spent",
                               "rolling_7d_sessions", "avg_quiz_accuracy_30d", "last_login_days_ago",
                               "engagement_trend"), ("as_of_date",)).where("student_hash = ?", student_hash) \
                    .where("as_of_date between ? and ?", first, last)
            page = query.page(db, copy, limit, cursor, max_rows)
            return respond(request, {"student_hash": student_hash, **page}, copy)

    @router.get("/v1/students/{student_hash}/activity", tags=["students"],
             summary="a student's daily activity (teacher, school_admin, analyst)")
    def student_activity(request: Request, caller: Caller, student_hash: StudentHash, start: Start = None,
                         end: End = None, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
        allow(caller, scopes.STUDENT_ACTIVITY, "student activity")
        return student_rows(request, caller, student_hash, "activity", start, end, limit, cursor)

    @router.get("/v1/students/{student_hash}/features", tags=["students"],
             summary="a student's features by day (teacher, school_admin, ml_service, analyst)")
    def student_features(request: Request, caller: Caller, student_hash: StudentHash, start: Start = None,
                         end: End = None, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
        allow(caller, scopes.STUDENT_FEATURES, "student features")
        return student_rows(request, caller, student_hash, "features", start, end, limit, cursor)

    @router.get("/v1/lms-students/activity", tags=["students"],
             summary="a student's daily activity by LMS id, in the X-Student-Id header (teacher, school_admin)")
    def lms_student_activity(request: Request, caller: Caller, student_id: LmsId, start: Start = None,
                             end: End = None, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
        allow(caller, scopes.BY_LMS_ID, "students by LMS id (use the student hash)")
        return student_rows(request, caller, student_hash_of(student_id), "activity", start, end, limit, cursor)

    @router.get("/v1/lms-students/features", tags=["students"],
             summary="a student's features by LMS id, in the X-Student-Id header (teacher, school_admin)")
    def lms_student_features(request: Request, caller: Caller, student_id: LmsId, start: Start = None,
                             end: End = None, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
        allow(caller, scopes.BY_LMS_ID, "students by LMS id (use the student hash)")
        return student_rows(request, caller, student_hash_of(student_id), "features", start, end, limit, cursor)

    @router.get("/v1/features", tags=["features"], summary="every student's features on one date (ml_service, analyst)")
    def all_features(request: Request, caller: Caller,
                     as_of: Annotated[date | None, Query(description="default: the latest date")] = None,
                     limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
        allow(caller, scopes.ALL_FEATURES, "every student's features")
        with the_store(request).cursor() as (db, copy):
            query = Query_("feature_store.student_features", ("student_hash", "as_of_date", "rolling_7d_time_spent",
                           "rolling_7d_sessions", "avg_quiz_accuracy_30d", "last_login_days_ago",
                           "engagement_trend"), ("student_hash",))
            if as_of is None:
                query.where("as_of_date = (select max(as_of_date) from feature_store.student_features)")
            else:
                query.where("as_of_date = ?", as_of)
            return respond(request, query.page(db, copy, limit, cursor, max_rows), copy)

    def class_allowed(copy: Copy, caller: Principal, class_id: str) -> None:
        allow(caller, scopes.CLASS_MARTS, "class marts")
        if not scopes.may_see_class(copy.roster, caller, class_id):
            raise ApiError(403, "forbidden", f"class {class_id!r} is not one your token may see")

    @router.get("/v1/classes/{class_id}/chapter-engagement", tags=["classes"],
             summary="a class's chapter engagement by date (teacher, school_admin, analyst)")
    def class_chapter_engagement(request: Request, caller: Caller, class_id: ClassId, start: Start = None,
                                 end: End = None, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
        first, last = date_range(start, end)
        with the_store(request).cursor() as (db, copy):
            class_allowed(copy, caller, class_id)
            query = Query_("gold.class_chapter_engagement", ("date", "course_id", "chapter_id", "total_time_spent",
                           "visits_count", "avg_time_per_visit", "unique_students", "avg_scroll_depth",
                           "dropoff_rate"), ("date", "course_id", "chapter_id")) \
                .where("class_id = ?", class_id).where("date between ? and ?", first, last)
            return respond(request, {"class_id": class_id, **query.page(db, copy, limit, cursor, max_rows)}, copy)

    @router.get("/v1/classes/{class_id}/question-difficulty", tags=["classes"],
             summary="a class's question difficulty by date (teacher, school_admin, analyst)")
    def class_question_difficulty(request: Request, caller: Caller, class_id: ClassId, start: Start = None,
                                  end: End = None, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
        first, last = date_range(start, end)
        with the_store(request).cursor() as (db, copy):
            class_allowed(copy, caller, class_id)
            query = Query_("gold.class_question_attempts_summary", ("date", "quiz_id", "question_id",
                           "attempts_count", "correct_count", "avg_time_spent", "difficulty_estimate"),
                           ("date", "quiz_id", "question_id")) \
                .where("class_id = ?", class_id).where("date between ? and ?", first, last)
            return respond(request, {"class_id": class_id, **query.page(db, copy, limit, cursor, max_rows)}, copy)

    @router.get("/v1/classes/{class_id}/disengaged-students", tags=["classes"],
             summary="students of a class not seen for days, or whose 7-day time is falling (teacher, "
                     "school_admin, analyst)")
    def disengaged_students(
            request: Request, caller: Caller, class_id: ClassId,
            as_of: Annotated[date | None, Query(description="default: the latest features date")] = None,
            inactive_days: Annotated[int, Query(ge=1, le=365, description="last login at least this long ago")] = 7,
            trend_below: Annotated[float, Query(ge=-1, le=1, description="or a 7-day trend at most this")] = -0.5,
            limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
        with the_store(request).cursor() as (db, copy):
            class_allowed(copy, caller, class_id)
            query = Query_("feature_store.student_features as f", ("f.student_hash", "f.as_of_date",
                           "f.last_login_days_ago", "f.engagement_trend", "f.rolling_7d_time_spent",
                           "f.rolling_7d_sessions"), ("f.student_hash",)) \
                .where("f.student_hash in (select student_hash from silver.class_students where class_id = ?)",
                       class_id) \
                .where("(f.last_login_days_ago is null or f.last_login_days_ago >= ? or f.engagement_trend <= ?)",
                       inactive_days, trend_below)
            if as_of is None:
                query.where("f.as_of_date = (select max(as_of_date) from feature_store.student_features)")
            else:
                query.where("f.as_of_date = ?", as_of)
            return respond(request, {"class_id": class_id, **query.page(db, copy, limit, cursor, max_rows)}, copy)

    @router.get("/v1/courses/{course_id}/chapter-engagement", tags=["courses"],
             summary="a course's chapter engagement by date, every school (analyst)")
    def course_chapter_engagement(request: Request, caller: Caller, course_id: CourseId, start: Start = None,
                                  end: End = None, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
        allow(caller, scopes.COURSE_MARTS, "course-wide marts (ask for your classes)")
        first, last = date_range(start, end)
        with the_store(request).cursor() as (db, copy):
            query = Query_("gold.chapter_engagement", ("date", "chapter_id", "total_time_spent", "visits_count",
                           "avg_time_per_visit", "unique_students", "avg_scroll_depth", "dropoff_rate"),
                           ("date", "chapter_id")) \
                .where("course_id = ?", course_id).where("date between ? and ?", first, last)
            return respond(request, {"course_id": course_id, **query.page(db, copy, limit, cursor, max_rows)}, copy)

    @router.get("/v1/courses/{course_id}/question-difficulty", tags=["courses"],
             summary="a course's question difficulty by date, every school (analyst)")
    def course_question_difficulty(request: Request, caller: Caller, course_id: CourseId, start: Start = None,
                                   end: End = None, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
        allow(caller, scopes.COURSE_MARTS, "course-wide marts (ask for your classes)")
        first, last = date_range(start, end)
        with the_store(request).cursor() as (db, copy):
            query = Query_("gold.question_attempts_summary as q", ("q.date", "q.quiz_id", "q.question_id",
                           "q.attempts_count", "q.correct_count", "q.avg_time_spent", "q.difficulty_estimate"),
                           ("q.date", "q.quiz_id", "q.question_id")) \
                .where("q.quiz_id in (select quiz_id from silver.quiz_courses where course_id = ?)", course_id) \
                .where("q.date between ? and ?", first, last)
            return respond(request, {"course_id": course_id, **query.page(db, copy, limit, cursor, max_rows)}, copy)

    @router.get("/v1/courses/{course_id}/activity/realtime", tags=["courses"],
             summary="a course's events and active students by minute (teacher or school_admin of the course, "
                     "analyst)")
    def course_realtime(request: Request, caller: Caller, course_id: CourseId,
                        minutes: Annotated[int, Query(ge=1, le=1440, description="the latest minutes")] = 60,
                        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
        allow(caller, scopes.COURSE_REALTIME, "realtime course activity")
        with the_store(request).cursor() as (db, copy):
            if not scopes.may_see_course_activity(copy.roster, caller, course_id):
                raise ApiError(403, "forbidden", f"course {course_id!r} is taught in none of your classes or school")
            query = Query_("gold.course_activity_realtime", ("minute_start", "events_count", "active_students_5m",
                           "active_students_15m"), ("minute_start",)) \
                .where("course_id = ?", course_id) \
                .where("minute_start > (select max(minute_start) from gold.course_activity_realtime "
                       "where course_id = ?) - to_minutes(?)", course_id, minutes)
            return respond(request, {"course_id": course_id, **query.page(db, copy, limit, cursor, max_rows)}, copy)

    @router.get("/v1/freshness", tags=["operations"], summary="each served table's latest partition and run")
    def freshness(request: Request, caller: Caller) -> Response:
        allow(caller, scopes.FRESHNESS, "freshness")
        copy = the_store(request).copy
        tables = [{"table": item.table, "latest_partition": item.latest_partition, "latest_run": item.latest_run,
                   "rows": item.rows} for item in copy.freshness]
        return respond(request, {"served_since": copy.loaded_at, "tables": tables,
                                 "missing": sorted(copy.missing)}, copy)

    app.include_router(router)

    @app.get("/healthz", tags=["operations"], summary="the process is up (no token)")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
