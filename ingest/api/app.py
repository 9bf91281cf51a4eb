"""The tracking API as a plain ASGI application (no framework: the hot path is small and
every microsecond of it is ours to measure).

POST /v1/track  one event or a JSON array of events -> 200 {"accepted", "rejected": [...]}
GET  /healthz   the process is up          GET /readyz   ready or not, nothing more
GET  /openapi.json
GET  /metrics   Prometheus text, only on the separate metrics listener (`--metrics-port`)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import orjson

from ingest.api.config import ApiConfig
from ingest.api.durable_log import GroupCommitter, PartLog
from ingest.api.kafka_sink import KafkaSink
from ingest.api.keys import KeyFile, KeyRing
from ingest.api.metrics import Metrics
from ingest.api.nesting import MAX_EVENT_DEPTH, PARSER_MAX_DEPTH, nested_deeper_than
from ingest.api.rate_limit import RateLimiter
from ingest.contract.edge_validation import Rejection, validate_event
from ingest.errors import BodyTooLargeError

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

ACCEPTED_AREA = "api"
REJECTED_AREA = "rejected/api"
JSON_HEADERS = [(b"content-type", b"application/json")]
KEY_REFRESH_SECONDS = 2.0
PUBLIC_ROUTES = ("/v1/track", "/healthz", "/readyz", "/openapi.json")

TOO_DEEP = Rejection("malformed_json", f"the event nests objects and arrays deeper than {MAX_EVENT_DEPTH} levels "
                                       f"(the limit, counting the event itself as level 1)")
CUT_MARKER = f"<nested deeper than {MAX_EVENT_DEPTH} levels: not kept>"


def _openapi_document() -> bytes:
    return resources.files("ingest.api").joinpath("openapi.json").read_bytes()


def _cut_to_depth(value: object, levels: int) -> object:
    """`value` with what lies deeper than `levels` levels replaced by a marker: a too-deep
    event cannot be written whole (orjson writes at most 254 levels)."""
    if isinstance(value, dict):
        return {key: _cut_to_depth(child, levels - 1) for key, child in value.items()} if levels else CUT_MARKER
    if isinstance(value, list):
        return [_cut_to_depth(child, levels - 1) for child in value] if levels else CUT_MARKER
    return value


def _content_type_error(value: bytes | None) -> str | None:
    """Why a request's Content-Type is not JSON in UTF-8, or None when it is."""
    if value is None:
        return "no Content-Type; send Content-Type: application/json"
    media_type, *parameters = value.decode("latin-1").split(";")
    if media_type.strip().lower() != "application/json":
        return f"Content-Type {media_type.strip()[:100]!r} is not supported; send Content-Type: application/json"
    for parameter in parameters:
        name, _, charset = parameter.partition("=")
        if name.strip().lower() == "charset" and charset.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return "JSON is read as UTF-8; send Content-Type: application/json (charset=utf-8 or no charset)"
    return None


def _rejection_entry(index: int, event: object, rejection: Rejection) -> dict[str, object]:
    event_id = event.get("event_id") if isinstance(event, dict) else None
    return {"index": index, "event_id": event_id if isinstance(event_id, str) else None,
            "reason": rejection.reason, "detail": rejection.detail}


