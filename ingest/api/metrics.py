"""Counters and a latency histogram in the Prometheus text format (version 0.0.4)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

FSYNC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


@dataclass
class Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    samples: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        self.total += value
        self.samples += 1
        for index, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[index] += 1

    def lines(self, name: str) -> list[str]:
        out = [f'{name}_bucket{{le="{bound}"}} {count}' for bound, count in zip(self.buckets, self.counts, strict=True)]
        out += [f'{name}_bucket{{le="+Inf"}} {self.samples}', f"{name}_sum {self.total:.6f}",
                f"{name}_count {self.samples}"]
        return out


@dataclass
class Metrics:
    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    events_accepted: int = 0
    events_rejected: Counter[str] = field(default_factory=Counter)
    request_bytes: int = 0
    bytes_written: int = 0
    fsync_seconds: Histogram = field(default_factory=lambda: Histogram(FSYNC_BUCKETS))
    flush_batch_events: int = 0
    read_timeouts: Counter[str] = field(default_factory=Counter)
    connections_open: int = 0  # on the API port (the metrics listener is not counted)
    connections_refused: int = 0

    def render(self, keys_active: int) -> str:
        lines = [
            "# HELP track_http_requests_total HTTP requests by method, path and status.",
            "# TYPE track_http_requests_total counter",
            *(f'track_http_requests_total{{method="{m}",path="{p}",status="{s}"}} {n}'
              for (m, p, s), n in sorted(self.requests.items())),
            "# HELP track_events_accepted_total Events written to the raw zone.",
            "# TYPE track_events_accepted_total counter",
            f"track_events_accepted_total {self.events_accepted}",
            "# HELP track_events_rejected_total Events refused at the edge, by contract reason.",
            "# TYPE track_events_rejected_total counter",
            *(f'track_events_rejected_total{{reason="{reason}"}} {n}'
              for reason, n in sorted(self.events_rejected.items())),
            "# HELP track_request_bytes_total Bytes of request bodies received on /v1/track.",
            "# TYPE track_request_bytes_total counter",
            f"track_request_bytes_total {self.request_bytes}",
            "# HELP track_raw_zone_bytes_written_total Bytes appended to the raw zone.",
            "# TYPE track_raw_zone_bytes_written_total counter",
            f"track_raw_zone_bytes_written_total {self.bytes_written}",
            "# HELP track_fsync_seconds Time to make one group of requests durable (write + fsync).",
            "# TYPE track_fsync_seconds histogram",
            *self.fsync_seconds.lines("track_fsync_seconds"),
            "# HELP track_read_timeouts_total Connections closed (408) because the request headers or body came "
            "too slowly.",
            "# TYPE track_read_timeouts_total counter",
            *(f'track_read_timeouts_total{{phase="{phase}"}} {n}' for phase, n in sorted(self.read_timeouts.items())),
            "# HELP track_connections_open Connections open on the API port.",
            "# TYPE track_connections_open gauge",
            f"track_connections_open {self.connections_open}",
            "# HELP track_connections_refused_total Connections answered 503 at once: too many open.",
            "# TYPE track_connections_refused_total counter",
            f"track_connections_refused_total {self.connections_refused}",
            "# HELP track_api_keys_active Active API keys (0: every POST gets 401).",
            "# TYPE track_api_keys_active gauge",
            f"track_api_keys_active {keys_active}",
        ]
        return "\n".join(lines) + "\n"
