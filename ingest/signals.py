"""Ctrl-C and SIGTERM for the commands that run until stopped (watch, consume, stream)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ingest.output import stamped


@contextmanager
def stop_on_signals(stop: threading.Event, source: str, then: str) -> Iterator[None]:
    """Within the block, Ctrl-C or SIGTERM sets `stop` and says so (`then`: what the command
    does before it stops); a second one aborts at once (KeyboardInterrupt). Handlers can only
    be installed from the main thread: elsewhere (a test running the command in a thread) the
    caller's `stop` is the only way to stop."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        message = stamped(source, f"{signal.Signals(signum).name}: {then} (Ctrl-C again to abort)")
        # os.write, not print: a handler that prints while the main code is printing fails.
        os.write(sys.stderr.fileno(), f"{message}\n".encode())

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
