"""Crash safety: clients post under load, the API is killed with SIGKILL and restarted;
every event that got a 200 is in the raw zone, and in silver.events_cleaned after a load
and a build, exactly once."""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path

from api_events import valid_event

from ingest.api.process import ApiProcess
from ingest.load.loader import load_files
from ingest.settings import Settings
from ingest.warehouse.dbt_runner import run_dbt
from ingest.warehouse.lake import connect

CLIENTS = 4
BATCH = 10


def post_until_refused(port: int, key: str, client: int, acknowledged: list[str], stop: threading.Event) -> None:
    sequence = 0
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    while not stop.is_set():
        ids = [f"c{client}-{sequence}-{i}" for i in range(BATCH)]
        sequence += 1
        try:
            connection.request("POST", "/v1/track", body=json.dumps([valid_event(i, f"s-{client}") for i in ids]),
                               headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
            response = connection.getresponse()
            body = json.loads(response.read())
        except (OSError, http.client.HTTPException, ValueError):
            return  # the server is gone: whatever was not answered was not acknowledged
        if response.status == 200 and body["accepted"] == BATCH:
            acknowledged.extend(ids)


def zone_event_ids(api_area: Path) -> list[str]:
    return [json.loads(line)["event_id"]
            for part in sorted(api_area.glob("date=*/part-*.jsonl*"))
            for line in part.read_bytes().splitlines() if line.endswith(b"}")]


def test_acknowledged_events_survive_sigkill(tmp_path: Path) -> None:
    zone = tmp_path / "zone"
    server = ApiProcess(raw_zone=str(zone), keys_file=tmp_path / "keys.json", log_path=tmp_path / "api.log")
    key = server.create_key("crash")
    server.start()
    acknowledged: list[str] = []
    stop = threading.Event()
    clients = [threading.Thread(target=post_until_refused, args=(server.port, key, n, acknowledged, stop))
               for n in range(CLIENTS)]
    for client in clients:
        client.start()
    time.sleep(2.0)
    server.kill()  # SIGKILL while requests are in flight
    stop.set()
    for client in clients:
        client.join()
    assert len(acknowledged) > 100, "too little load to test anything"
    assert set(acknowledged) <= set(zone_event_ids(zone / "api"))

    server.start()  # recovery finishes the parts the crash left open
    assert server.stop() == 0
    assert not list(zone.rglob("*.open"))

    settings = Settings(warehouse_path=tmp_path / "warehouse" / "crash.sqlite")
    load_files([str(zone / "api")], settings, show_progress=False)
    done = run_dbt(["build", "--exclude", "test_type:unit", "--quiet"], settings,
                   capture=True)
    assert done.returncode == 0, done.stdout[-3000:]
    with connect(settings, read_only=True) as warehouse:
        cleaned = [row[0] for row in warehouse.execute("select event_id from silver.events_cleaned").fetchall()]
    assert len(cleaned) == len(set(cleaned))
    assert set(acknowledged) <= set(cleaned)
