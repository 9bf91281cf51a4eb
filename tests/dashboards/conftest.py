"""The dashboards' browser test: Superset started from the repository, Debian's chromium.

Runs in .venv-superset (`make test-dashboards`), not in tests/python: Superset's pins
clash with the project's. The warehouse is $DASHBOARDS_TEST_WAREHOUSE (the Makefile builds
a small one with sample and roster when it is missing); Superset gets a fresh metadata
database in a temporary folder and a free port, and is stopped at the end.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from ingest.settings import Settings  # noqa: E402

SCRIPT = PROJECT_DIR / "dashboards" / "superset.sh"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = PROJECT_DIR / "logs" / "dashboards"


@dataclass(frozen=True)
class Superset:
    url: str
    settings: Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def warehouse_settings() -> Settings:
    path = Path(os.environ.get("DASHBOARDS_TEST_WAREHOUSE", PROJECT_DIR / "warehouse" / "dashboards-test.sqlite"))
    if not path.is_file():
        pytest.fail(f"no warehouse at {path}: run 'make test-dashboards', which builds one")
    return Settings(warehouse_path=path)


@pytest.fixture(scope="session")
def superset(warehouse_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Superset]:
    home = tmp_path_factory.mktemp("superset")
    port = free_port()
    env = dict(os.environ, SUPERSET_HOME=str(home), SUPERSET_PORT=str(port), SUPERSET_HOST="127.0.0.1",
               WAREHOUSE_PATH=str(warehouse_settings.warehouse_path.resolve()))
    for name in ("WAREHOUSE_CATALOG", "WAREHOUSE_DATA_PATH", "SUPERSET_SECRET_KEY"):
        env.pop(name, None)
    started = subprocess.run([str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=1200)
    try:
        assert started.returncode == 0, started.stdout[-4000:] + started.stderr[-4000:]
        yield Superset(url=f"http://127.0.0.1:{port}", settings=warehouse_settings)
    finally:
        subprocess.run([str(SCRIPT), "stop"], env=env, capture_output=True, text=True, timeout=120)
        log = home / "superset.log"
        if log.is_file():
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "superset.log").write_text(log.read_text(errors="replace"))
