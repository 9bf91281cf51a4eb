"""The API as a child process on a free loopback port, for tests, the benchmark and scripts."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ingest.api.keys import KeyFile
from ingest.settings import PROJECT_DIR


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ApiProcess:
    raw_zone: str
    keys_file: Path
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    metrics_port: int | None = None  # a port for the separate /metrics listener, or none
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def create_key(self, name: str) -> str:
        return KeyFile(self.keys_file).create(name)

    def start(self, timeout: float = 20.0) -> ApiProcess:
        env = {**os.environ, "API_KEYS_FILE": str(self.keys_file), **self.env}
        metrics = ["--metrics-port", str(self.metrics_port)] if self.metrics_port is not None else []
        with contextlib.ExitStack() as opened:  # the child keeps its own copy of the log's descriptor
            log: IO[bytes] | int = opened.enter_context(open(self.log_path, "ab")) if self.log_path \
                else subprocess.DEVNULL
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ingest", "serve", "--port", str(self.port), "--raw-zone", self.raw_zone,
                 *metrics, *self.extra_args],
                cwd=PROJECT_DIR, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the API exited with {self.process.returncode} while starting")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                connection.request("GET", "/readyz")
                if connection.getresponse().status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"the API did not become ready within {timeout:.0f}s")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM: drain, flush, finish the open part files. 0 when it shut down cleanly
        (uvicorn re-raises the signal after its graceful shutdown, so -SIGTERM is clean too)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        return 0 if code == -signal.SIGTERM else code

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
