"""The API as a child process on a free loopback port, for tests, the benchmark and scripts."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

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

    def start(self, timeout: float = 20.0, attempts: int = 3) -> ApiProcess:
        """Start the API and wait until it is ready. A free port is only free when it is picked: another
        process may take it before the API listens (seen with tests in parallel). Then the API exits with
        "cannot listen on 127.0.0.1:PORT", and it is started again on a newly picked port."""
        for attempt in range(1, attempts + 1):
            errors_path = self._launch()
            ready = self._wait_until_ready(timeout)
            message = errors_path.read_text(errors="replace")
            if errors_path != self.log_path:
                errors_path.unlink()
            if ready:
                return self
            taken = [port for port in (self.port, self.metrics_port)
                     if port is not None and f"cannot listen on 127.0.0.1:{port} " in message]
            if not taken or attempt == attempts:
                raise RuntimeError(f"the API exited with {self.process.returncode if self.process else '?'} "
                                   f"while starting: {message.strip()[-2000:]}")
            if self.port in taken:
                self.port = free_port()
            if self.metrics_port in taken:
                self.metrics_port = free_port()
        raise AssertionError("unreachable")

    def _launch(self) -> Path:
        """Start the child; returns the file its output goes to (log_path, or a private file)."""
        env = {**os.environ, "API_KEYS_FILE": str(self.keys_file), **self.env}
        metrics = ["--metrics-port", str(self.metrics_port)] if self.metrics_port is not None else []
        errors_path = self.log_path or Path(tempfile.mkstemp(prefix="api-", suffix=".log")[1])
        with open(errors_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ingest", "serve", "--port", str(self.port), "--raw-zone", self.raw_zone,
                 *metrics, *self.extra_args],
                cwd=PROJECT_DIR, env=env, stdout=log, stderr=log)
        return errors_path

    def _wait_until_ready(self, timeout: float) -> bool:
        """True once /readyz answers 200; False when the child exited first."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                connection.request("GET", "/readyz")
                if connection.getresponse().status == 200:
                    return True
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
