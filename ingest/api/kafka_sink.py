"""Accepted events to Kafka instead of the raw zone (`serve --sink kafka`): an idempotent
producer (acks=all), and a request is answered only once the broker acknowledged every one
of its events."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

import orjson

VIDEO_TOPIC, QUIZ_TOPIC, CLICKSTREAM_TOPIC = "video", "quiz", "clickstream"


def topic_for(event: dict[str, Any], prefix: str = "") -> str:
    """video_* events to `video`, quiz_attempt to `quiz`, everything else to `clickstream`."""
    event_type = str(event.get("event_type", "")).strip().lower().replace("-", "_").replace(" ", "_")
    if event_type.startswith("video"):
        return prefix + VIDEO_TOPIC
    if event_type.startswith("quiz"):
        return prefix + QUIZ_TOPIC
    return prefix + CLICKSTREAM_TOPIC


@dataclass
class _Deliveries:
    remaining: int
    error: Any = None  # the first delivery error


class KafkaSink:
    def __init__(self, bootstrap: str, topic_prefix: str = "") -> None:
        from confluent_kafka import Producer

        self.topic_prefix = topic_prefix
        self.producer = Producer({
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 2,
            "compression.type": "lz4",
            "message.timeout.ms": 30_000,
        })
        self._running = True
        self._poller = threading.Thread(target=self._poll, name="kafka-delivery-reports", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while self._running:
            self.producer.poll(0.05)

    async def publish(self, events: list[dict[str, Any]]) -> None:
        """Returns once the broker acknowledged every event; raises if any was not."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        state = _Deliveries(remaining=len(events))

        def finish() -> None:
            if not done.done():
                done.set_result(None)

        def delivered(error: Any, _message: Any) -> None:  # on the poller thread
            if error is not None and state.error is None:
                state.error = error
            state.remaining -= 1
            if state.remaining == 0:
                loop.call_soon_threadsafe(finish)

        for event in events:
            student = event.get("student_id")
            while True:
                try:
                    self.producer.produce(topic_for(event, self.topic_prefix), orjson.dumps(event),
                                          key=student.encode() if isinstance(student, str) else None,
                                          on_delivery=delivered)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    await asyncio.sleep(0.005)
        await done
        if state.error is not None:
            raise RuntimeError(f"Kafka did not take the events: {state.error}")

    def close(self) -> None:
        self.producer.flush(30)
        self._running = False
        self._poller.join()
