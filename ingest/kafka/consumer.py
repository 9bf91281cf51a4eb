"""A Kafka consumer-group member that lands micro-batches in the raw zone, exactly once.

Each batch holds consecutive messages of one partition and is written as one object,
`kafka/<topic>/date=<day of its first message>/<topic>-p<partition>-o<first>-<last>.jsonl`,
atomically (temp file + rename, or one S3 put). Offsets are committed only after the object
is durable. A crash between the two leaves an object whose offsets are not committed: when
the partition is assigned again, the consumer finds that object, and starts after it, so
the zone never holds a message twice. The file name is a function of the offset range, so
a batch that is written again lands on the same name and replaces, never adds.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ingest.output import say
from ingest.zone.raw_zone import RawZone

KAFKA_AREA = "kafka"
BATCH_FILE = re.compile(r"^(?P<topic>.+)-p(?P<partition>\d+)-o(?P<first>\d+)-(?P<last>\d+)\.jsonl$")


@dataclass(frozen=True)
class ConsumerConfig:
    bootstrap: str
    topics: list[str]
    group: str
    batch_messages: int = 50_000
    batch_seconds: float = 5.0

# 9999-12-31T23:59:59.999Z, the last instant a Python datetime can hold.
LAST_DATETIME_MS = 253_402_300_799_999


@dataclass
class _Batch:
    first_offset: int
    first_timestamp_ms: int
    started: float
    lines: list[bytes] = field(default_factory=list)
    last_offset: int = -1


def batch_day(timestamp_ms: int) -> str:
    """The UTC day of a message's timestamp; `unknown` for none (-1) or one past year 9999."""
    if not 0 <= timestamp_ms <= LAST_DATETIME_MS:
        return "unknown"
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def batch_key(topic: str, partition: int, first: int, last: int, timestamp_ms: int) -> str:
    day = batch_day(timestamp_ms)
    return f"{KAFKA_AREA}/{topic}/date={day}/{topic}-p{partition}-o{first:020d}-{last:020d}.jsonl"


def last_landed_offsets(zone: RawZone, topic: str) -> dict[int, int]:
    """partition -> the highest offset already landed in the zone for this topic."""
    landed: dict[int, int] = {}
    for key in zone.list(f"{KAFKA_AREA}/{topic}/"):
        match = BATCH_FILE.match(key.rsplit("/", 1)[-1])
        if match and match["topic"] == topic:
            partition = int(match["partition"])
            landed[partition] = max(landed.get(partition, -1), int(match["last"]))
    return landed


def one_line(value: bytes) -> bytes:
    """A message is one raw line; JSON allows no raw line breaks inside strings, so a line
    break can only be white space between tokens (pretty-printed JSON) and becomes a space."""
    return value.replace(b"\r", b" ").replace(b"\n", b" ")


