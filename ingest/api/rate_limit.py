"""Token buckets: `rate` tokens per second on average, bursts up to `burst`.

Used per key (requests) and per client address (failed key checks). Addresses are not a
closed set, so buckets that have refilled are dropped once there are many of them: a full
bucket is the same as no bucket.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

MAX_TRACKED = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    rate: float
    burst: float
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def _refilled(self, key: str, now: float | None) -> _Bucket:
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(tokens=self.burst, updated=now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        return bucket

    def _forget_full(self, now: float) -> None:
        self._buckets = {key: bucket for key, bucket in self._buckets.items()
                         if bucket.tokens + (now - bucket.updated) * self.rate < self.burst}

    def _wait(self, bucket: _Bucket) -> float:
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def allow(self, key: str, now: float | None = None) -> float:
        """Take a token: 0 if the request may go on, else the seconds to wait before the next one may."""
        bucket = self._refilled(key, now)
        wait = self._wait(bucket)
        if not wait:
            bucket.tokens -= 1
        return wait

    def wait(self, key: str, now: float | None = None) -> float:
        """The seconds until `key` has a token (0: it has one now), without taking it."""
        return self._wait(self._refilled(key, now)) if key in self._buckets else 0.0

    def spend(self, key: str, now: float | None = None) -> None:
        """Take a token if there is one (a failure is counted; an empty bucket stays empty)."""
        bucket = self._refilled(key, now)
        bucket.tokens = max(0.0, bucket.tokens - 1)
