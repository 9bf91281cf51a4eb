"""The tracking API as a real HTTP server process: answers, limits, keys, durability, metrics."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_events import invalid_events, valid_event

from ingest.api.nesting import MAX_EVENT_DEPTH
from ingest.api.process import ApiProcess, free_port


def post(api: ApiProcess, body: bytes, key: str | None, path: str = "/v1/track",
         content_type: str | None = "application/json",
         source_address: tuple[str, int] | None = None) -> tuple[int, dict, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10, source_address=source_address)
    headers = {} if content_type is None else {"content-type": content_type}
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    return response.status, json.loads(payload) if payload else {}, dict(response.getheaders())


def get(api: ApiProcess, path: str, port: int | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port or api.port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


def zone_lines(zone: Path, area: str) -> list[dict]:
    lines = []
    for part in sorted((zone / area).glob("date=*/part-*.jsonl*")):
        lines += [json.loads(line) for line in part.read_bytes().splitlines()]
    return lines


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[ApiProcess, str]]:
    server = ApiProcess(raw_zone=str(tmp_path / "zone"), keys_file=tmp_path / "keys.json", metrics_port=free_port(),
                        extra_args=["--max-events", "5", "--max-body-bytes", "20000"])
    key = server.create_key("web")
    server.start()
    yield server, key
    server.kill()


def test_accepted_events_are_durable_before_the_answer(api: tuple[ApiProcess, str], tmp_path: Path) -> None:
    server, key = api
    status, body, _ = post(server, json.dumps([valid_event("e-1"), valid_event("e-2")]).encode(), key)
    assert (status, body) == (200, {"accepted": 2, "rejected": []})
    # Still open (the part is being appended to), yet already on disk with both events.
    assert [event["event_id"] for event in zone_lines(tmp_path / "zone", "api")] == ["e-1", "e-2"]
    assert list((tmp_path / "zone" / "api").glob("date=*/part-*.jsonl.open"))


def test_a_single_event_object_is_accepted(api: tuple[ApiProcess, str]) -> None:
    server, key = api
    assert post(server, json.dumps(valid_event("one")).encode(), key)[:2] == (200, {"accepted": 1, "rejected": []})


def test_rejected_events_get_their_reason_and_are_kept(api: tuple[ApiProcess, str], tmp_path: Path) -> None:
    server, key = api
    cases = invalid_events()[:4]
    events = [valid_event("ok-1"), *(event for event, _ in cases)]
    status, body, _ = post(server, json.dumps(events).encode(), key)
    assert status == 200 and body["accepted"] == 1
    expected = [(i + 1, reason) for i, (_, reason) in enumerate(cases)]
    assert [(r["index"], r["reason"]) for r in body["rejected"]] == expected
    assert body["rejected"][1]["event_id"] == "bad-1" and body["rejected"][1]["detail"]
    kept = zone_lines(tmp_path / "zone", "rejected/api")
    assert [line["reason"] for line in kept] == [reason for _, reason in cases]
    assert kept[1]["event"]["event_id"] == "bad-1"


def test_every_contract_reason_the_edge_can_tell(api: tuple[ApiProcess, str]) -> None:
    server, key = api
    for event, reason in invalid_events():
        status, body, _ = post(server, json.dumps(event).encode(), key)
        assert status == 200 and body["accepted"] == 0, event
        assert body["rejected"][0]["reason"] == reason, (event, body)


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe"])
def test_a_body_that_is_not_json_is_400(api: tuple[ApiProcess, str], body: bytes) -> None:
    server, key = api
    status, answer, _ = post(server, body, key)
    assert status == 400 and "not JSON" in answer["error"]


@pytest.mark.parametrize("body", [b"42", b'"event"', b"null"])
def test_json_that_is_neither_event_nor_array_is_400(api: tuple[ApiProcess, str], body: bytes) -> None:
    server, key = api
    assert post(server, body, key)[0] == 400


def test_non_object_items_in_an_array_are_rejected_per_item(api: tuple[ApiProcess, str]) -> None:
    server, key = api
    status, body, _ = post(server, json.dumps([valid_event("x-1"), 7, "text"]).encode(), key)
    assert status == 200 and body["accepted"] == 1
    assert [r["reason"] for r in body["rejected"]] == ["malformed_json", "malformed_json"]


@pytest.mark.parametrize("key", [None, "sbk_wrong", ""])
def test_without_a_valid_key_401(api: tuple[ApiProcess, str], key: str | None) -> None:
    server, _ = api
    status, body, headers = post(server, json.dumps(valid_event("k")).encode(), key)
    assert status == 401 and "key" in body["error"]
    assert "www-authenticate" in {name.lower() for name in headers}


def test_over_the_limits_413(api: tuple[ApiProcess, str]) -> None:
    server, key = api
    too_many = json.dumps([valid_event(f"m-{i}") for i in range(6)]).encode()
    assert post(server, too_many, key)[0] == 413
    too_big = json.dumps({**valid_event("big"), "page_url": "x" * 30000}).encode()
    assert post(server, too_big, key)[0] == 413


def test_a_revoked_key_stops_working_without_a_restart(api: tuple[ApiProcess, str]) -> None:
    from ingest.api.keys import KeyFile

    server, key = api
    assert post(server, json.dumps(valid_event("r-1")).encode(), key)[0] == 200
    KeyFile(server.keys_file).revoke("web")
    deadline = time.monotonic() + 10
    while post(server, json.dumps(valid_event("r-2")).encode(), key)[0] != 401:
        assert time.monotonic() < deadline, "revoked key still accepted after 10 s"
        time.sleep(0.5)


def test_over_the_rate_limit_429(tmp_path: Path) -> None:
    server = ApiProcess(raw_zone=str(tmp_path / "zone"), keys_file=tmp_path / "keys.json",
                        extra_args=["--rate-limit", "1", "--rate-burst", "3"])
    key = server.create_key("slow")
    other = server.create_key("other")
    server.start()
    try:
        statuses = [post(server, json.dumps(valid_event(f"rl-{i}")).encode(), key)[0] for i in range(5)]
        assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
        status, _, headers = post(server, json.dumps(valid_event("rl-x")).encode(), key)
        assert status == 429 and int(headers["retry-after"]) >= 1
        # The limit is per key.
        assert post(server, json.dumps(valid_event("rl-other")).encode(), other)[0] == 200
    finally:
        server.kill()


def test_sigterm_drains_and_finishes_the_part_files(api: tuple[ApiProcess, str], tmp_path: Path) -> None:
    server, key = api
    post(server, json.dumps([valid_event("t-1"), invalid_events()[0][0]]).encode(), key)
    assert server.stop() == 0
    zone = tmp_path / "zone"
    assert not list(zone.rglob("*.open"))
    assert [e["event_id"] for e in zone_lines(zone, "api")] == ["t-1"]
    assert len(zone_lines(zone, "rejected/api")) == 1


def test_health_readiness_and_metrics(api: tuple[ApiProcess, str]) -> None:
    server, key = api
    post(server, json.dumps([valid_event("m-1"), invalid_events()[2][0]]).encode(), key)
    post(server, b"{", key)
    assert get(server, "/healthz")[0] == 200
    status, ready = get(server, "/readyz")
    assert status == 200 and json.loads(ready)["status"] == "ready"
    status, text = get(server, "/metrics", port=server.metrics_port)
    metrics = text.decode()
    assert status == 200
    assert "track_api_keys_active 1" in metrics
    assert "track_events_accepted_total 1" in metrics
    assert 'track_events_rejected_total{reason="unknown_event_type"} 1' in metrics
    assert 'track_http_requests_total{method="POST",path="/v1/track",status="400"} 1' in metrics
    assert "track_fsync_seconds_count 1" in metrics and "track_request_bytes_total" in metrics


def test_the_openapi_document_is_served(api: tuple[ApiProcess, str]) -> None:
    server, _ = api
    status, body = get(server, "/openapi.json")
    document = json.loads(body)
    assert status == 200 and document["openapi"].startswith("3.1")
    assert set(document["paths"]["/v1/track"]["post"]["responses"]) >= {"200", "400", "401", "413", "429"}


def test_anonymous_readiness_tells_only_ready_or_not(api: tuple[ApiProcess, str]) -> None:
    server, _ = api
    status, body = get(server, "/readyz")
    assert (status, json.loads(body)) == (200, {"status": "ready"})  # no raw zone location, no key count


def test_metrics_are_served_only_on_their_own_listener(api: tuple[ApiProcess, str]) -> None:
    server, _ = api
    assert get(server, "/metrics")[0] == 404
    status, text = get(server, "/metrics", port=server.metrics_port)
    assert status == 200 and "track_http_requests_total" in text.decode()
    status, body = get(server, "/v1/track", port=server.metrics_port)  # and nothing else there
    assert status == 404 and "only /metrics" in json.loads(body)["error"]


def nested(levels: int) -> str:
    """JSON text of `levels` nested arrays (as text: Python's json stops near 1,000 levels)."""
    return "[" * levels + "1" + "]" * levels


def deep_event(event_id: str, depth: int) -> str:
    """A valid event nesting `depth` levels in all (the event 1, metadata 2, its value 3...)."""
    shell = {**valid_event(event_id), "metadata": {"scroll_depth": 0.5, "trail": "TRAIL"}}
    return json.dumps(shell).replace('"TRAIL"', nested(depth - 2))


@pytest.mark.parametrize("depth", [MAX_EVENT_DEPTH + 1, 253, 300, 1000])
def test_a_too_deep_event_is_rejected_alone(api: tuple[ApiProcess, str], tmp_path: Path, depth: int) -> None:
    server, key = api
    batch = [json.dumps(valid_event("d-1")), deep_event("d-deep", depth), nested(depth),
             json.dumps(valid_event("d-2"))]
    status, body, _ = post(server, f"[{','.join(batch)}]".encode(), key)
    assert status == 200 and body["accepted"] == 2, body
    assert [(r["index"], r["event_id"], r["reason"]) for r in body["rejected"]] == [
        (1, "d-deep", "malformed_json"), (2, None, "malformed_json")]
    assert all(f"deeper than {MAX_EVENT_DEPTH} levels" in r["detail"] for r in body["rejected"])
    assert [e["event_id"] for e in zone_lines(tmp_path / "zone", "api")] == ["d-1", "d-2"]
    kept = zone_lines(tmp_path / "zone", "rejected/api")
    assert kept[0]["event"]["event_id"] == "d-deep" and "not kept" in json.dumps(kept[0]["event"]["metadata"])


def test_an_event_at_the_depth_limit_is_accepted(api: tuple[ApiProcess, str]) -> None:
    server, key = api
    body = f"[{deep_event('at-limit', MAX_EVENT_DEPTH)}]".encode()
    assert post(server, body, key)[:2] == (200, {"accepted": 1, "rejected": []})


def test_a_body_nested_beyond_what_the_parser_reads_is_400(api: tuple[ApiProcess, str]) -> None:
    server, key = api
    status, answer, _ = post(server, nested(5000).encode(), key)
    assert status == 400 and "deeper than 1,024 levels" in answer["error"]
    assert f"at most {MAX_EVENT_DEPTH} levels" in answer["error"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "application/jsonl", "application/json; charset=iso-8859-1"])
