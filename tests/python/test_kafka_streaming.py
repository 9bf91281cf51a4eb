"""Streaming into the raw zone against a real Kafka broker: a consumer killed mid-batch, a
broker restart and a rebalance between two consumers neither lose nor double an event, in
the raw zone and in silver.events_cleaned; lag is exported as a metric."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from api_events import valid_event
from confluent_kafka import Producer
from kafka_broker import KafkaBroker, broker_fixture
from waiting import wait_for

from ingest.api.process import free_port
from ingest.load.loader import load_files
from ingest.settings import Settings
from ingest.warehouse.dbt_runner import run_dbt
from ingest.warehouse.lake import connect

PROJECT_DIR = Path(__file__).resolve().parents[2]
TOPICS = ("clickstream", "video", "quiz")
kafka_broker = broker_fixture(scope="module")


@dataclass
class Scenario:
    zone: Path
    topics: tuple[str, ...]
    ids: list[str]
    lag_metrics: str = ""


def fresh_topics(broker: KafkaBroker, prefix: str) -> tuple[str, ...]:
    """The three topics under a prefix of the scenario's own, three partitions each."""
    topics = tuple(f"{prefix}-{t}" for t in TOPICS)
    for topic in topics:
        broker.create_topic(topic, 3)
    return topics


def produce(broker: KafkaBroker, prefix: str, count: int, topics: tuple[str, ...]) -> list[str]:
    producer = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True, "acks": "all",
                         "linger.ms": 5})
    ids = [f"{prefix}-{n}" for n in range(count)]
    for n, event_id in enumerate(ids):
        event = valid_event(event_id, student=f"s-{n % 37}")
        producer.produce(topics[n % len(topics)], json.dumps(event).encode(), key=str(event["student_id"]).encode())
        if n % 1000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    return ids


def landed_ids(zone: Path, topics: tuple[str, ...]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for topic in topics:
        for part in (zone / "kafka" / topic).glob("date=*/*.jsonl"):
            counts.update(json.loads(line)["event_id"] for line in part.read_bytes().splitlines())
    return counts


# `ingest consume` prints this once its SIGTERM handler is in place.
READY_LINE = "Ctrl-C or SIGTERM lands the open batches and stops"


class ConsumerProcess:
    def __init__(self, broker: KafkaBroker, zone: Path, group: str, topics: tuple[str, ...], log: Path,
                 batch_messages: int = 300, metrics_port: int | None = None, batch_seconds: float = 1) -> None:
        args = [sys.executable, "-m", "ingest", "consume", "--bootstrap", broker.bootstrap,
                "--topics", ",".join(topics), "--group", group, "--raw-zone", str(zone),
                "--batch-messages", str(batch_messages), "--batch-seconds", str(batch_seconds), "-q"]
        if metrics_port:
            args += ["--metrics-port", str(metrics_port)]
        self.log = log
        # The consumer keeps its own copy of the log's descriptor.
        with open(log, "ab") as output:
            self.process = subprocess.Popen(args, cwd=PROJECT_DIR, env=dict(os.environ),
                                            stdout=output, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        # A SIGTERM sent before the consumer handles it (still starting: under load, a consumer started
        # after every event had landed was stopped at once) kills it, which is not what stop() tests.
        wait_for(lambda: READY_LINE in self.log.read_text(errors="replace"), what="the consumer to start")
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=60) == 0

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="module")
def scenarios(kafka_broker: KafkaBroker, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Scenario]:
    """Runs the three failure scenarios; each leaves its raw zone and the ids it produced."""
    results: dict[str, Scenario] = {}
    base = tmp_path_factory.mktemp("streaming")

    # 1. The consumer is killed (SIGKILL) between landing a batch and committing, then restarted.
    topics = fresh_topics(kafka_broker, "kill")
    ids = produce(kafka_broker, "kill", 6000, topics)
    zone = base / "kill"
    first = ConsumerProcess(kafka_broker, zone, "kill-group", topics, base / "kill-1.log", batch_messages=200)
    wait_for(lambda: sum(landed_ids(zone, topics).values()) >= 1500, what="the first batches")
    first.kill()
    second = ConsumerProcess(kafka_broker, zone, "kill-group", topics, base / "kill-2.log", batch_messages=200)
    wait_for(lambda: len(landed_ids(zone, topics)) == len(ids), what="every event after the restart")
    second.stop()
    results["consumer killed"] = Scenario(zone, topics, ids)

    # 2. The broker restarts while the consumer runs; producing goes on afterwards.
    topics = fresh_topics(kafka_broker, "restart")
    zone = base / "restart"
    ids = produce(kafka_broker, "restart-a", 3000, topics)
    consumer = ConsumerProcess(kafka_broker, zone, "restart-group", topics, base / "restart.log")
    wait_for(lambda: sum(landed_ids(zone, topics).values()) >= 500, what="the first batches")
    kafka_broker.restart()
    ids += produce(kafka_broker, "restart-b", 3000, topics)
    wait_for(lambda: len(landed_ids(zone, topics)) == len(ids), timeout=120, what="every event after the restart")
    consumer.stop()
    results["broker restarted"] = Scenario(zone, topics, ids)

    # 3. A second consumer joins the group mid-stream (rebalance), then the first leaves (another).
    topics = fresh_topics(kafka_broker, "rebalance")
    zone = base / "rebalance"
    metrics_port = free_port()
    ids = produce(kafka_broker, "rebalance-a", 3000, topics)
    one = ConsumerProcess(kafka_broker, zone, "rebalance-group", topics, base / "rebalance-1.log")
    wait_for(lambda: sum(landed_ids(zone, topics).values()) >= 300, what="the first batches")
    two = ConsumerProcess(kafka_broker, zone, "rebalance-group", topics, base / "rebalance-2.log",
                          metrics_port=metrics_port)
    ids += produce(kafka_broker, "rebalance-b", 3000, topics)
    time.sleep(3)
    one.stop()
    ids += produce(kafka_broker, "rebalance-c", 2000, topics)
    wait_for(lambda: len(landed_ids(zone, topics)) == len(ids), timeout=120, what="every event after rebalancing")
    time.sleep(6)  # the lag gauge is refreshed every few seconds
    connection = http.client.HTTPConnection("127.0.0.1", metrics_port, timeout=5)
    connection.request("GET", "/metrics")
    lag_metrics = connection.getresponse().read().decode()
    two.stop()
    results["rebalanced"] = Scenario(zone, topics, ids, lag_metrics)
    return results


