"""A real PostgreSQL server for tests (the DuckLake catalog that takes several writers), run by
scripts/postgres.sh on a free loopback port with its own data folder; stopped afterwards.

    from postgres_server import postgres_fixture

    postgres = postgres_fixture()          # a module-scoped fixture

    def test_something(postgres):
        settings = Settings(warehouse_path=..., warehouse_catalog=postgres.catalog("lake_a"), ...)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import pytest

from ingest.api.process import free_port

FixtureScope = Literal["session", "package", "module", "class", "function"]

PROJECT_DIR = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT_DIR / "scripts" / "postgres.sh"


class PostgresServer:
    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, "PG_PORT": str(self.port), "PG_DATA_DIR": str(data_dir)}

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(SCRIPT), *args], env=self.env, capture_output=True, text=True, timeout=180)

    def start(self, attempts: int = 3) -> PostgresServer:
        """Start the server. The port was free when it was picked, but another test's server may
        take it before PostgreSQL binds it ("Address already in use"): then start again on a
        newly picked port."""
        for attempt in range(1, attempts + 1):
            started = self._run("start")
            if started.returncode == 0:
                return self
            output = started.stdout + started.stderr
            if "Address already in use" not in output or attempt == attempts:
                raise RuntimeError(f"postgres did not start on port {self.port}:\n{output}")
            self.port = free_port()
            self.env["PG_PORT"] = str(self.port)
        raise AssertionError("attempts must be at least 1")

    def stop(self) -> None:
        self._run("stop")

    def catalog(self, database: str, template: str | None = None) -> str:
        """DuckLake's catalog string (WAREHOUSE_CATALOG) for a database of its own on this server,
        a copy of the database `template` when given (nobody may be connected to it)."""
        created = self._run("createdb", database, *([template] if template else []))
        if created.returncode != 0:
            raise RuntimeError(created.stderr)
        return self._run("url", database).stdout.strip()


def postgres_fixture(scope: FixtureScope = "module") -> Callable[..., Iterator[PostgresServer]]:
    @pytest.fixture(scope=scope)
    def _postgres() -> Iterator[PostgresServer]:
        # Not under pytest's tmp folder: PostgreSQL runs as the `postgres` user, which cannot
        # traverse root's private folders; the script hands this folder over to it.
        data = Path(tempfile.mkdtemp(prefix="student-behavior-postgres-"))
        server = PostgresServer(data).start()
        try:
            yield server
        finally:
            server.stop()
            shutil.rmtree(data, ignore_errors=True)

    return _postgres
