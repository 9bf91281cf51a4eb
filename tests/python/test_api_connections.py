"""Slow and numerous clients against the API as a real server process, over real sockets:
read timeouts for headers and body (slowloris), and the cap on open connections."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from api_events import valid_event

from ingest.api.process import ApiProcess, free_port

SLOW_CLIENTS = 200
HANG_GUARD_SECONDS = 60  # only so a broken server fails the test instead of hanging it


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Callable[..., tuple[ApiProcess, str]]]:
    """Starts the API with extra flags (and a metrics listener); its key."""
    servers: list[ApiProcess] = []

    def start(*flags: str) -> tuple[ApiProcess, str]:
        server = ApiProcess(raw_zone=str(tmp_path / "zone"), keys_file=tmp_path / "keys.json",
                            metrics_port=free_port(), extra_args=list(flags))
        key = server.create_key("web")
        servers.append(server.start())
        return server, key

    yield start
    for server in servers:
        server.kill()


def track(server: ApiProcess, key: str, event_id: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("POST", "/v1/track", body=json.dumps(valid_event(event_id)),
                       headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
    return connection.getresponse().status


def metric(server: ApiProcess, name: str) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", server.metrics_port, timeout=10)
    connection.request("GET", "/metrics")
    for line in connection.getresponse().read().decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def wait_for_metric(server: ApiProcess, name: str, value: float) -> None:
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while metric(server, name) != value:
        assert time.monotonic() < deadline, f"{name} never reached {value}"
        time.sleep(0.05)


def connect(server: ApiProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def read_until_closed(sock: socket.socket) -> bytes:
    sock.setblocking(True)
    sock.settimeout(10)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except ConnectionResetError:  # the server closed with our bytes unread: what came before counts
        pass
    return received


def trickle_until_closed(sockets: list[socket.socket], payload: bytes, between: Callable[[], None]) -> list[bytes]:
    """Send `payload` one byte per round to every socket until the server has closed them
    all; what each received. `between` runs after the first round, while all are open."""
    answers: dict[int, bytes] = {}
    for sock in sockets:
        sock.setblocking(False)
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    for position in range(len(payload)):
        for number, sock in enumerate(sockets):
            if number in answers:
                continue
            try:
                first = sock.recv(4096)
                answers[number] = first + read_until_closed(sock) if first else b""
                continue
            except BlockingIOError:  # nothing from the server yet: still open
                pass
            except ConnectionResetError:
                answers[number] = b""
                continue
            try:
                sock.send(payload[position:position + 1])
            except (BrokenPipeError, ConnectionResetError):
                answers[number] = b""
        if position == 0:
            between()
        if len(answers) == len(sockets):
            return [answers[number] for number in range(len(sockets))]
        assert time.monotonic() < deadline, f"{len(sockets) - len(answers)} slow clients still connected"
        time.sleep(0.05)
    raise AssertionError("a slow client sent its whole request without being cut off")


def test_slow_header_senders_are_cut_off_while_others_are_served(
        running: Callable[..., tuple[ApiProcess, str]]) -> None:
    server, key = running("--header-timeout", "1")
    # Headers that would take minutes at one byte per round, and need no key to hold a connection.
    request = b"GET /healthz HTTP/1.1\r\nHost: api\r\nX-Padding: " + b"a" * 5000 + b"\r\n\r\n"
    slow = [connect(server) for _ in range(SLOW_CLIENTS)]
    served: list[int] = []
    answers = trickle_until_closed(slow, request, lambda: served.append(track(server, key, "while-slow")))
    assert served == [200]
    timed_out = [answer for answer in answers if answer.startswith(b"HTTP/1.1 408")]
    assert timed_out, "no slow client was told why it was cut off"
    assert b"the request headers did not arrive within 1 s" in timed_out[0]
    assert metric(server, 'track_read_timeouts_total{phase="headers"}') == SLOW_CLIENTS
    assert track(server, key, "after-slow") == 200


def test_a_slow_body_is_cut_off(running: Callable[..., tuple[ApiProcess, str]], tmp_path: Path) -> None:
    server, key = running("--body-timeout", "1")
    body = json.dumps(valid_event("slow-body")).encode()
    head = (f"POST /v1/track HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    sock = connect(server)
    sock.sendall(head)
    answer = trickle_until_closed([sock], body, lambda: None)[0]
    assert answer.startswith(b"HTTP/1.1 408") and b"the request body did not arrive within 1 s" in answer
    assert metric(server, 'track_read_timeouts_total{phase="body"}') == 1
    assert not list((tmp_path / "zone").rglob("part-*"))  # nothing of it was stored
    assert track(server, key, "after-slow-body") == 200


def test_connections_past_the_cap_get_503_at_once(running: Callable[..., tuple[ApiProcess, str]]) -> None:
    server, key = running("--max-connections", "5", "--header-timeout", "120")
    wait_for_metric(server, "track_connections_open", 0)  # the readiness probe has gone
    held = [connect(server) for _ in range(5)]
    for sock in held:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # and never finishes its headers
    wait_for_metric(server, "track_connections_open", 5)
    refused = connect(server)
    answer = read_until_closed(refused)
    assert answer.startswith(b"HTTP/1.1 503") and b"retry-after: 1" in answer and b"5 connections open" in answer
    assert metric(server, "track_connections_refused_total") == 1  # the metrics listener is not capped
    for sock in held:
        sock.close()
    wait_for_metric(server, "track_connections_open", 0)
    assert track(server, key, "after-cap") == 200