class TrackingApi:
    def __init__(self, config: ApiConfig) -> None:
        from ingest.zone.raw_zone import open_raw_zone

        self.config = config
        self.metrics = Metrics()
        self.keys = KeyRing(KeyFile(config.keys_file))
        self.limiter = RateLimiter(rate=config.rate_limit_per_second, burst=config.rate_limit_burst)
        self.auth_failures = RateLimiter(rate=config.auth_failures_per_minute / 60,
                                         burst=config.auth_failures_per_minute)
        # (host, port) of the listener that serves /metrics, set once it is bound
        self.metrics_address: tuple[str, int] | None = None
        self.zone = open_raw_zone(config.raw_zone_url)
        self.committer = GroupCommitter(
            {area: PartLog(area, self.zone, config.rotate_bytes, config.rotate_seconds)
             for area in (ACCEPTED_AREA, REJECTED_AREA)},
            self.metrics,
        )
        self.kafka: KafkaSink | None = None
        self.ready = False
        self._keys_checked = 0.0
        self._openapi = _openapi_document()

    # ASGI entry point
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if self.metrics_address is not None and scope.get("server") == self.metrics_address:
            status = await self._metrics_listener(send, method, path)
            self.metrics.requests[(method, "/metrics" if path == "/metrics" else "other", status)] += 1
            return
        if path == "/v1/track":
            status = await self._track(scope, receive, send) if method == "POST" else \
                await self._error(send, 405, "use POST", [(b"allow", b"POST")])
        elif method != "GET":
            status = await self._error(send, 405, "use GET", [(b"allow", b"GET")])
        elif path == "/healthz":
            status = await self._json(send, 200, {"status": "ok"})
        elif path == "/readyz":  # anyone may ask: the answer names no location and no count
            status = await self._json(send, 200 if self.ready else 503,
                                      {"status": "ready" if self.ready else "starting"})
        elif path == "/openapi.json":
            status = await self._respond(send, 200, self._openapi, JSON_HEADERS)
        else:
            status = await self._error(send, 404, f"no route {path}")
        route = path if path in PUBLIC_ROUTES else "other"
        self.metrics.requests[(method, route, status)] += 1

    async def _metrics_listener(self, send: Send, method: str, path: str) -> int:
        if path != "/metrics":
            return await self._error(send, 404, f"no route {path}; this listener serves only /metrics")
        if method != "GET":
            return await self._error(send, 405, "use GET", [(b"allow", b"GET")])
        return await self._respond(send, 200, self.metrics.render(keys_active=len(self.keys)).encode(),
                                   [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")])

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.committer.start()
                except OSError as error:
                    await send({"type": "lifespan.startup.failed", "message": f"raw zone not writable: {error}"})
                    return
                if self.config.sink == "kafka":
                    self.kafka = KafkaSink(self.config.kafka_bootstrap, self.config.kafka_topic_prefix)
                self.ready = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.ready = False
                if self.kafka is not None:
                    await asyncio.get_running_loop().run_in_executor(None, self.kafka.close)
                await self.committer.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # responses
    async def _respond(self, send: Send, status: int, body: bytes,
                       headers: list[tuple[bytes, bytes]]) -> int:
        await send({"type": "http.response.start", "status": status,
                    "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        return status

    async def _json(self, send: Send, status: int, payload: object,
                    headers: list[tuple[bytes, bytes]] | None = None) -> int:
        return await self._respond(send, status, orjson.dumps(payload), [*JSON_HEADERS, *(headers or [])])

    async def _error(self, send: Send, status: int, message: str,
                     headers: list[tuple[bytes, bytes]] | None = None) -> int:
        return await self._json(send, status, {"error": message}, headers)

    # POST /v1/track
    def _key_name(self, scope: Scope) -> str | None:
        now = time.monotonic()
        if now - self._keys_checked > KEY_REFRESH_SECONDS:
            self.keys.refresh()
            self._keys_checked = now
        authorization = next((value for name, value in scope["headers"] if name == b"authorization"), None)
        return self.keys.key_name(authorization)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.config.max_body_bytes
        declared = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLargeError
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ConnectionError("client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLargeError
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    async def _track(self, scope: Scope, receive: Receive, send: Send) -> int:
        # A locked-out address is refused before its key is looked at, so that while locked
        # out it cannot learn whether a key is valid.
        address = scope["client"][0] if scope.get("client") else "unknown"
        wait = self.auth_failures.wait(address)
        if wait:
            return await self._error(send, 429, f"more than {self.config.auth_failures_per_minute:g} failed key checks "
                                                "a minute from this address; retry later with a valid key",
                                     [(b"retry-after", str(max(1, round(wait))).encode())])
        key_name = self._key_name(scope)
        if key_name is None:
            self.auth_failures.spend(address)
            return await self._error(send, 401, "missing or invalid API key (Authorization: Bearer <key>)",
                                     [(b"www-authenticate", b'Bearer realm="track"')])
        wait = self.limiter.allow(key_name)
        if wait:
            return await self._error(send, 429, f"rate limit of {self.config.rate_limit_per_second:g} "
                                                "requests/s for this key exceeded",
                                     [(b"retry-after", str(max(1, round(wait))).encode())])
        content_type = next((value for name, value in scope["headers"] if name == b"content-type"), None)
        unsupported = _content_type_error(content_type)
        if unsupported:
            return await self._error(send, 415, unsupported)
        try:
            body = await self._read_body(scope, receive)
        except BodyTooLargeError:
            return await self._error(send, 413, f"body over {self.config.max_body_bytes:,} bytes")
        except ConnectionError:
            return 499
        self.metrics.request_bytes += len(body)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            if error.msg == "depth limit exceeded":
                return await self._error(send, 400, f"body nests arrays and objects deeper than {PARSER_MAX_DEPTH:,} "
                                                    f"levels, more than the parser reads; an event may nest at most "
                                                    f"{MAX_EVENT_DEPTH} levels")
            return await self._error(send, 400, f"body is not JSON: {error}")
        events = payload if isinstance(payload, list) else [payload] if isinstance(payload, dict) else None
        if events is None:
            return await self._error(send, 400, "body must be one event (a JSON object) or a JSON array of events")
        if len(events) > self.config.max_events:
            return await self._error(send, 413, f"{len(events):,} events in one request; "
                                                f"at most {self.config.max_events:,}")
        return await self._accept(send, events, key_name)

    async def _accept(self, send: Send, events: list[object], key_name: str) -> int:
        received_at = datetime.now(UTC)
        accepted: list[Any] = []
        rejected_lines: list[bytes] = []
        rejected: list[dict[str, object]] = []
        for index, event in enumerate(events):
            too_deep = nested_deeper_than(event, MAX_EVENT_DEPTH)
            rejection = TOO_DEEP if too_deep else validate_event(event, received_at)
            if rejection is None:
                accepted.append(event)
                continue
            entry = _rejection_entry(index, event, rejection)
            rejected.append(entry)
            kept = _cut_to_depth(event, MAX_EVENT_DEPTH) if too_deep else event
            rejected_lines.append(orjson.dumps({"received_at": received_at.isoformat(), "key_name": key_name,
                                                "reason": rejection.reason, "detail": rejection.detail,
                                                "index": index, "event": kept}))
            self.metrics.events_rejected[rejection.reason] += 1
        lines = {}
        if accepted and self.kafka is None:
            lines[ACCEPTED_AREA] = b"\n".join(orjson.dumps(event) for event in accepted) + b"\n"
        if rejected_lines:
            lines[REJECTED_AREA] = b"\n".join(rejected_lines) + b"\n"
        try:
            if accepted and self.kafka is not None:
                await self.kafka.publish(accepted)
            if lines:
                await self.committer.submit(lines)
        except Exception as error:  # nothing may be acknowledged that is not durable
            return await self._error(send, 503, f"the events were not stored, retry: {error}",
                                     [(b"retry-after", b"1")])
        self.metrics.events_accepted += len(accepted)
        return await self._json(send, 200, {"accepted": len(accepted), "rejected": rejected})