SCENARIOS = ("consumer killed", "broker restarted", "rebalanced")


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_event_lands_exactly_once_in_the_raw_zone(scenarios: dict[str, Scenario], name: str) -> None:
    scenario = scenarios[name]
    landed = landed_ids(scenario.zone, scenario.topics)
    assert set(landed) == set(scenario.ids)
    assert [event_id for event_id, copies in landed.items() if copies > 1] == []


def test_consumer_lag_is_exported(scenarios: dict[str, Scenario]) -> None:
    text = scenarios["rebalanced"].lag_metrics
    lags = [line for line in text.splitlines() if line.startswith("kafka_consumer_lag_messages{")]
    assert lags and all(line.endswith(" 0") for line in lags), text
    assert "kafka_consumer_landed_messages_total" in text


def test_silver_has_every_event_once(scenarios: dict[str, Scenario], tmp_path: Path) -> None:
    settings = Settings(warehouse_path=tmp_path / "warehouse" / "stream.sqlite")
    load_files([str(scenarios[name].zone / "kafka") for name in SCENARIOS], settings, show_progress=False)
    done = run_dbt(["build", "--exclude", "test_type:unit", "--quiet"], settings, capture=True)
    assert done.returncode == 0, done.stdout[-3000:]
    with connect(settings, read_only=True) as warehouse:
        cleaned = Counter(row[0] for row in warehouse.execute("select event_id from silver.events_cleaned").fetchall())
    produced = [event_id for name in SCENARIOS for event_id in scenarios[name].ids]
    assert [event_id for event_id in produced if cleaned[event_id] != 1] == []
    assert sum(cleaned.values()) == len(produced)


