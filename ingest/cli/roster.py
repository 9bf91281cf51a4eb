"""`python -m ingest roster load DIR`: who teaches what, into the warehouse."""

from __future__ import annotations

import argparse
from pathlib import Path

from ingest.settings import Settings


def _cmd_roster_load(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.load.roster import load_roster

    report = load_roster(Path(args.folder), settings)
    print(f"loaded the roster of {args.folder}: {report.schools} schools, {report.classes} classes, "
          f"{report.teachers} teachers, {report.students:,} students (raw.roster_*, replacing the previous "
          f"roster) in {report.seconds:.1f}s; `dbt build` brings it to silver.classes and class_students")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    roster = commands.add_parser(
        "roster", help="load the roster: schools, classes, who teaches and attends them",
        description="The roster scopes what teachers and school admins may see. It is three CSV files "
                    "(OneRoster in spirit): schools.csv (school_id, name), classes.csv (class_id, school_id, "
                    "course_id, title) and enrollments.csv (class_id, user_id, role: teacher or student). "
                    "Student ids are personal data: they stay in raw; everything else sees student_hash.")
    actions = roster.add_subparsers(dest="roster_command", required=True, metavar="ACTION")
    load = actions.add_parser(
        "load", help="check a roster folder and replace the warehouse's roster with it",
        description="Check the three files (columns, empty or repeated ids, unknown schools or classes, roles) "
                    "and replace raw.roster_schools, raw.roster_classes and raw.roster_enrollments with them, in "
                    "one transaction. A generated sample has its demo roster in <sample>/_roster.")
    load.add_argument("folder", help="the folder holding schools.csv, classes.csv and enrollments.csv")
    load.set_defaults(func=_cmd_roster_load)
