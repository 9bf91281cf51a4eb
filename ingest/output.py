"""What commands say on stderr while they work; their results go to stdout.

Two kinds of line, nothing else:

- `Progress`, for work of known size (a load, a generation, a dbt build): one line redrawn
  in place (`\\r`) on a terminal, at most every `TERMINAL_SECONDS`. When stderr is a file or
  a pipe (CI, `make`, a scheduler) a `\\r` would pile every update onto one unreadable line,
  so a plain line is written at most every `LOG_SECONDS`, and one at the end.
- `say`, for what happens along the way, and for commands that run until stopped (watch,
  consume, stream, serve): one line stamped with the UTC time and who says it, so their
  log reads on its own.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import TextIO

TERMINAL_SECONDS = 0.2
LOG_SECONDS = 10.0


class Progress:
    def __init__(self, label: str, total: int | None = None, unit: str = "files", item_unit: str = "lines",
                 enabled: bool = True, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.item_unit = item_unit
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.is_terminal = self.stream.isatty()
        self.started = time.monotonic()
        self.done_count = 0
        self.items = 0
        self._last_shown = float("-inf")
        self._dirty = False

    def advance(self, done: int = 0, items: int = 0) -> None:
        self.done_count += done
        self.items += items
        self._dirty = True
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_shown >= (TERMINAL_SECONDS if self.is_terminal else LOG_SECONDS):
            self._show(now)

    def finish(self) -> None:
        if self.enabled and self._dirty:
            self._show(time.monotonic())
        if self.enabled and self.is_terminal and self._last_shown > float("-inf"):
            print(file=self.stream, flush=True)

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.started
        of_total = f"/{self.total:,}" if self.total is not None else ""
        counts = f"{self.done_count:,}{of_total} {self.unit}, {self.items:,} {self.item_unit}"
        return f"{self.label}: {counts}, {elapsed:.1f}s"

    def _show(self, now: float) -> None:
        self._last_shown = now
        self._dirty = False
        if self.is_terminal:
            print(f"\r{self.line(now)}", end="", file=self.stream, flush=True)
        else:
            print(self.line(now), file=self.stream, flush=True)


def stamped(source: str, message: str) -> str:
    return f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {source}: {message}"


def say(source: str, message: str) -> None:
    """One stamped line on stderr, e.g. `2026-11-25T08:00:00Z watch: stopped`."""
    print(stamped(source, message), file=sys.stderr, flush=True)
