"""What each role may see, from the roster of the served snapshot.

- teacher: the classes the roster gives them (silver.class_teachers.teacher_id = the token's
  `sub`), and the students enrolled in those classes;
- school_admin: the classes and students of their school (the token's `school_id`);
- ml_service: features only, of every student, by hash;
- analyst: every mart, by hash only (never by an LMS id).

An unknown class or student answers the same as a forbidden one for a scoped role, so a
token cannot learn which ids exist outside its scope. The roster is read into sets with each
snapshot's copy (data.py, Roster), so a check costs no query.
"""

from __future__ import annotations

from ingest.access.tokens import ANALYST, ML_SERVICE, SCHOOL_ADMIN, TEACHER, Principal
from readapi.data import Roster

STUDENT_ACTIVITY = frozenset({TEACHER, SCHOOL_ADMIN, ANALYST})
STUDENT_FEATURES = frozenset({TEACHER, SCHOOL_ADMIN, ML_SERVICE, ANALYST})
BY_LMS_ID = frozenset({TEACHER, SCHOOL_ADMIN})
ALL_FEATURES = frozenset({ML_SERVICE, ANALYST})
CLASS_MARTS = frozenset({TEACHER, SCHOOL_ADMIN, ANALYST})
COURSE_MARTS = frozenset({ANALYST})
COURSE_REALTIME = frozenset({TEACHER, SCHOOL_ADMIN, ANALYST})
FRESHNESS = frozenset({TEACHER, SCHOOL_ADMIN, ML_SERVICE, ANALYST})


def may_see_student(roster: Roster, principal: Principal, student_hash: str) -> bool:
    if principal.role in (ANALYST, ML_SERVICE):
        return True
    if principal.role == TEACHER:
        return any(student_hash in roster.class_students.get(class_id, ())
                   for class_id in roster.teacher_classes.get(principal.subject, ()))
    return student_hash in roster.school_students.get(principal.school_id or "", ())


def may_see_class(roster: Roster, principal: Principal, class_id: str) -> bool:
    if principal.role == ANALYST:
        return True
    if principal.role == TEACHER:
        return class_id in roster.teacher_classes.get(principal.subject, ())
    if principal.role == SCHOOL_ADMIN:
        return class_id in roster.school_classes.get(principal.school_id or "", ())
    return False


def may_see_course_activity(roster: Roster, principal: Principal, course_id: str) -> bool:
    """Realtime course activity (counts, no student): a teacher of the course, an admin of a school teaching it."""
    if principal.role == ANALYST:
        return True
    if principal.role == TEACHER:
        return course_id in roster.teacher_courses.get(principal.subject, ())
    if principal.role == SCHOOL_ADMIN:
        return course_id in roster.school_courses.get(principal.school_id or "", ())
    return False
