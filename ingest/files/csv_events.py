"""Mobile batch files as CSV: each record becomes one JSON object line for `raw.events`.

The raw layer stores one JSON line per event, so a CSV record is turned into the JSON
object its cells describe, faithfully: every cell is the string it holds, an empty cell
is an absent key, and a `metadata`/`context` cell is embedded as the JSON value it holds
(or as the string, when it is not JSON, so the warehouse judges it exactly as it would
in a JSON event). A record that is not valid CSV, or has the wrong number of cells,
lands as its raw text, which the warehouse rejects as `malformed_json`: nothing is lost.

`line_number` is the physical line of the file on which the record starts, the header
being line 1, so an analyst can open the file at that line (a record with quoted line
breaks spans several lines and has the number of its first).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import pyarrow as pa

from ingest.errors import InputError
from ingest.files.decompress import read_blocks

CSV_SUFFIX = ".csv"
EVENT_COLUMNS = ("event_id", "student_id", "event_type", "timestamp", "page_url", "course_id",
                 "chapter_id", "question_id", "metadata", "context")
# Optional fields of the contract may be left out of the header; these may not.
REQUIRED_COLUMNS = ("event_id", "student_id", "event_type", "timestamp")
JSON_COLUMNS = frozenset({"metadata", "context"})
BATCH_RECORDS = 100_000
UTF8_BOM = "\ufeff"
# A line with its end, or the unterminated last line.
LINE = re.compile(r"[^\r\n]*(?:\r\n|[\r\n])|[^\r\n]+\Z")


@dataclass(frozen=True)
class RawRecord:
    line_number: int
    raw_line: str


def is_csv_file(path: Path) -> bool:
    return path.name.lower().removesuffix(".gz").endswith(CSV_SUFFIX)


def read_csv_lines(path: Path) -> Iterator[pa.Table]:
    """Tables of (raw_line, line_number) like `raw_files.read_lines`, one row per CSV record."""
    batch: list[RawRecord] = []
    for record in csv_records(path):
        batch.append(record)
        if len(batch) == BATCH_RECORDS:
            yield _to_table(batch)
            batch = []
    if batch:
        yield _to_table(batch)


def csv_records(path: Path) -> Iterator[RawRecord]:
    """Every data record of the file as a raw JSON line (or its raw text when malformed)."""
    lines = _physical_lines(path)
    header, first_data_line = _read_header(path, lines)
    for line_index, cells in _parse_records(lines, first_data_line, width=len(header)):
        raw_line = _record_json(header, cells) if isinstance(cells, list) else cells
        yield RawRecord(line_number=line_index + 1, raw_line=raw_line)


def _to_table(records: list[RawRecord]) -> pa.Table:
    return pa.table({
        "raw_line": pa.array([r.raw_line for r in records], pa.string()),
        "line_number": pa.array([r.line_number for r in records], pa.int64()),
    })


def _physical_lines(path: Path) -> list[str]:
    """The file's lines with their line ends (`\\r\\n`, `\\n` or a lone `\\r`, as the csv module reads them).

    Batch files are small, so the whole file is read at once. Invalid UTF-8 becomes U+FFFD
    so the record still lands (and is then kept or rejected on its merits).
    """
    text = b"".join(read_blocks(path)).decode("utf-8", errors="replace").removeprefix(UTF8_BOM)
    return LINE.findall(text)


def _read_header(path: Path, lines: list[str]) -> tuple[list[str], int]:
    """The column names and the index of the line after the header; blank lines before it are skipped."""
    reader = csv.reader(iter(lines), strict=True)
    try:
        header = next((row for row in reader if row), None)
    except csv.Error as error:
        raise InputError(f"{path}: cannot read the CSV header row on line {reader.line_num} ({error})") from None
    if header is None:
        raise InputError(f"{path}: empty CSV file; the first line must name the columns "
                         f"({', '.join(EVENT_COLUMNS)})")
    names = [name.strip() for name in header]
    _check_columns(path, names)
    return names, reader.line_num


def _check_columns(path: Path, names: list[str]) -> None:
    if not set(names) & set(EVENT_COLUMNS):
        raise InputError(f"{path}: no CSV header row; the first line must name the columns "
                         f"({', '.join(EVENT_COLUMNS)}) in any order")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"{path}: CSV column named more than once: {', '.join(repeated)}")
    unknown = [f"{name!r} (column {index})" for index, name in enumerate(names, 1) if name not in EVENT_COLUMNS]
    if unknown:
        raise InputError(f"{path}: unknown CSV columns: {', '.join(unknown)}; "
                         f"allowed: {', '.join(EVENT_COLUMNS)}")
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise InputError(f"{path}: missing required CSV columns: {', '.join(missing)}")


def _parse_records(lines: list[str], start: int, width: int) -> Iterator[tuple[int, list[str] | str]]:
    """(index of the record's first line, its cells, or its raw text when it is malformed).

    A record that is not valid CSV (an unbalanced quote, text after a closing quote, a
    field over the csv module's size limit) lands as its first line alone, and reading
    resumes on the next line: an unbalanced quote would otherwise swallow every record
    after it into one field. A valid record with the wrong number of cells lands whole.
    Empty lines hold no record and are skipped.
    """
    while start < len(lines):
        reader = csv.reader(islice(lines, start, None), strict=True)
        consumed = 0  # lines this reader has taken, i.e. the current record starts at start + consumed
        try:
            for cells in reader:
                record_start, consumed = start + consumed, reader.line_num
                if not cells:
                    continue
                if len(cells) == width:
                    yield record_start, cells
                else:
                    yield record_start, _raw_text(lines[record_start:start + consumed])
            return
        except csv.Error:
            bad_line = start + consumed
            yield bad_line, _raw_text(lines[bad_line:bad_line + 1])
            start = bad_line + 1


def _raw_text(lines: list[str]) -> str:
    return "".join(lines).removesuffix("\n").removesuffix("\r")


def _record_json(header: list[str], cells: list[str]) -> str:
    document = {name: _cell_value(name, cell) for name, cell in zip(header, cells, strict=True) if cell != ""}
    # Keys in the contract's order, whatever the file's column order: the same event
    # sent as CSV with columns in another order lands as the same line.
    ordered = {name: document[name] for name in EVENT_COLUMNS if name in document}
    line = json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))
    if not line.isascii():
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate escaped in a JSON cell ("\ud800"): keep it escaped
            line = json.dumps(ordered, separators=(",", ":"))
    return line


def _cell_value(name: str, cell: str) -> object:
    if name not in JSON_COLUMNS:
        return cell
    try:
        # The standard library keeps big integers exact (orjson would turn them into
        # floats); NaN and Infinity are not JSON, so such a cell stays a string.
        return json.loads(cell, parse_constant=_not_json)
    except ValueError:
        return cell


def _not_json(constant: str) -> object:
    raise ValueError(f"{constant} is not JSON")
