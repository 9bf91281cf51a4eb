"""The Dagster instance of `make orchestrate`: SQLite run storage in DAGSTER_HOME and the
`warehouse_writer` pool limit that matches the warehouse's writer rule.

With the embedded catalog (a SQLite file) DuckLake takes one writer at a time: the pool's
limit is 1, so a backfill, the hourly run and the nightly run queue their writing steps one
behind the other (and the writer lock, which the stream loop takes too, guards the rest).
With a PostgreSQL catalog writers commit side by side: the limit is WRITERS_WITH_SERVER_CATALOG.
"""

import sys
from collections.abc import Sequence
from pathlib import Path

from ingest.errors import InputError
from ingest.settings import Settings
from ingest.warehouse.lake import location
from orchestration.dbt import POOL, manifest_path

WRITERS_WITH_SERVER_CATALOG = 4


def writer_limit(settings: Settings) -> int:
    return 1 if location(settings).is_embedded else WRITERS_WITH_SERVER_CATALOG


def instance_yaml(settings: Settings, home: Path) -> str:
    return f"""# Written by `make orchestrate` (orchestration/instance.py); edits are overwritten.
storage:
  sqlite:
    base_dir: {home.resolve() / "storage"}
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
concurrency:
  pools:
    # Only the pool {POOL} is used: every step that writes the warehouse takes it.
    granularity: op
    default_limit: {writer_limit(settings)}
telemetry:
  enabled: false
"""


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m orchestration.instance DAGSTER_HOME", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    home = Path(argv[0])
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(instance_yaml(settings, home))
    manifest_path(refresh=True)  # the definitions read the dbt project as it is now
    print(f"dagster home {home}: pool {POOL} limited to {writer_limit(settings)} writer(s); dbt manifest parsed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
