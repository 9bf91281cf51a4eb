"""int_session_chapter_days picks a visit's first event and a session's last chapter event with
aggregates. Picking by a (ts, event_id) struct kept a timestamp and a 36-character id per event in
three aggregates' states, next to the joins that read them: the even day's full build (10M events)
ran out of DuckDB's 5 GB in this model. Picked by the event's integer place in its session, the
same rows come out in 2 GB. Memory shows only at scale (`make bench`); the compiled SQL shows the
cause."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.settings import Settings
from ingest.warehouse.dbt_runner import run_dbt

PICK = re.compile(r"\barg_(?:min|max)_null\((?P<value>[^,]+), (?P<order>[^)]*\)?)\)")


def test_chapter_aggregates_pick_events_by_an_integer_place(built_warehouse: Settings, tmp_path: Path) -> None:
    done = run_dbt(["compile", "-s", "int_session_chapter_days", "--full-refresh", "--target-path", str(tmp_path),
                    "--quiet"], built_warehouse, capture=True)
    assert done.returncode == 0, done.stdout[-3000:]
    sql = (tmp_path / "compiled" / "student_behavior" / "models" / "intermediate"
           / "int_session_chapter_days.sql").read_text()

    picks = [match.group("order") for match in PICK.finditer(sql)]

    assert len(picks) == 4, sql
    assert set(picks) == {"event_seq"}, picks
