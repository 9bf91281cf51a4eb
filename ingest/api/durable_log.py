"""Append-only part files in the raw zone, durable before a request is answered.

Requests hand their lines to a `GroupCommitter`; one writer thread appends everything that
queued up while the previous fsync ran, fsyncs once, then answers all of them: one fsync per
group, not per request. In a local zone, part files are written as `part-*.jsonl.open`
(held open through `RawZone.open_append`) and renamed to `part-*.jsonl` when rotated (by
size, age, or the UTC date), so `ingest files` never loads a file that is still growing. On
S3 every group is one new object (objects cannot be appended).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from ingest.api.metrics import Metrics
from ingest.zone.durable import AppendFile
from ingest.zone.raw_zone import RawZone

OPEN_SUFFIX = ".open"
# The keys a crash can leave open, below an area: `date=YYYY-MM-DD/part-*.jsonl.open`.
OPEN_PART = re.compile(r"date=[^/]*/part-[^/]*\.jsonl" + re.escape(OPEN_SUFFIX))


@dataclass
class _OpenPart:
    key: str
    file: AppendFile
    day: str
    opened: float


class PartLog:
    """One area (`api`, `rejected/api`) of the raw zone: `<area>/date=YYYY-MM-DD/part-*.jsonl`."""

    def __init__(self, area: str, zone: RawZone, rotate_bytes: int, rotate_seconds: float) -> None:
        self.area = area
        self.zone = zone
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self._current: _OpenPart | None = None
        self._sequence = 0

    def _part_name(self, now: datetime) -> str:
        self._sequence += 1
        return f"part-{now:%Y%m%dT%H%M%S}-{os.getpid()}-{self._sequence:06d}.jsonl"

    def write(self, data: bytes, now: datetime) -> None:
        """Append `data` (whole lines) durably. Runs on the writer thread."""
        day = f"{now:%Y-%m-%d}"
        if not self.zone.supports_append:
            self.zone.write_object(f"{self.area}/date={day}/{self._part_name(now)}", data)
            return
        part = self._current
        if part is not None and (part.day != day or part.file.size >= self.rotate_bytes
                                 or time.monotonic() - part.opened >= self.rotate_seconds):
            self.close()
            part = None
        if part is None:
            key = f"{self.area}/date={day}/{self._part_name(now)}{OPEN_SUFFIX}"
            part = self._current = _OpenPart(key=key, file=self.zone.open_append(key), day=day,
                                             opened=time.monotonic())
        part.file.append(data)

    def rotate_if_old(self) -> None:
        if self._current is not None and time.monotonic() - self._current.opened >= self.rotate_seconds:
            self.close()

    def close(self) -> None:
        """Finish the current part: its final name makes it loadable."""
        part, self._current = self._current, None
        if part is None:
            return
        part.file.close()
        self.zone.move(part.key, part.key.removesuffix(OPEN_SUFFIX))

    def recover(self) -> None:
        """Finish parts a crash left open. A torn last line was never acknowledged: cut it."""
        if not self.zone.supports_append:
            return
        for key in self.zone.list(f"{self.area}/"):
            if not OPEN_PART.fullmatch(key.removeprefix(f"{self.area}/")):
                continue
            data = self.zone.read(key)
            keep = data.rfind(b"\n") + 1
            if keep == 0:
                self.zone.delete(key)
                continue
            if keep < len(data):
                self.zone.truncate(key, keep)
            self.zone.move(key, key.removesuffix(OPEN_SUFFIX))


@dataclass
class _Pending:
    lines_by_area: dict[str, bytes]
    done: asyncio.Future[None]


class GroupCommitter:
    """Queues lines from concurrent requests and makes each group durable with one fsync."""

    def __init__(self, logs: dict[str, PartLog], metrics: Metrics) -> None:
        self.logs = logs
        self.metrics = metrics
        self._pending: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-zone-writer")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        for log in self.logs.values():
            log.recover()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def submit(self, lines_by_area: dict[str, bytes]) -> None:
        """Returns once every line is durable in the raw zone; raises if it could not be."""
        if self._closing:
            raise RuntimeError("the server is shutting down")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(lines_by_area, done))
        self._wakeup.set()
        await done

    def _write_group(self, group: list[_Pending]) -> int:
        now = datetime.now(UTC)
        written = 0
        for area, log in self.logs.items():
            data = b"".join(item.lines_by_area.get(area, b"") for item in group)
            if data:
                log.write(data, now)
                written += len(data)
        return written

    def _rotate(self) -> None:
        for log in self.logs.values():
            log.rotate_if_old()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=1.0)
            except TimeoutError:
                await loop.run_in_executor(self._thread, self._rotate)
                continue
            self._wakeup.clear()
            group, self._pending = self._pending, []
            if group:
                started = time.perf_counter()
                try:
                    written = await loop.run_in_executor(self._thread, self._write_group, group)
                except Exception as error:  # a full disk or a lost S3 endpoint: no request may get a 200
                    for item in group:
                        item.done.set_exception(error)
                    continue
                self.metrics.fsync_seconds.observe(time.perf_counter() - started)
                self.metrics.bytes_written += written
                for item in group:
                    if not item.done.done():
                        item.done.set_result(None)
            if self._closing and not self._pending:
                return

    async def close(self) -> None:
        """Write what is queued, then finish every open part."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        loop = asyncio.get_running_loop()
        for log in self.logs.values():
            await loop.run_in_executor(self._thread, log.close)
        self._thread.shutdown(wait=True)
