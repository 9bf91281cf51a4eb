"""Smoke test of the development Kafka broker (scripts/kafka/kafka.sh): a real KRaft broker,
an idempotent producer, a consumer group, and a broker restart that keeps messages and offsets."""

from __future__ import annotations

import json
import time

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from kafka_broker import KafkaBroker, broker_fixture

kafka_broker = broker_fixture(scope="module")

TOPIC = "learning-events-smoke"
PARTITIONS = 3
MESSAGES = 100


def _consumer(broker: KafkaBroker, group: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 10000,
        }
    )


def _consume(consumer: Consumer, count: int, timeout: float = 60) -> list[Message]:
    """Poll until count messages arrived (fails on a timeout or a consumer error)."""
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    while len(messages) < count:
        assert time.monotonic() < deadline, f"got {len(messages)} of {count} messages in {timeout}s"
        for message in consumer.consume(num_messages=count - len(messages), timeout=1.0):
            error = message.error()
            if error is not None:
                assert error.code() == KafkaError._PARTITION_EOF, error
                continue
            messages.append(message)
    return messages


def _seqs(messages: list[Message]) -> list[int]:
    return [json.loads(m.value() or b"null")["seq"] for m in messages]


def test_produce_consume_and_survive_a_restart(kafka_broker: KafkaBroker) -> None:
    kafka_broker.create_topic(TOPIC, PARTITIONS)

    failures: list[KafkaError] = []
    delivered: list[Message] = []

    def on_delivery(error: KafkaError | None, message: Message) -> None:
        if error is not None:
            failures.append(error)
        else:
            delivered.append(message)

    producer = Producer(
        {
            "bootstrap.servers": kafka_broker.bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
        }
    )
    for seq in range(MESSAGES):
        producer.produce(
            TOPIC,
            key=f"student-{seq % 10}",
            value=json.dumps({"seq": seq}),
            on_delivery=on_delivery,
        )
    assert producer.flush(30) == 0
    assert failures == []
    assert len(delivered) == MESSAGES
    assert {m.partition() for m in delivered} == set(range(PARTITIONS))

    consumer = _consumer(kafka_broker, "smoke-group")
    consumer.subscribe([TOPIC])
    messages = _consume(consumer, MESSAGES)
    assert sorted(_seqs(messages)) == list(range(MESSAGES))
    for partition in range(PARTITIONS):  # one key per partition order: produced order is kept
        seqs = _seqs([m for m in messages if m.partition() == partition])
        assert seqs == sorted(seqs)
    consumer.commit(asynchronous=False)
    partitions = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
    committed = {tp.partition: tp.offset for tp in consumer.committed(partitions, timeout=10)}
    assert sum(committed.values()) == MESSAGES
    consumer.close()

    kafka_broker.restart()
    assert kafka_broker.is_running()

    # The group's committed offsets survived: the same group resumes after the 100 messages and
    # gets only what is produced now (by the same idempotent producer, reconnected).
    consumer = _consumer(kafka_broker, "smoke-group")
    assert {tp.partition: tp.offset for tp in consumer.committed(partitions, timeout=30)} == committed
    producer.produce(TOPIC, key="student-0", value=json.dumps({"seq": MESSAGES}), on_delivery=on_delivery)
    assert producer.flush(60) == 0
    assert failures == []
    consumer.subscribe([TOPIC])
    assert _seqs(_consume(consumer, 1)) == [MESSAGES]
    assert consumer.consume(num_messages=10, timeout=2.0) == []
    consumer.close()

    # The messages survived: a new group reads all of them from the start.
    consumer = _consumer(kafka_broker, "smoke-group-after-restart")
    consumer.subscribe([TOPIC])
    assert sorted(_seqs(_consume(consumer, MESSAGES + 1))) == list(range(MESSAGES + 1))
    consumer.close()

    kafka_broker.stop()
    assert not kafka_broker.is_running()
