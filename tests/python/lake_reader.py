"""A reader process for the lakehouse tests: it reads the warehouse again and again while
others write, and records what each read saw, one JSON line per read.

    python tests/python/lake_reader.py OUT.jsonl STOP_FILE   (settings from the environment)

Each read is one read-only attach, so one snapshot: within it, silver.events_cleaned has no
event twice, and the counts it sees never go down from one read to the next (rows are
replaced inside one transaction, never deleted and inserted in two). A read of the snapshot
the reader started with (`--at`) must give the same answer every time. An exception is
recorded, not raised: a reader is never blocked or failed by a writer.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ingest.settings import Settings  # noqa: E402
from ingest.warehouse.lake import connect  # noqa: E402

COUNTS = """
    select
        (select count(*) from raw.events) as raw_events,
        (select count(*) from silver.events_cleaned) as cleaned,
        (select count(distinct event_id) from silver.events_cleaned) as cleaned_ids,
        (select count(*) from silver.sessions) as sessions,
        (select id from lake.current_snapshot()) as snapshot
"""


def read(settings: Settings, at: int | None = None) -> dict[str, int]:
    with connect(settings, read_only=True, snapshot=at) as connection:
        row = connection.execute(COUNTS).fetchone()
    assert row is not None
    return dict(zip(("raw_events", "cleaned", "cleaned_ids", "sessions", "snapshot"), map(int, row), strict=True))


def main() -> int:
    out, stop = Path(sys.argv[1]), Path(sys.argv[2])
    settings = Settings.from_env()
    first = read(settings)
    with open(out, "w") as log:
        log.write(json.dumps({"kind": "start", **first}) + "\n")
        while not stop.exists():
            started = time.monotonic()
            try:
                now = read(settings)
                pinned = read(settings, at=first["snapshot"])
                log.write(json.dumps({"kind": "read", "seconds": round(time.monotonic() - started, 3), **now,
                                      "pinned": pinned}) + "\n")
            except Exception as error:  # recorded for the test to fail on, with the reason
                log.write(json.dumps({"kind": "error", "error": f"{type(error).__name__}: {error}"}) + "\n")
            log.flush()
            time.sleep(0.1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