class ZoneConsumer:
    def __init__(self, config: ConsumerConfig, zone: RawZone) -> None:
        from confluent_kafka import Consumer

        self.config = config
        self.zone = zone
        self.consumer = Consumer({
            "bootstrap.servers": config.bootstrap,
            "group.id": config.group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "session.timeout.ms": 10_000,
            "heartbeat.interval.ms": 1_000,
            "max.poll.interval.ms": 300_000,
            "on_commit": self._on_commit,
        })
        self._batches: dict[tuple[str, int], _Batch] = {}
        self._resume_offsets: dict[tuple[str, int], int] = {}  # where each assigned partition resumes
        self._landed_up_to: dict[tuple[str, int], int] = {}  # the offset after each partition's last landed batch
        self.stop_requested = threading.Event()  # set it (signals.stop_on_signals does) to stop polling
        self.messages_landed = 0
        self.files_written = 0
        self._written_keys: list[str] = []
        self.lag_metrics_text = ""  # what serve_lag_metrics answers; refreshed by refresh_lag()
        self._lag_total = 0

    # partition ownership
    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        committed = {(p.topic, p.partition): p.offset for p in consumer.committed(partitions, timeout=10)}
        landed_by_topic = {topic: last_landed_offsets(self.zone, topic) for topic in {p.topic for p in partitions}}
        for partition in partitions:
            landed = landed_by_topic[partition.topic].get(partition.partition, -1)
            start = committed.get((partition.topic, partition.partition), -1001)
            if landed >= 0 and landed + 1 > start:
                # Written but not committed before a crash or a lost rebalance: skip it, and say so.
                partition.offset = landed + 1
                say("consume", f"{partition.topic}[{partition.partition}] resumes after offset {landed}, "
                               "already in the raw zone")
            self._resume_offsets[(partition.topic, partition.partition)] = max(partition.offset, start)
        consumer.assign(partitions)

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        for partition in partitions:
            self._flush((partition.topic, partition.partition))
        self._forget({(partition.topic, partition.partition) for partition in partitions})

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        """Partitions lost with the session (the broker away longer than it): the group may
        have given them to another member already, which reads the zone when it takes them,
        so a batch landed now could overlap its own. Their open batches are dropped instead:
        neither landed nor committed, they are read again by the partition's next owner."""
        gone = {(partition.topic, partition.partition) for partition in partitions}
        dropped = sum(len(batch.lines) for tp, batch in self._batches.items() if tp in gone)
        if dropped:
            say("consume", f"{len(partitions)} partitions lost with the session; {dropped:,} messages not yet "
                           "landed are read again by their next owner")
        self._forget(gone)

    def _forget(self, gone: set[tuple[str, int]]) -> None:
        self._batches = {tp: batch for tp, batch in self._batches.items() if tp not in gone}
        self._landed_up_to = {tp: offset for tp, offset in self._landed_up_to.items() if tp not in gone}

    # batches
    def _flush(self, topic_partition: tuple[str, int], commit: bool = True) -> None:
        from confluent_kafka import TopicPartition

        batch = self._batches.pop(topic_partition, None)
        if batch is None or not batch.lines:
            return
        topic, partition = topic_partition
        key = batch_key(topic, partition, batch.first_offset, batch.last_offset, batch.first_timestamp_ms)
        self.zone.write_object(key, b"\n".join(batch.lines) + b"\n")
        self._landed_up_to[topic_partition] = batch.last_offset + 1
        if commit:
            self._commit(TopicPartition(topic, partition, batch.last_offset + 1))
        self.messages_landed += len(batch.lines)
        self.files_written += 1
        self._written_keys.append(key)

    def _commit(self, offset: Any) -> None:
        """Commit without waiting: a commit only saves the next owner of the partition a look
        at the zone. While the broker is away a waiting commit blocked the poll loop, so the
        member lost its partitions and, committing in that revoke, never rejoined. A commit
        that fails is logged by `_on_commit`; the next one, or the next assignment, starts
        after the landed batch."""
        from confluent_kafka import KafkaException

        try:
            self.consumer.commit(offsets=[offset], asynchronous=True)
        except KafkaException as exception:
            self._commit_failed(exception.args[0], [offset])

    def _on_commit(self, error: Any, offsets: list[Any]) -> None:
        if error is not None:
            self._commit_failed(error, offsets)

    def _commit_failed(self, error: Any, offsets: list[Any]) -> None:
        from confluent_kafka import KafkaError, KafkaException

        if error.fatal() or error.code() in (KafkaError.GROUP_AUTHORIZATION_FAILED,
                                             KafkaError.TOPIC_AUTHORIZATION_FAILED):
            raise KafkaException(error)
        partitions = ", ".join(f"{offset.topic}[{offset.partition}]" for offset in offsets)
        if error.code() in (KafkaError.UNKNOWN_MEMBER_ID, KafkaError.ILLEGAL_GENERATION,
                            KafkaError.REBALANCE_IN_PROGRESS):
            say("consume", f"{partitions} moved to another member before its commit; it resumes after the landed batch")
        else:
            say("consume", f"commit of {partitions} failed ({error.str()}); the batch is landed, and the next "
                           "commit or assignment starts after it")

    def take_written_keys(self) -> list[str]:
        """Keys landed since the last call, for loading just those."""
        keys, self._written_keys = self._written_keys, []
        return keys

    def flush_all(self, commit: bool = True) -> None:
        for topic_partition in list(self._batches):
            self._flush(topic_partition, commit=commit)

    def _flush_due(self) -> None:
        now = time.monotonic()
        for topic_partition, batch in list(self._batches.items()):
            if len(batch.lines) >= self.config.batch_messages or now - batch.started >= self.config.batch_seconds:
                self._flush(topic_partition)

    def _take(self, message: Any) -> None:
        topic_partition = (message.topic(), message.partition())
        batch = self._batches.get(topic_partition)
        if batch is None:
            batch = self._batches[topic_partition] = _Batch(
                first_offset=message.offset(), first_timestamp_ms=message.timestamp()[1], started=time.monotonic())
        elif message.offset() != batch.last_offset + 1:
            # A gap (compaction, aborted transaction markers): close the batch so names stay exact ranges.
            self._flush(topic_partition)
            self._take(message)
            return
        value = message.value()
        batch.lines.append(one_line(value) if value is not None else b"")
        batch.last_offset = message.offset()

    # running
    def start(self) -> None:
        self.consumer.subscribe(self.config.topics, on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_lost)

    def poll_for(self, seconds: float) -> int:
        """Consume for up to `seconds`, landing due batches; the number of messages taken."""
        from confluent_kafka import KafkaError

        taken = 0
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            timeout = min(0.5, max(0.01, deadline - time.monotonic()))
            for message in self.consumer.consume(num_messages=5000, timeout=timeout):
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        say("consume", str(error))
                    continue
                self._take(message)
                taken += 1
            self._flush_due()
        return taken

    def lag(self) -> dict[tuple[str, int], int] | None:
        """Messages in the broker not yet landed, per partition this member owns; None while
        the broker does not answer (asking each partition in turn would hold up polling)."""
        from confluent_kafka import KafkaException

        lags = {}
        for partition in self.consumer.assignment():
            try:
                low, high = self.consumer.get_watermark_offsets(partition, timeout=5, cached=False)
                position = self.consumer.position([partition])[0].offset
            except KafkaException:
                return None
            key = (partition.topic, partition.partition)
            # A partition taken over with nothing new has no position until its next message;
            # until then the group has landed up to where this member resumes it.
            landed = next((offset for offset in (position, self._resume_offsets.get(key, -1)) if offset >= 0), low)
            batch = self._batches.get(key)
            pending = len(batch.lines) if batch else 0
            lags[key] = max(0, high - landed) + pending
        return lags

    def refresh_lag(self) -> int:
        """Measure the lag, keep it as Prometheus text for /metrics, return its total; while the
        broker is away, the last reading stays."""
        lags = self.lag()
        if lags is not None:
            self.lag_metrics_text = render_lag_metrics(self, lags)
            self._lag_total = sum(lags.values())
        return self._lag_total

    @property
    def stopping(self) -> bool:
        return self.stop_requested.is_set()

    def close(self) -> None:
        """Land what is batched, commit it (waiting, once), leave the group."""
        from confluent_kafka import KafkaException, TopicPartition

        try:
            self.flush_all(commit=False)
            owned = {(partition.topic, partition.partition) for partition in self.consumer.assignment()}
            offsets = [TopicPartition(topic, partition, offset)
                       for (topic, partition), offset in self._landed_up_to.items() if (topic, partition) in owned]
            if offsets:
                try:
                    self.consumer.commit(offsets=offsets, asynchronous=False)
                except KafkaException as exception:
                    self._commit_failed(exception.args[0], offsets)
        finally:
            self.consumer.close()


def serve_lag_metrics(consumer: ZoneConsumer, port: int) -> ThreadingHTTPServer:
    """`GET /metrics` on 127.0.0.1:port: the consumer's latest lag reading, Prometheus text."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            body = consumer.lag_metrics_text.encode()
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("content-type", "text/plain; version=0.0.4")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def render_lag_metrics(consumer: ZoneConsumer, lags: dict[tuple[str, int], int]) -> str:
    group = consumer.config.group
    lines = ["# HELP kafka_consumer_lag_messages Messages in the broker not yet landed in the raw zone.",
             "# TYPE kafka_consumer_lag_messages gauge"]
    lines += [f'kafka_consumer_lag_messages{{group="{group}",topic="{topic}",partition="{partition}"}} {lag}'
              for (topic, partition), lag in sorted(lags.items())]
    lines += ["# HELP kafka_consumer_landed_messages_total Messages landed in the raw zone by this member.",
              "# TYPE kafka_consumer_landed_messages_total counter",
              f'kafka_consumer_landed_messages_total{{group="{group}"}} {consumer.messages_landed}']
    return "\n".join(lines) + "\n"
