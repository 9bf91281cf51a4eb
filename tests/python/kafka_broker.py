"""A real single-node Kafka broker (KRaft) for tests, run by scripts/kafka/kafka.sh.

Each broker gets a free loopback port (and the next one for its controller) and its own data
dir, so tests start what they need and stop it; nothing is mocked.

    from kafka_broker import KafkaBroker, broker_fixture

    kafka_broker = broker_fixture()           # a fixture: one broker for the whole session

    def test_something(kafka_broker):
        kafka_broker.create_topic("events", 3)
        producer = Producer({"bootstrap.servers": kafka_broker.bootstrap})

    with KafkaBroker(tmp_path / "kafka") as broker:   # or by hand
        ...
        broker.restart()                               # same port, same data

Installing the jars (once, from Maven Central through ~/.m2) happens on the first start; a test
is skipped, not failed, only when Maven Central cannot be reached.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

FixtureScope = Literal["session", "package", "module", "class", "function"]
PROJECT_DIR = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT_DIR / "scripts" / "kafka" / "kafka.sh"
EX_NO_NETWORK = 75  # kafka.sh install: Maven Central unreachable


class KafkaBrokerError(RuntimeError):
    pass


def free_port_pair(tries: int = 50) -> int:
    """A port P on 127.0.0.1 such that P (clients) and P+1 (controller) are both free now."""
    for _ in range(tries):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise KafkaBrokerError("no two consecutive free ports on 127.0.0.1")


class KafkaBroker:
    """One broker+controller JVM on 127.0.0.1, its data under data_dir (kept across restart())."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        heap: str = "-Xmx512m -Xms256m",
        start_timeout: int = 120,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port if port is not None else free_port_pair()
        self.heap = heap
        self.start_timeout = start_timeout
        self._running = False

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            KAFKA_PORT=str(self.port),
            KAFKA_CONTROLLER_PORT=str(self.port + 1),
            KAFKA_DATA_DIR=str(self.data_dir),
            KAFKA_HEAP=self.heap,
            KAFKA_START_TIMEOUT=str(self.start_timeout),
        )
        return env

    def _run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPT), *args],
            env=self._env(),
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _check(self, result: subprocess.CompletedProcess[str], what: str) -> None:
        if result.returncode != 0:
            raise KafkaBrokerError(
                f"kafka.sh {what} exited {result.returncode}\n{result.stdout}{result.stderr}"
                f"(broker log: {self.log_file})"
            )

    def install(self) -> None:
        """Copy the jars into .tools/kafka/libs if they are not there; skip the test offline."""
        result = self._run("install", timeout=600)
        if result.returncode == EX_NO_NETWORK:
            pytest.skip(f"Kafka's jars cannot be fetched (no Maven Central): {result.stderr.strip()}")
        self._check(result, "install")

    def start(self) -> KafkaBroker:
        """Install if needed, start the broker and wait until it answers clients."""
        self.install()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        result = self._run("start", timeout=self.start_timeout + 60)
        self._running = True  # stop() is safe even when the start failed halfway
        atexit.register(self.stop)
        self._check(result, "start")
        return self

    def stop(self) -> None:
        """SIGTERM (controlled shutdown), SIGKILL after 30 s; a no-op when not running."""
        if not self._running:
            return
        result = self._run("stop", timeout=120)
        self._running = False
        atexit.unregister(self.stop)
        self._check(result, "stop")

    def restart(self) -> None:
        """Stop and start again on the same port and data, as a broker restart in production."""
        result = self._run("restart", timeout=self.start_timeout + 180)
        self._check(result, "restart")

    def is_running(self) -> bool:
        return self._run("status", timeout=30).returncode == 0

    def create_topic(self, name: str, partitions: int) -> None:
        """Create a topic (replication factor 1) and return once it exists."""
        self._check(self._run("topics", "create", name, str(partitions), timeout=120), "topics create")

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def broker_fixture(scope: FixtureScope = "session", **kwargs: Any) -> Callable[..., Iterator[KafkaBroker]]:
    """A pytest fixture of one running broker in a tmp data dir, stopped after its scope.

    In a test module: ``kafka_broker = broker_fixture()`` (or ``broker_fixture("module")``).
    """

    @pytest.fixture(scope=scope)
    def _kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
        with KafkaBroker(tmp_path_factory.mktemp("kafka"), **kwargs) as broker:
            yield broker

    return _kafka_broker
