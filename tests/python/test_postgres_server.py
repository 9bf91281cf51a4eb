"""The test PostgreSQL server picks a free port and starts on it; the port can be taken by another
test's server in between, which must not fail the tests that need PostgreSQL."""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import postgres_server
import pytest
from postgres_server import PostgresServer


def test_postgres_starts_on_a_new_port_when_the_picked_one_was_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    pick_free_port = postgres_server.free_port
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        picks = iter([taken])
        monkeypatch.setattr(postgres_server, "free_port", lambda: next(picks, None) or pick_free_port())
        data = Path(tempfile.mkdtemp(prefix="student-behavior-postgres-"))
        server = PostgresServer(data)
        assert server.port == taken
        try:
            server.start()
            assert server.port != taken
            assert server._run("status").returncode == 0
        finally:
            server.stop()
            shutil.rmtree(data, ignore_errors=True)