def test_a_body_that_is_not_declared_json_is_415(api: tuple[ApiProcess, str], content_type: str | None) -> None:
    server, key = api
    status, answer, _ = post(server, json.dumps(valid_event("ct")).encode(), key, content_type=content_type)
    assert status == 415 and "Content-Type: application/json" in answer["error"]


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON;charset=\"UTF-8\""])
def test_json_with_parameters_is_taken(api: tuple[ApiProcess, str], content_type: str) -> None:
    server, key = api
    assert post(server, json.dumps(valid_event("cp")).encode(), key, content_type=content_type)[0] == 200


def test_failed_key_checks_are_limited_per_address(tmp_path: Path) -> None:
    server = ApiProcess(raw_zone=str(tmp_path / "zone"), keys_file=tmp_path / "keys.json",
                        extra_args=["--auth-failures-per-minute", "3"])
    key = server.create_key("web")
    server.start()
    try:
        event = json.dumps(valid_event("af")).encode()
        assert [post(server, event, wrong)[0] for wrong in ("sbk_a", None, "sbk_b")] == [401, 401, 401]
        status, answer, headers = post(server, event, "sbk_c")
        assert status == 429 and "failed key checks" in answer["error"] and int(headers["retry-after"]) >= 1
        # While locked out, the address learns nothing about keys: a valid one gets 429 too...
        assert post(server, event, key)[0] == 429
        # ...but only that address is locked out (the loopback network answers on 127.0.0.2 too).
        assert post(server, event, key, source_address=("127.0.0.2", 0))[0] == 200
    finally:
        server.kill()



def test_the_failure_limiter_forgets_refilled_addresses_but_not_locked_out_ones() -> None:
    from ingest.api.rate_limit import MAX_TRACKED, RateLimiter

    limiter = RateLimiter(rate=0.01, burst=2.0)  # one attempt back every 100 s
    for second in range(MAX_TRACKED * 3):
        limiter.spend("attacker", now=float(second))  # fails every second: stays locked out
        limiter.spend(f"client-{second}", now=float(second))  # fails once, then refills
    assert len(limiter._buckets) <= MAX_TRACKED  # addresses are not a closed set: memory stays bounded
    assert limiter.wait("attacker", now=MAX_TRACKED * 3.0) > 0
