"""End to end: no student id or IP that was loaded is found outside the raw layer (events.md, Personal data).

An adversarial file set (ids inside page_url, event_id, course_id, user_agent, video_id,
free text and metadata keys; personal metadata and context keys nested deep; JSON escapes;
malformed CSV rows, single-quoted JSON, arrays and truncated lines holding ids; per-student
upload folders; IPv4 and IPv6 addresses; a numeric student id) and a small generated sample
are loaded and built (a full build, then one more load and an incremental build). Then every
relation outside the `raw` schema, each column as text, and every file the pipeline wrote
(the lake's data files outside raw, dbt's target/ and logs/, the loader's working folder) are
searched for every student_id and ip that was loaded (ids of at least 4 characters). A hit
names the relation or file, the column and the id.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus_files import write_lines  # noqa: E402

from ingest.load.loader import load_files  # noqa: E402
from ingest.sample.generate import GenerateConfig, generate  # noqa: E402
from ingest.settings import Settings  # noqa: E402
from ingest.warehouse.lake import connect  # noqa: E402

PROJECT = Path(__file__).resolve().parents[2]
DBT = PROJECT / ".venv" / "bin" / "dbt"
MIN_ID_LENGTH = 4
PERSONAL_KEY = re.compile(r"(?i)student[-_]?id|user[-_]?id|user[-_]?name|e[-_]?mail|ip|ip[-_]?address|name"
                          r"|first[-_]?name|last[-_]?name|phone|address|birth[-_]?date")
DESKTOP_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


@dataclass(frozen=True)
class Person:
    student_id: str
    ip: str


# Addresses outside the generator's blocks and the seeds, so that a hit is always a leak.
ALICE = Person("stu-A-4471", "172.31.254.17")
BORIS = Person("stu-B-5582", "fd12:3456:789a::42")
CHLOE = Person("stu-C-6693", "10.203.44.91")
DARIO = Person("stu-D-7704", "fe80::1ff:fe23:4567:890a")
FRIDA = Person("stu-F-8815", "192.168.77.213")
GRETA = Person("stu-G-9926", "172.20.9.140")
HUGO = Person("stu-H-1037", "fd00:abcd:ef01::9")
NUMERIC = Person("77340012", "10.77.66.55")
PLANTED = (ALICE, BORIS, CHLOE, DARIO, FRIDA, GRETA, HUGO, NUMERIC)


def _ts(day: date, hour: int, minute: int = 0) -> str:
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00Z"


def _event(person: Person, event_id: Any, event_type: str, timestamp: str, **fields: Any) -> dict[str, Any]:
    context = {"user_agent": DESKTOP_UA, "ip": person.ip, "platform": "web"}
    context.update(fields.pop("context", {}))
    return {"event_id": event_id, "student_id": person.student_id, "event_type": event_type,
            "timestamp": timestamp, "context": context, **fields}


def _json(event: Any) -> str:
    return orjson.dumps(event).decode()


def adversarial_lines(day: date) -> list[str]:
    a, b, c, d, n = ALICE, BORIS, CHLOE, DARIO, NUMERIC
    deep_personal = {"l1": {"l2": {"l3": {"l4": {"l5": {"l6": {"email": "c@example.org", "who": c.student_id}}}}}}}
    return [
        # Kept: the ids inside every kind of text, personal keys nested at any depth, a key named like the id.
        _json(_event(
            a, f"{a.student_id}-0001", "page_view", _ts(day, 8),
            page_url=f"https://lms.example.org/u/{a.student_id}/profile?from={a.ip}",
            course_id=f"alg1-{a.student_id}", chapter_id="alg1-ch1",
            metadata={"scroll_depth": 0.5, "note": f"written by {a.student_id} at {a.ip}", a.student_id: {"x": 1},
                      "deep": {"a": {"b": [{"Email": "a@example.org", "student-ID": a.student_id,
                                            "keep": f"seen from {a.ip}"}]}},
                      "User_Name": "alice", "firstName": "Alice"},
            context={"user_agent": f"Mozilla/5.0 (X11; {a.student_id}) via {a.ip}",
                     "extra": {"ip_address": a.ip, "nested": [{"phone": "555-0100"}]}},
        )),
        _json(_event(
            b, f"evt-{b.student_id}", "video_play", _ts(day, 9), page_url=f"/u/{b.student_id}",
            metadata={"video_id": f"vid-{b.student_id}", "watched_seconds": 5, "video_duration_seconds": 60,
                      "comment": f"from {b.ip}", "tags": [b.student_id, "math", [b.ip]]},
        )),
        _json(_event(
            c, "quiz-event-0001", "quiz_attempt", _ts(day, 10), question_id=f"q-{c.student_id}",
            metadata={"quiz_id": f"quiz-{c.student_id}", "selected_option": f"answer by {c.student_id}",
                      "is_correct": True, **deep_personal},
        )),
        # JSON escapes hide the ids from a search of the raw text: `\u005f` in a key, `\u002d` in values.
        (
            '{"event_id": "esc-0001", "student\\u005fid": "stu\\u002dD-7704", "event_type": "submit_assignment", '
            f'"timestamp": "{_ts(day, 11)}", "page_url": "/u/stu\\u002dD-7704", '
            '"metadata": {"assignment_id": "asg-stu\\u002dD-7704", "\\u0065mail": "d@example.org"}, '
            f'"context": {{"\\u0069p": "{d.ip}", "user_agent": "agent of stu\\u002dD-7704"}}}}'
        ),
        # Rejected, still holding the ids: bad_metadata with the id as a key, an unknown type named after it,
        # an event_id object, a numeric student_id (missing_student_id) inside the event_id.
        _json(_event(a, f"{a.student_id}-0002", "page_view", _ts(day, 12), page_url=f"/u/{a.student_id}",
                     metadata={"scroll_depth": 150, a.student_id: True, "deep": {a.ip: "x"}})),
        _json(_event(a, "rej-type-0001", f"{a.student_id}-type", _ts(day, 12))),
        _json(_event(b, {"email": "b@example.org", "id": b.student_id}, "login", _ts(day, 12))),
        _json({**_event(n, f"num-{n.student_id}", "login", _ts(day, 12)), "student_id": int(n.student_id)}),
        # Not JSON objects: single quotes, a truncated line, an array, a bare string.
        f"{{'event_id': 'sq-0001', 'student_id': '{a.student_id}', 'context': {{'ip': '{a.ip}'}}}}",
        f'{{"event_id": "trunc-0001", "student_id": "{b.student_id}", "context": {{"ip": "{b.ip}"',
        _json([_event(c, "arr-0001", "login", _ts(day, 13))]),
        _json(c.student_id),
    ]


def csv_lines(day: date) -> list[str]:
    f = FRIDA
    metadata = '"{""scroll_depth"": 0.4, ""by"": ""' + f.student_id + '""}"'
    context = '"{""ip"": ""' + f.ip + '"", ""user_agent"": ""csv agent""}"'
    return [
        "event_id,student_id,event_type,timestamp,page_url,course_id,metadata,context",
        f"csv-0001,{f.student_id},page_view,{_ts(day, 14)},/u/{f.student_id},alg1,{metadata},{context}",
        # An unbalanced quote, and a record with too many cells: both land as raw text (malformed_json).
        f'csv-0002,{f.student_id},page_view,{_ts(day, 14)},"/u/{f.student_id}/{f.ip},alg1,,',
        f"csv-0003,{f.student_id},login,{_ts(day, 14)},/u/{f.ip},alg1,,,{f.student_id},{f.ip}",
    ]


def upload_line(person: Person, day: date, hour: int, **fields: Any) -> str:
    """One event of a per-student upload file: its event_id holds the id, like its folder name."""
    return _json(_event(person, f"{person.student_id}-evt-1", "login", _ts(day, hour), **fields))


# --------------------------------------------------------------------------- build


@dataclass(frozen=True)
class Built:
    base: Path
    warehouse: Path
    ids: frozenset[str]


def _run_dbt(base: Path, warehouse: Path) -> None:
    env = {**os.environ, "WAREHOUSE_PATH": str(warehouse), "DBT_PROFILES_DIR": str(PROJECT / "profiles")}
    env.pop("STUDENT_HASH_SALT", None)
    command = [str(DBT), "build", "--target-path", str(base / "target"), "--log-path", str(base / "logs")]
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        pytest.fail(f"dbt build failed ({done.returncode}):\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}")


def _ids_of_line(line: str) -> Iterator[str]:
    """student_id and context.ip of a raw line that is a JSON object."""
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        return
    if not isinstance(event, dict):
        return
    context = event.get("context")
    for value in (event.get("student_id"), context.get("ip") if isinstance(context, dict) else None):
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            yield str(value)


def _seed_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (PROJECT / "seeds").rglob("*.csv"))


def _loaded_ids(warehouse: Path) -> frozenset[str]:
    """Every id that was loaded and must not leave raw: at least 4 characters, not blank, and not
    text of the project's own seeds (a generated address like 192.0.2.25 is also the start of a
    seed range, 192.0.2.255, which is reference data, not a leak)."""
    with connect(Settings(warehouse_path=warehouse), read_only=True) as con:
        lines = [line for (line,) in con.sql("select raw_line from raw.events").fetchall()]
    found = {value for line in lines for value in _ids_of_line(line)}
    found |= {value for person in PLANTED for value in (person.student_id, person.ip)}
    seeds = _seed_text()
    return frozenset(v for v in found if len(v) >= MIN_ID_LENGTH and v.strip() and v not in seeds)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    base = tmp_path_factory.mktemp("privacy")
    day = datetime.now(UTC).date() - timedelta(days=2)
    first, second = base / "first", base / "second"
    generate(GenerateConfig(students=20, days=2, start=day - timedelta(days=1), seed=11, out=first / "sample"),
             progress=False)
    write_lines(first / "adversarial" / "events.jsonl", adversarial_lines(day))
    # The same first event again in another file: a duplicate, decided on the raw event_id.
    write_lines(first / "adversarial" / "resent.jsonl", adversarial_lines(day)[:1])
    write_lines(first / "adversarial" / "mobile_batch.csv", csv_lines(day))
    # Two students' upload folders: same file name, same line, event_ids equal once redacted.
    for person, hour in ((GRETA, 15), (HUGO, 16)):
        write_lines(first / "uploads" / person.student_id / "batch.jsonl", [upload_line(person, day, hour)])
    # Later: Greta sends her event again (a duplicate across runs) and Alice one more event.
    write_lines(second / "uploads" / GRETA.student_id / "retry.jsonl",
                [upload_line(GRETA, day, 15, metadata={"retry": 1})])
    write_lines(second / "late.jsonl", [_json(_event(
        ALICE, "late-0001", "page_view", _ts(day, 17), page_url=f"/u/{ALICE.student_id}?ip={ALICE.ip}"))])
    warehouse = base / "warehouse.sqlite"
    settings = Settings(warehouse_path=warehouse)
    load_files([str(first)], settings, show_progress=False)
    _run_dbt(base, warehouse)
    load_files([str(second)], settings, show_progress=False)
    _run_dbt(base, warehouse)
    return Built(base=base, warehouse=warehouse, ids=_loaded_ids(warehouse))


def _query(built: Built, sql: str) -> list[tuple[Any, ...]]:
    with connect(Settings(warehouse_path=built.warehouse), read_only=True) as con:
        return con.sql(sql).fetchall()


def _id_pattern(ids: frozenset[str]) -> str:
    """An RE2 pattern matching any of the ids (longest first, so a hit names the longest)."""
    return "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))


# --------------------------------------------------------------------------- the scan


def _relation_leaks(built: Built) -> list[str]:
    pattern = _id_pattern(built.ids)
    leaks = []
    with connect(Settings(warehouse_path=built.warehouse), read_only=True) as con:
        columns = con.sql("select table_schema, table_name, column_name from information_schema.columns "
                          "where table_schema <> 'raw' and table_catalog = current_database() "
                          "order by 1, 2, 3").fetchall()
        for schema, table, column in columns:
            text = f'cast("{column}" as varchar)'
            hits = con.execute(f'select {text}, regexp_extract({text}, ?) from "{schema}"."{table}" '
                               f"where regexp_matches({text}, ?) limit 3", [pattern, pattern]).fetchall()
            leaks += [f"{schema}.{table}.{column} holds {found!r}: {value[:200]!r}" for value, found in hits]
    return leaks


def _parquet_leaks(built: Built, path: Path) -> list[str]:
    """Parquet pages are compressed, so a byte search alone could miss a value: read them too."""
    pattern = _id_pattern(built.ids)
    leaks = []
    with duckdb.connect() as con:
        names = [row[0] for row in con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()]
        for name in names:
            text = f'cast("{name}" as varchar)'
            hits = con.execute(f"select {text}, regexp_extract({text}, ?) from read_parquet(?) "
                               f"where regexp_matches({text}, ?) limit 3", [pattern, str(path), pattern]).fetchall()
            leaks += [f"{path} column {name} holds {found!r}: {value[:200]!r}" for value, found in hits]
    return leaks


def _file_leaks(built: Built) -> list[str]:
    pattern = re.compile(_id_pattern(built.ids).encode())
    leaks = []
    # The lake's data files outside the raw schema, dbt's artifacts and logs, and the loader's
    # working folder (which keeps nothing once its load committed).
    lake = Path(f"{built.warehouse}.files")
    loader_folder = built.warehouse.parent / f".dlt-{built.warehouse.stem}"
    folders = [lake, built.base / "target", built.base / "logs", loader_folder]
    for folder in folders:
        assert folder.is_dir(), f"the pipeline wrote nothing to {folder}"
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_relative_to(lake / "raw")):
            data = path.read_bytes()
            leaks += [f"{path} holds {m.group().decode()!r} at byte {m.start()}" for m in pattern.finditer(data)][:3]
            if path.suffix == ".parquet":
                leaks += _parquet_leaks(built, path)
    return leaks


def test_no_loaded_id_outside_raw(built: Built) -> None:
    assert any(person.student_id in built.ids for person in PLANTED)
    leaks = _relation_leaks(built) + _file_leaks(built)
    assert not leaks, f"{len(leaks)} leaks of a loaded student_id or ip outside raw:\n" + "\n".join(leaks[:40])


# --------------------------------------------------------------------------- what is kept instead


def _cleaned(built: Built, event_id_like: str) -> list[tuple[Any, ...]]:
    return _query(built, "select event_id, source_file, line_number, page_url, cast(metadata as varchar) "
                         f"from silver.events_cleaned where event_id like '{event_id_like}' order by event_id")


def test_keys_stay_unique_and_duplicates_follow_the_raw_event_id(built: Built) -> None:
    # Greta's and Hugo's event_ids and file names are the same once redacted; both stay distinct keys.
    uploads = _cleaned(built, "<redacted>-evt-1~%")
    assert len(uploads) == 2, uploads
    assert len({row[0] for row in uploads}) == 2 and len({row[1] for row in uploads}) == 2
    assert all("/uploads/<redacted>/batch.jsonl~" in row[1] for row in uploads), uploads
    duplicates = _query(built, "select event_id, kept_source_file, kept_line_number from silver.events_duplicates")
    kept = {row[0]: (row[1], row[2]) for row in _query(
        built, "select event_id, source_file, line_number from silver.events_cleaned")}
    # Alice's resent first event (same load) and Greta's retry (a later load) are duplicates of the kept copies.
    redacted = [row for row in duplicates if row[0].startswith("<redacted>-")]
    assert len(redacted) == 2, duplicates
    for event_id, kept_file, kept_line in redacted:
        assert kept[event_id] == (kept_file, kept_line)


def test_metadata_keeps_what_is_not_personal(built: Built) -> None:
    [(_, _, _, page_url, metadata_text)] = _cleaned(built, "<redacted>-0001~%")
    assert page_url == "https://lms.example.org/u/<redacted>/profile?from=<redacted>"
    metadata = orjson.loads(metadata_text)
    assert metadata["scroll_depth"] == 0.5
    assert metadata["note"] == "written by <redacted> at <redacted>"
    assert metadata["<redacted>"] == {"x": 1}
    assert metadata["deep"] == {"a": {"b": [{"keep": "seen from <redacted>"}]}}
    assert not [key for key in _keys(metadata) if PERSONAL_KEY.fullmatch(key)]
    [(deep_metadata,)] = _query(built, "select cast(metadata as varchar) from silver.events_cleaned "
                                       "where event_id = 'quiz-event-0001'")
    assert not [key for key in _keys(orjson.loads(deep_metadata)) if PERSONAL_KEY.fullmatch(key)]


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def test_rejected_records_keep_reason_lineage_and_shape(built: Built) -> None:
    rows = _query(built, "select reason, source_file, line_number, cast(record_shape as varchar) "
                         "from silver.events_rejected where source_file like '%adversarial%' order by 2, 3")
    shapes = {(Path(source).name, line): (reason, orjson.loads(shape)) for reason, source, line, shape in rows}
    reason, shape = shapes[("events.jsonl", 5)]
    assert reason == "bad_metadata"
    assert shape["kind"] == "object"
    assert {path: kind for path, kind in shape["fields"].items() if path.startswith("metadata")} == {
        "metadata": "object", "metadata.scroll_depth": "number", "metadata.<redacted>": "boolean",
        "metadata.deep": "object", "metadata.deep.<redacted>": "string"}
    single_quoted = (built.base / "first" / "adversarial" / "events.jsonl").read_text().splitlines()[8]
    assert shapes[("events.jsonl", 9)] == ("malformed_json", {"kind": "not_json", "length": len(single_quoted)})
    assert shapes[("events.jsonl", 11)][1]["kind"] == "array"
    assert shapes[("events.jsonl", 12)][1] == {"kind": "string", "length": 12}
    assert {reason for (name, _), (reason, _) in shapes.items() if name == "mobile_batch.csv"} == {"malformed_json"}
