"""`python -m ingest roster load DIR`: the roster (schools, classes, enrollments) into raw.

Three CSV files with a header row (OneRoster in spirit, see sample/roster.py):
schools.csv (school_id, name), classes.csv (class_id, school_id, course_id, title) and
enrollments.csv (class_id, user_id, role: teacher or student). The files are checked as
a whole first (every column there, every id filled in, no repeats, every reference known,
roles known) and any problem stops the load with the file, line and fix. Then the three
raw tables are replaced together in one transaction: readers see the old roster or the
new one, never a mix. Student ids are personal data: they land in raw only.
"""

from __future__ import annotations

import csv
import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from ingest.errors import InputError
from ingest.settings import Settings
from ingest.warehouse.lake import ALIAS, connect, sql_literal
from ingest.warehouse.writer import warehouse_writer

COLUMNS = {
    "schools": ("school_id", "name"),
    "classes": ("class_id", "school_id", "course_id", "title"),
    "enrollments": ("class_id", "user_id", "role"),
}
KEYS = {"schools": ("school_id",), "classes": ("class_id",), "enrollments": ("class_id", "user_id")}
ROLES = ("teacher", "student")


@dataclass(frozen=True)
class RosterReport:
    schools: int
    classes: int
    teachers: int
    students: int
    seconds: float


def _read(folder: Path, table: str) -> list[dict[str, str]]:
    path = folder / f"{table}.csv"
    if not path.is_file():
        raise InputError(f"{path}: missing; a roster folder holds schools.csv, classes.csv and enrollments.csv")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = tuple(reader.fieldnames or ())
        if set(header) != set(COLUMNS[table]):
            raise InputError(f"{path}: the header is {', '.join(header) or '(empty)'}; it must name the columns "
                             f"{', '.join(COLUMNS[table])}")
        rows = []
        for line, row in enumerate(reader, start=2):
            if None in row or any(value is None for value in row.values()):
                raise InputError(f"{path}, line {line}: {len(COLUMNS[table])} cells expected")
            clean = {name: value.strip() for name, value in row.items() if name is not None}
            empty = [name for name in KEYS[table] + ("role",) * (table == "enrollments") if not clean.get(name)]
            if empty:
                raise InputError(f"{path}, line {line}: {', '.join(empty)} is empty; fill it in or drop the line")
            clean["_line"] = str(line)
            rows.append(clean)
    seen: dict[tuple[str, ...], str] = {}
    for row in rows:
        key = tuple(row[name] for name in KEYS[table])
        if key in seen:
            raise InputError(f"{path}, line {row['_line']}: {' and '.join(KEYS[table])} {', '.join(key)} repeats line "
                             f"{seen[key]}; keep one of them")
        seen[key] = row["_line"]
    return rows


def read_roster(folder: Path) -> dict[str, list[dict[str, str]]]:
    """The three files, checked against each other; an InputError names the first problem."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder; name the folder holding schools.csv, classes.csv and "
                         "enrollments.csv (a generated sample has one in <sample>/_roster)")
    roster = {table: _read(folder, table) for table in COLUMNS}
    schools = {row["school_id"] for row in roster["schools"]}
    classes = {row["class_id"] for row in roster["classes"]}
    for row in roster["classes"]:
        if row["school_id"] not in schools:
            raise InputError(f"{folder / 'classes.csv'}, line {row['_line']}: school {row['school_id']!r} is not in "
                             "schools.csv; add it there or fix the id")
    for row in roster["enrollments"]:
        if row["class_id"] not in classes:
            raise InputError(f"{folder / 'enrollments.csv'}, line {row['_line']}: class {row['class_id']!r} is not in "
                             "classes.csv; add it there or fix the id")
        if row["role"] not in ROLES:
            raise InputError(f"{folder / 'enrollments.csv'}, line {row['_line']}: role {row['role']!r} is neither "
                             "teacher nor student")
    return roster


def _table(rows: list[dict[str, str]], columns: tuple[str, ...], loaded_at: datetime) -> pa.Table:
    data = {name: pa.array([row[name] for row in rows], pa.string()) for name in columns}
    data["loaded_at"] = pa.array([loaded_at] * len(rows), pa.timestamp("us", tz="UTC"))
    return pa.table(data)


def load_roster(folder: Path, settings: Settings) -> RosterReport:
    started = time.monotonic()
    roster = read_roster(folder)
    loaded_at = datetime.now(UTC)
    digest = hashlib.sha256(b"".join((folder / f"{table}.csv").read_bytes() for table in COLUMNS)).hexdigest()[:12]
    with warehouse_writer(settings, "roster"), connect(settings) as connection:
        connection.execute(f"create schema if not exists {ALIAS}.raw")
        connection.execute("begin transaction")
        connection.execute(f"call {ALIAS}.set_commit_message('ingest roster', {sql_literal(f'roster {digest}')})")
        for table, columns in COLUMNS.items():
            connection.register("roster_rows", _table(roster[table], columns, loaded_at))
            name = f"{ALIAS}.raw.roster_{table}"
            connection.execute(f"create table if not exists {name} as select * from roster_rows limit 0")
            connection.execute(f"delete from {name}")
            connection.execute(f"insert into {name} select * from roster_rows")
            connection.unregister("roster_rows")
        connection.execute("commit")
    enrollments = roster["enrollments"]
    return RosterReport(schools=len(roster["schools"]), classes=len(roster["classes"]),
                        teachers=len({row["user_id"] for row in enrollments if row["role"] == "teacher"}),
                        students=len({row["user_id"] for row in enrollments if row["role"] == "student"}),
                        seconds=time.monotonic() - started)
