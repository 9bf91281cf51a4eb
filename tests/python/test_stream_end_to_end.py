"""End to end through a real broker: the API publishes accepted events to Kafka
(`serve --sink kafka`), `ingest stream` consumes, lands, loads and builds the realtime models,
and every acknowledged event is in silver.events_cleaned and counted in
gold.course_activity_realtime."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path

from api_events import valid_event
from kafka_broker import KafkaBroker, broker_fixture

from ingest.api.process import ApiProcess
from ingest.settings import Settings
from ingest.warehouse.lake import connect

PROJECT_DIR = Path(__file__).resolve().parents[2]
PREFIX = "e2e-"
TOPICS = [f"{PREFIX}{name}" for name in ("clickstream", "video", "quiz")]
kafka_broker = broker_fixture(scope="module")


def event_of_kind(event_id: str, kind: int) -> dict[str, object]:
    event = valid_event(event_id, student=f"s-{kind % 7}")
    if kind % 3 == 1:
        event.update(event_type="video_play", metadata={"video_id": "v1", "watched_seconds": 5,
                                                        "video_duration_seconds": 120})
    elif kind % 3 == 2:
        event.update(event_type="quiz_attempt", question_id="q1", metadata={"quiz_id": "z1", "is_correct": True})
    return event


def test_api_to_kafka_to_the_realtime_mart(kafka_broker: KafkaBroker, tmp_path: Path) -> None:
    for topic in TOPICS:
        kafka_broker.create_topic(topic, 3)
    api = ApiProcess(raw_zone=str(tmp_path / "api-zone"), keys_file=tmp_path / "keys.json",
                     extra_args=["--sink", "kafka", "--kafka-bootstrap", kafka_broker.bootstrap,
                                 "--kafka-topic-prefix", PREFIX])
    key = api.create_key("e2e")
    api.start()
    acknowledged: list[str] = []
    try:
        connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
        for batch in range(30):
            events = [event_of_kind(f"e2e-{batch}-{n}", n) for n in range(20)]
            connection.request("POST", "/v1/track", body=json.dumps(events),
                               headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
            response = connection.getresponse()
            answer = json.loads(response.read())
            assert response.status == 200 and answer["accepted"] == 20, answer
            acknowledged += [str(event["event_id"]) for event in events]
    finally:
        assert api.stop() == 0
    # Nothing accepted went to the raw zone's api area: Kafka is the sink.
    assert not list((tmp_path / "api-zone").glob("api/**/*.jsonl"))

    warehouse = tmp_path / "warehouse" / "stream.sqlite"
    env = {**os.environ, "WAREHOUSE_PATH": str(warehouse)}
    stream = subprocess.run(
        [sys.executable, "-m", "ingest", "stream", "--bootstrap", kafka_broker.bootstrap, "--topics", ",".join(TOPICS),
         "--group", "e2e", "--raw-zone", str(tmp_path / "stream-zone"), "--interval", "8", "--cycles", "2"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert stream.returncode == 0, stream.stderr[-3000:]
    assert "freshness p50" in stream.stderr, stream.stderr[-3000:]

    with connect(Settings(warehouse_path=warehouse), read_only=True) as db:
        cleaned = [row[0] for row in db.execute("select event_id from silver.events_cleaned").fetchall()]
        counted = db.execute("select sum(events_count) from gold.course_activity_realtime").fetchall()[0][0]
        kinds = dict(db.execute("select event_type, count(*) from silver.events_cleaned group by 1").fetchall())
    assert sorted(cleaned) == sorted(acknowledged)
    assert counted == len(acknowledged)
    assert kinds == {"page_view": 210, "video_play": 210, "quiz_attempt": 180}  # 7, 7 and 6 of every 20