def test_message_timestamps_past_year_9999_land_under_an_unknown_day(
        kafka_broker: KafkaBroker, tmp_path: Path) -> None:
    """A producer's clock is not ours: a timestamp Python cannot turn into a date (past year
    9999) used to crash the consumer; the batch lands under `date=unknown`."""
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = "far-future"
    admin = AdminClient({"bootstrap.servers": kafka_broker.bootstrap})
    # The broker accepts any timestamp on this topic (Kafka 4 refuses those over an hour ahead by default).
    config = {"message.timestamp.after.max.ms": str(2**63 - 1)}
    admin.create_topics([NewTopic(topic, 1, 1, config=config)])[topic].result(timeout=60)
    producer = Producer({"bootstrap.servers": kafka_broker.bootstrap, "acks": "all"})
    year_10000_ms = 253_402_300_800_000
    for n, stamp in enumerate((year_10000_ms, year_10000_ms + 1)):
        producer.produce(topic, json.dumps(valid_event(f"future-{n}", student="s-future")).encode(), timestamp=stamp)
    assert producer.flush(30) == 0

    zone = tmp_path / "zone"
    consumer = ConsumerProcess(kafka_broker, zone, "future-group", (topic,), tmp_path / "consumer.log")
    try:
        wait_for(lambda: len(landed_ids(zone, (topic,))) == 2, timeout=60, what="the far-future batch")
    finally:
        consumer.stop()
    assert [p.parent.name for p in (zone / "kafka" / topic).glob("*/*.jsonl")] == ["date=unknown"]


def test_a_member_given_a_partition_with_nothing_new_reports_no_lag(
        kafka_broker: KafkaBroker, tmp_path: Path) -> None:
    """A member that takes over a partition whose messages are all landed and committed has no
    consumed position there until a new message arrives. The lag gauge used to count from the
    partition's first offset then: a restart with nothing new reported the whole topic as lag."""
    from ingest.kafka.consumer import ConsumerConfig, ZoneConsumer
    from ingest.zone.raw_zone import open_raw_zone

    topics = fresh_topics(kafka_broker, "idle")
    produce(kafka_broker, "idle", 600, topics)
    zone = tmp_path / "zone"
    first = ConsumerProcess(kafka_broker, zone, "idle-group", topics, tmp_path / "first.log")
    wait_for(lambda: sum(landed_ids(zone, topics).values()) == 600, what="every event")
    first.stop()

    member = ZoneConsumer(ConsumerConfig(bootstrap=kafka_broker.bootstrap, topics=list(topics), group="idle-group"),
                          open_raw_zone(str(zone)))
    member.start()
    try:
        wait_for(lambda: member.poll_for(0.5) >= 0 and len(member.consumer.assignment()) == 9,
                 what="the member to own every partition")
        lag = member.refresh_lag()
    finally:
        member.close()
    assert lag == 0, member.lag_metrics_text


def test_a_consumer_stops_when_asked_while_the_broker_is_away(kafka_broker: KafkaBroker, tmp_path: Path) -> None:
    """A batch landed while the broker is away cannot be committed. The consumer retried that
    commit for up to an hour instead of polling, also for partitions it had lost with its
    session: a CI run's consumer landed nothing for 20 minutes after a slow broker restart,
    and SIGTERM could not stop it. Here the broker goes away with a batch open, for longer
    than the 10 s session; the consumer must still stop at once, and a new one, after the
    broker returns, land every event without doubling any."""
    topics = fresh_topics(kafka_broker, "away")
    ids = produce(kafka_broker, "away-a", 600, topics)
    zone = tmp_path / "zone"
    first = ConsumerProcess(kafka_broker, zone, "away-group", topics, tmp_path / "first.log",
                            batch_messages=100_000, batch_seconds=20)
    try:
        wait_for(lambda: READY_LINE in first.log.read_text(errors="replace"), what="the consumer to start")
        time.sleep(5)  # the messages are fetched and batched, to be landed in 20 s
        kafka_broker.stop()
        time.sleep(15)  # the session times out
        first.stop()  # SIGTERM; it must exit 0 within 60 s
    finally:
        if first.process.poll() is None:
            first.kill()
        if not kafka_broker.is_running():
            kafka_broker.start()
    ids += produce(kafka_broker, "away-b", 600, topics)
    second = ConsumerProcess(kafka_broker, zone, "away-group", topics, tmp_path / "second.log")
    try:
        wait_for(lambda: len(landed_ids(zone, topics)) == len(ids), timeout=120, what="every event")
    finally:
        second.stop()
    landed = landed_ids(zone, topics)
    assert set(landed) == set(ids)
    assert [event_id for event_id, copies in landed.items() if copies > 1] == []
