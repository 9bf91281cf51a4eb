"""A demo roster for the generated sample: who teaches what, in the spirit of OneRoster.

Two schools; each course of the catalog has two classes (sections) per school, and one
teacher per school and course teaches both. A student belongs to the school of its index
parity and, for each course the generator gave it, to one section of that course there,
so a teacher's classes hold exactly the students whose events carry those courses.

Three CSV files, the layout `python -m ingest roster load` reads:
    schools.csv      school_id, name
    classes.csv      class_id, school_id, course_id, title
    enrollments.csv  class_id, user_id, role        (role: teacher or student)
Student user ids are the sample's student ids: personal data, kept in raw only.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.sample.catalog import COURSE_TITLES
from ingest.sample.generate import student_of

ROSTER_FOLDER = "_roster"  # beside a sample's events; the loader skips `_` folders
SCHOOLS = (("sch-north", "North Middle School"), ("sch-south", "South Middle School"))
SECTIONS = 2


@dataclass(frozen=True)
class Roster:
    schools: list[tuple[str, str]]
    classes: list[tuple[str, str, str, str]]  # class_id, school_id, course_id, title
    enrollments: list[tuple[str, str, str]]  # class_id, user_id, role


def class_id(school_id: str, course_id: str, section: int) -> str:
    return f"{school_id}-{course_id}-{section}"


def teacher_id(school_id: str, course_id: str) -> str:
    return f"t-{school_id.removeprefix('sch-')}-{course_id}"


def demo_roster(students: int, seed: int) -> Roster:
    classes = [(class_id(school, course, section), school, course, f"{title}, section {section}")
               for school, _ in SCHOOLS for course, title in COURSE_TITLES.items()
               for section in range(1, SECTIONS + 1)]
    enrollments = [(class_id(school, course, section), teacher_id(school, course), "teacher")
                   for school, _ in SCHOOLS for course in COURSE_TITLES for section in range(1, SECTIONS + 1)]
    for index in range(students):
        student = student_of(index, random.Random(seed * 1_000_003 + index))
        school = SCHOOLS[index % len(SCHOOLS)][0]
        section = (index // len(SCHOOLS)) % SECTIONS + 1
        enrollments += [(class_id(school, course, section), student.student_id, "student")
                        for course in sorted(student.courses)]
    return Roster(list(SCHOOLS), classes, enrollments)


def write_roster(roster: Roster, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[Sequence[str], Sequence[Sequence[str]]]] = {
        "schools.csv": (("school_id", "name"), roster.schools),
        "classes.csv": (("class_id", "school_id", "course_id", "title"), roster.classes),
        "enrollments.csv": (("class_id", "user_id", "role"), roster.enrollments),
    }
    for name, (header, rows) in files.items():
        with open(folder / name, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    return [folder / name for name in files]
