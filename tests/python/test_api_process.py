"""ApiProcess picks a free port, but another process can take it before the API listens (a test on the
other pytest worker did, in a fresh-clone run: "the API exited with 2 while starting"). It starts the
API again on a newly picked port."""

from __future__ import annotations

import socket
from pathlib import Path

from ingest.api.process import ApiProcess


def test_a_port_taken_before_the_api_listens_is_replaced(tmp_path: Path) -> None:
    server = ApiProcess(raw_zone=str(tmp_path / "zone"), keys_file=tmp_path / "keys.json")
    server.create_key("web")
    taken = server.port
    with socket.create_server(("127.0.0.1", taken)):
        server.start()
        try:
            assert server.port != taken
            assert server.process is not None and server.process.poll() is None
        finally:
            assert server.stop() == 0
