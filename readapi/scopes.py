"""What each role may see, asked of the served roster tables at each request.

- teacher: the classes the roster gives them (silver.class_teachers.teacher_id = the token's
  `sub`), and the students enrolled in those classes;
- school_admin: the classes and students of their school (the token's `school_id`);
- ml_service: features only, of every student, by hash;
- analyst: every mart, by hash only (never by an LMS id).

An unknown class or student answers the same as a forbidden one for a scoped role, so a
token cannot learn which ids exist outside its scope.
"""

from __future__ import annotations

import duckdb

from ingest.access.tokens import ANALYST, ML_SERVICE, SCHOOL_ADMIN, TEACHER, Principal

STUDENT_ACTIVITY = frozenset({TEACHER, SCHOOL_ADMIN, ANALYST})
STUDENT_FEATURES = frozenset({TEACHER, SCHOOL_ADMIN, ML_SERVICE, ANALYST})
BY_LMS_ID = frozenset({TEACHER, SCHOOL_ADMIN})
ALL_FEATURES = frozenset({ML_SERVICE, ANALYST})
CLASS_MARTS = frozenset({TEACHER, SCHOOL_ADMIN, ANALYST})
COURSE_MARTS = frozenset({ANALYST})
COURSE_REALTIME = frozenset({TEACHER, SCHOOL_ADMIN, ANALYST})
FRESHNESS = frozenset({TEACHER, SCHOOL_ADMIN, ML_SERVICE, ANALYST})


def _exists(cursor: duckdb.DuckDBPyConnection, sql: str, *params: object) -> bool:
    return cursor.execute(f"select exists ({sql})", list(params)).fetchone() == (True,)


def may_see_student(cursor: duckdb.DuckDBPyConnection, principal: Principal, student_hash: str) -> bool:
    if principal.role in (ANALYST, ML_SERVICE):
        return True
    if principal.role == TEACHER:
        return _exists(cursor, "select 1 from silver.class_students as s inner join silver.class_teachers as t "
                               "on s.class_id = t.class_id where t.teacher_id = ? and s.student_hash = ?",
                       principal.subject, student_hash)
    return _exists(cursor, "select 1 from silver.class_students where school_id = ? and student_hash = ?",
                   principal.school_id, student_hash)


def may_see_class(cursor: duckdb.DuckDBPyConnection, principal: Principal, class_id: str) -> bool:
    if principal.role == ANALYST:
        return True
    if principal.role == TEACHER:
        return _exists(cursor, "select 1 from silver.class_teachers where teacher_id = ? and class_id = ?",
                       principal.subject, class_id)
    if principal.role == SCHOOL_ADMIN:
        return _exists(cursor, "select 1 from silver.class_teachers where school_id = ? and class_id = ? "
                               "union all select 1 from silver.class_students where school_id = ? and class_id = ?",
                       principal.school_id, class_id, principal.school_id, class_id)
    return False


def may_see_course_activity(cursor: duckdb.DuckDBPyConnection, principal: Principal, course_id: str) -> bool:
    """Realtime course activity (counts, no student): a teacher of the course, an admin of a school teaching it."""
    if principal.role == ANALYST:
        return True
    if principal.role == TEACHER:
        return _exists(cursor, "select 1 from silver.class_teachers where teacher_id = ? and course_id = ?",
                       principal.subject, course_id)
    if principal.role == SCHOOL_ADMIN:
        return _exists(cursor, "select 1 from silver.class_teachers where school_id = ? and course_id = ?",
                       principal.school_id, course_id)
    return False
