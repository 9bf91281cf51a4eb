"""The API's limits and locations, from flags with environment defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ingest.api.keys import keys_file_from_env


def _env_number(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


@dataclass(frozen=True)
class ApiConfig:
    raw_zone_url: str | None = None
    keys_file: Path = Path("data/api/keys.json")
    max_events: int = 1000
    max_body_bytes: int = 1_048_576
    rate_limit_per_second: float = 5000.0
    rate_limit_burst: float = 10000.0
    rotate_bytes: int = 64 * 1024 * 1024
    rotate_seconds: float = 60.0
    sink: str = "raw_zone"  # or "kafka": accepted events are published instead of written
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = ""
    # Slow clients (slowloris): the request line and headers, then the body, must arrive
    # within these many seconds, or the connection gets 408 and is closed.
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    max_connections: int = 1000  # open connections on the API port; more get 503 at once
    auth_failures_per_minute: float = 30.0  # failed key checks per client address, then 429
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None  # /metrics is served only on this separate listener

    @classmethod
    def from_env(cls) -> "ApiConfig":
        return cls(
            raw_zone_url=os.environ.get("RAW_ZONE_URL") or None,
            keys_file=keys_file_from_env(),
            max_events=int(_env_number("API_MAX_EVENTS", cls.max_events)),
            max_body_bytes=int(_env_number("API_MAX_BODY_BYTES", cls.max_body_bytes)),
            rate_limit_per_second=_env_number("API_RATE_LIMIT", cls.rate_limit_per_second),
            rate_limit_burst=_env_number("API_RATE_BURST", cls.rate_limit_burst),
            rotate_bytes=int(_env_number("API_ROTATE_BYTES", cls.rotate_bytes)),
            rotate_seconds=_env_number("API_ROTATE_SECONDS", cls.rotate_seconds),
            sink=os.environ.get("API_SINK") or cls.sink,
            kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP") or cls.kafka_bootstrap,
            kafka_topic_prefix=os.environ.get("KAFKA_TOPIC_PREFIX") or cls.kafka_topic_prefix,
            header_timeout_seconds=_env_number("API_HEADER_TIMEOUT", cls.header_timeout_seconds),
            body_timeout_seconds=_env_number("API_BODY_TIMEOUT", cls.body_timeout_seconds),
            max_connections=int(_env_number("API_MAX_CONNECTIONS", cls.max_connections)),
            auth_failures_per_minute=_env_number("API_AUTH_FAILURES_PER_MINUTE", cls.auth_failures_per_minute),
            metrics_host=os.environ.get("API_METRICS_HOST") or cls.metrics_host,
            metrics_port=int(os.environ["API_METRICS_PORT"]) if os.environ.get("API_METRICS_PORT") else None,
        )
