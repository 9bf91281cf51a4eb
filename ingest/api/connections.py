"""Connection guards uvicorn does not have: header and body read timeouts and a cap on open
connections (slowloris).

uvicorn (0.54, httptools) only times out an idle keep-alive connection after a response; a
connection that trickles its request line and headers a byte at a time, or its body, is
kept forever, and `limit_concurrency` answers 503 only once the headers are complete. The
guard is a subclass of uvicorn's httptools protocol: from the connection's opening (or the
first byte of a later request on it) the headers must be complete within
`header_timeout`, then the body within `body_timeout`, or the client gets 408 and the
connection is closed. Past `max_connections` open connections a new one gets 503 at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ingest.api.metrics import Metrics


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float
    body_timeout: float
    max_connections: int
    uncapped_address: tuple[str, int] | None = None  # the metrics listener: scrapes must get through


def _close_response(status: bytes, message: str, extra: bytes = b"") -> bytes:
    body = orjson.dumps({"error": message})
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n" + extra +
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    limits: ConnectionLimits
    metrics: Metrics

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None
        self._refused = False
        self._counted = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.server != self.limits.uncapped_address:
            if self.metrics.connections_open >= self.limits.max_connections:
                self._refused = True
                self.metrics.connections_refused += 1
                transport.write(_close_response(
                    b"503 Service Unavailable",
                    f"the server has {self.limits.max_connections:,} connections open, its limit; retry",
                    b"retry-after: 1\r\n"))
                transport.close()
                return
            self._counted = True
            self.metrics.connections_open += 1
        self._arm("headers")

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._counted:
            self._counted = False
            self.metrics.connections_open -= 1
        super().connection_lost(exc)

    # httptools callbacks: a request's headers, then its body, each against its own clock
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._read_timer is None:  # a later request on a kept-alive connection
            self._arm("headers")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm("body")

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def _arm(self, phase: str) -> None:
        self._disarm()
        timeout = self.limits.header_timeout if phase == "headers" else self.limits.body_timeout
        self._read_timer = self.loop.call_later(timeout, self._timed_out, phase, timeout)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _timed_out(self, phase: str, timeout: float) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        self.metrics.read_timeouts[phase] += 1
        cycle = self.cycle  # headers: the request before, if any; body: this request
        if phase == "headers":
            answer = cycle is None or cycle.response_complete
        else:
            answer = cycle is not None and not cycle.response_started
            if answer:  # the application, waiting for the body, sees a disconnect and answers nothing
                cycle.disconnected = True
                cycle.message_event.set()
        if answer:
            self.transport.write(_close_response(
                b"408 Request Timeout", f"the request {phase} did not arrive within {timeout:g} s"))
        self.transport.close()


def guarded_protocol(limits: ConnectionLimits, metrics: Metrics) -> type[GuardedHttpToolsProtocol]:
    """The protocol class to hand to uvicorn (`http=`), bound to these limits."""
    return type("GuardedHttpTools", (GuardedHttpToolsProtocol,), {"limits": limits, "metrics": metrics})
