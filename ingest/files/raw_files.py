"""Finding raw event files and cutting them into Arrow batches of exact lines."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ingest.errors import InputError
from ingest.files.csv_events import is_csv_file, read_csv_lines
from ingest.files.decompress import read_blocks

EVENT_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")


@dataclass(frozen=True)
class RawFile:
    path: Path
    size_bytes: int
    sha256: str
    source_name: str  # recorded as source_file: the path, or the s3:// URL a cached copy came from


def is_event_file(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return name.endswith(EVENT_SUFFIXES)


def _hidden(path: Path, folder: Path) -> bool:
    """Under a folder whose name starts with `_` or `.` (the `_roster` of a sample, `.tmp` folders)."""
    return any(part.startswith(("_", ".")) for part in path.relative_to(folder).parts[:-1])


def discover(paths: list[str]) -> list[Path]:
    """Every event file under the given files or folders, sorted, without repeats.

    In a folder, sub-folders named `_...` or `.…` are skipped, as Hive-style tools do: a
    sample's `_roster/` is reference data, not events."""
    found: dict[Path, None] = {}
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise InputError(f"{given}: no such file or folder")
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and is_event_file(child) and not _hidden(child, path):
                    found[child.resolve()] = None
        elif is_event_file(path):
            found[path.resolve()] = None
        else:
            raise InputError(f"{given}: not an event file (expected .jsonl, .ndjson, .json or .csv, optionally .gz)")
    return sorted(found)


def fingerprint(path: Path, source_name: str | None = None) -> RawFile:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(8 * 1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return RawFile(path=path, size_bytes=size, sha256=digest.hexdigest(), source_name=source_name or str(path))


def _to_text(lines: pa.Array) -> pa.Array:
    """Binary lines as UTF-8 text; invalid bytes (rare) become U+FFFD so the line still lands."""
    try:
        text = pc.cast(lines, pa.large_string())
    except pa.ArrowInvalid:
        text = pa.array([b.decode("utf-8", errors="replace") for b in lines.to_pylist()], type=pa.large_string())
    return pc.cast(pc.utf8_rtrim(text, characters="\r"), pa.string())


def _split_lines(block: bytes) -> pa.Array:
    parts = pc.split_pattern(pa.array([block], type=pa.large_binary()), pattern=b"\n")
    return parts.flatten()


def _json_array_lines(path: Path) -> list[bytes] | None:
    """A `.json` file holding one JSON array lands element by element; None if it is not one."""
    name = path.name.lower().removesuffix(".gz")
    if not name.endswith(".json"):
        return None
    data = b"".join(read_blocks(path))
    if data.lstrip()[:1] != b"[":
        return None
    try:
        elements = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return [orjson.dumps(element) for element in elements]


def read_lines(path: Path) -> Iterator[pa.Table]:
    """Tables of (raw_line, line_number), line numbers starting at 1.

    Every line lands, blank or not; only the final newline of the file ends no line.
    A CSV file lands one JSON line per record instead (see csv_events).
    """
    if is_csv_file(path):
        yield from read_csv_lines(path)
        return
    array_lines = _json_array_lines(path)
    if array_lines is not None:
        lines = pa.array(array_lines, type=pa.large_binary())
        yield pa.table({"raw_line": _to_text(lines), "line_number": pa.array(range(1, len(lines) + 1), pa.int64())})
        return
    carry = b""
    next_line = 1
    for block in read_blocks(path):
        data = carry + block
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data
            continue
        carry = data[cut + 1 :]
        lines = _split_lines(data[:cut])
        count = len(lines)
        yield pa.table({
            "raw_line": _to_text(lines),
            "line_number": pa.array(range(next_line, next_line + count), pa.int64()),
        })
        next_line += count
    if carry:
        lines = pa.array([carry], type=pa.large_binary())
        yield pa.table({"raw_line": _to_text(lines), "line_number": pa.array([next_line], pa.int64())})
