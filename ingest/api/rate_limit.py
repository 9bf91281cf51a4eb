"""Per-key token buckets: `rate` requests per second on average, bursts up to `burst`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    rate: float
    burst: float
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def allow(self, key_name: str, now: float | None = None) -> float:
        """0 if the request may go on, else the seconds to wait before the next one may."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key_name)
        if bucket is None:
            bucket = self._buckets[key_name] = _Bucket(tokens=self.burst, updated=now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate
