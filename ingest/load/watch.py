"""`python -m ingest watch DIR`: load the event files dropped into a folder, then archive them.

A file is taken only when it is complete: not a temporary name (`*.tmp`, `*.part`,
dotfiles; uploaders write under such a name and rename, which is atomic), unchanged in
size and mtime for the settle interval, and, when gzipped, whole (every byte is
decompressed, which checks the CRC and length at the end of the stream). Each batch of
ready files is loaded with `load_files` (one dlt load) and only after that load has
committed are its files moved to `ARCHIVE/YYYY-MM-DD/<path under DIR>` (the UTC date of
the load). A file that cannot be read goes to `DIR/failed/` with `<name>.error.txt`
beside it. When the load itself fails (the warehouse is locked by a running dbt build,
the disk is full) the files stay where they are and the next pass tries again; a file
loaded but not yet archived is never loaded twice, as the loader skips known content.
"""

from __future__ import annotations

import gzip
import os
import shutil
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.errors import InputError
from ingest.files.csv_events import is_csv_file
from ingest.files.decompress import GZIP_MAGIC
from ingest.files.raw_files import is_event_file, read_lines
from ingest.output import say
from ingest.settings import Settings
from ingest.signals import stop_on_signals

if TYPE_CHECKING:
    from ingest.load.loader import LoadReport

TEMPORARY_SUFFIXES = (".tmp", ".part")
DEFAULT_INTERVAL_SECONDS = 5.0
DEFAULT_SETTLE_SECONDS = 10.0
# A cap per load, so that a stop request waits for at most one bounded batch.
MAX_FILES_PER_BATCH = 500
GZIP_CHECK_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True)
class WatchConfig:
    folder: Path
    archive: Path
    failed: Path
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS
    settle_seconds: float = DEFAULT_SETTLE_SECONDS
    once: bool = False

    @classmethod
    def for_folder(cls, folder: Path, archive: Path | None = None,
                   interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
                   settle_seconds: float = DEFAULT_SETTLE_SECONDS, once: bool = False) -> WatchConfig:
        """Defaults: archive `DIR/archive`, failed `DIR/failed`; paths resolved, as the loader records them."""
        folder = folder.resolve()
        return cls(folder=folder, archive=(archive or folder / "archive").resolve(), failed=folder / "failed",
                   interval_seconds=interval_seconds, settle_seconds=settle_seconds, once=once)


@dataclass(frozen=True)
class Observation:
    size: int
    mtime_ns: int
    stable_since: float  # wall-clock seconds since which size and mtime have not changed


@dataclass
class PassOutcome:
    files_archived: int = 0
    files_failed: int = 0
    files_waiting: int = 0
    load_failed: bool = False

    @property
    def ok(self) -> bool:
        return not (self.files_failed or self.load_failed)


def is_temporary(name: str) -> bool:
    lowered = name.lower()
    return name.startswith(".") or lowered.endswith(TEMPORARY_SUFFIXES)


class FolderWatcher:
    """Passes over one folder; remembers what it saw so a changing file waits for the next pass."""

    def __init__(self, config: WatchConfig, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.observed: dict[Path, Observation] = {}
        self.mentioned: set[Path] = set()  # files already reported as ignored or waiting

    def run_pass(self, stop: threading.Event) -> PassOutcome:
        """Load and archive every ready file, in batches; a stop request ends it between batches."""
        outcome = PassOutcome()
        ready, waiting = self.ready_files()
        outcome.files_waiting = len(waiting)
        for path in waiting:
            self._mention_once(path, f"waiting for {self._relative(path)}: changed within the last "
                                     f"{self.config.settle_seconds:g}s")
        for start in range(0, len(ready), MAX_FILES_PER_BATCH):
            if stop.is_set():
                break
            self._run_batch(ready[start:start + MAX_FILES_PER_BATCH], outcome)
        return outcome

    def ready_files(self) -> tuple[list[Path], list[Path]]:
        """(files ready to load, files still settling), in folder order."""
        now = time.time()
        ready: list[Path] = []
        waiting: list[Path] = []
        present: set[Path] = set()
        for path in self._candidates():
            try:
                stat = path.stat()
            except FileNotFoundError:  # renamed or removed since the listing
                continue
            present.add(path)
            observation = self._observe(path, stat.st_size, stat.st_mtime_ns, now)
            settled = now - observation.stable_since >= self.config.settle_seconds
            (ready if settled else waiting).append(path)
        self.observed = {path: seen for path, seen in self.observed.items() if path in present}
        return ready, waiting

    def _observe(self, path: Path, size: int, mtime_ns: int, now: float) -> Observation:
        previous = self.observed.get(path)
        if previous and (previous.size, previous.mtime_ns) == (size, mtime_ns):
            return previous
        # First sight: the mtime says since when it is unchanged (this is what lets `--once`
        # work without state), capped at now against clocks ahead. Changed since the last
        # pass: it is being written right now, whatever its mtime claims.
        stable_since = min(mtime_ns / 1e9, now) if previous is None else now
        self.observed[path] = Observation(size=size, mtime_ns=mtime_ns, stable_since=stable_since)
        return self.observed[path]

    def _candidates(self) -> Iterator[Path]:
        """Event files under the folder, skipping temporary names and the archive and failed folders."""
        skipped_dirs = {self.config.archive, self.config.failed}
        for root, dirs, files in os.walk(self.config.folder):
            here = Path(root)
            dirs[:] = sorted(d for d in dirs if not is_temporary(d) and here / d not in skipped_dirs)
            for name in sorted(files):
                path = here / name
                if is_temporary(name):
                    continue
                if not is_event_file(path):
                    self._mention_once(path, f"ignoring {self._relative(path)}: not an event file "
                                             "(.jsonl, .ndjson, .json or .csv, optionally .gz)")
                    continue
                yield path

    def _run_batch(self, batch: list[Path], outcome: PassOutcome) -> None:
        names = ", ".join(str(self._relative(p)) for p in batch[:5]) + (", ..." if len(batch) > 5 else "")
        say("watch", f"{len(batch)} file(s) ready: {names}")
        good: list[Path] = []
        for path in batch:
            error = integrity_error(path)
            if error is None:
                good.append(path)
            else:
                self._move_to_failed(path, error)
                outcome.files_failed += 1
        if not good:
            return
        signatures = {path: self.observed[path] for path in good}
        report = self._load(good)
        if report is None:
            outcome.load_failed = True
            return
        outcome.files_archived += self._archive(good, signatures)

    def _load(self, paths: list[Path]) -> LoadReport | None:
        from ingest.load.loader import load_files

        try:
            report = load_files([str(p) for p in paths], self.settings, show_progress=False)
        except (InputError, OSError) as error:
            when = "next run" if self.config.once else f"in {self.config.interval_seconds:g}s"
            say("watch", f"load failed, {len(paths)} file(s) left in place, trying again {when}: {error}")
            return None
        skipped = f"; {len(report.files_skipped)} already loaded before" if report.files_skipped else ""
        if report.files_loaded:
            say("watch", f"loaded {report.rows:,} lines from {len(report.files_loaded)} file(s) into "
                         f"{self.settings.warehouse_path} in {report.seconds:.1f}s (load id {report.load_id}){skipped}")
        else:
            say("watch", f"nothing new to load{skipped}")
        return report

    def _archive(self, paths: list[Path], signatures: dict[Path, Observation]) -> int:
        """Move the loaded files into the archive; a file rewritten during the load stays for the next pass."""
        day = datetime.now(UTC).date().isoformat()
        archived = 0
        for path in paths:
            try:
                stat = path.stat()
            except FileNotFoundError:
                say("watch", f"{self._relative(path)} disappeared after its load; nothing to archive")
                continue
            seen = signatures[path]
            if (stat.st_size, stat.st_mtime_ns) != (seen.size, seen.mtime_ns):
                say("watch", f"{self._relative(path)} changed during the load; it stays for the next pass")
                continue
            try:
                target = move_without_overwriting(path, self.config.archive / day / self._relative(path))
            except OSError as error:  # loaded all the same: the next pass skips it as known and retries the move
                say("watch", f"cannot archive {self._relative(path)} ({error}); it stays for the next pass")
                continue
            self._forget(path)
            archived += 1
            if len(paths) <= 5:
                say("watch", f"archived {self._relative(path)} -> {target}")
        if len(paths) > 5:
            say("watch", f"archived {archived} file(s) to {self.config.archive / day}")
        return archived

    def _move_to_failed(self, path: Path, error: str) -> None:
        try:
            target = move_without_overwriting(path, self.config.failed / self._relative(path))
        except OSError as move_error:
            say("watch", f"failed: {error}; cannot move it to {self.config.failed} ({move_error}), it stays")
            return
        note = target.with_name(target.name + ".error.txt")
        note.write_text(f"file: {path}\nfailed at: {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}\n"
                        f"error: {error}\n", encoding="utf-8")
        self._forget(path)
        say("watch", f"failed: {error} (moved to {target})")

    def _forget(self, path: Path) -> None:
        """A file moved away; a new file under its name is observed and reported afresh."""
        self.observed.pop(path, None)
        self.mentioned.discard(path)

    def _mention_once(self, path: Path, message: str) -> None:
        if path not in self.mentioned:
            self.mentioned.add(path)
            say("watch", message)

    def _relative(self, path: Path) -> Path:
        return path.relative_to(self.config.folder)


def integrity_error(path: Path) -> str | None:
    """Why the file cannot be loaded, or None: gzip is decompressed to the end, CSV is parsed whole."""
    try:
        if path.name.lower().endswith(".gz"):
            gzip_problem = _gzip_error(path)
            if gzip_problem:
                return gzip_problem
        else:
            with open(path, "rb") as handle:
                handle.read(1)
        if is_csv_file(path):
            for _ in read_lines(path):  # a bad header is an error for the whole file
                pass
    except InputError as error:
        return str(error)
    except OSError as error:
        return f"{path}: cannot read the file ({error.strerror or error})"
    return None


def _gzip_error(path: Path) -> str | None:
    with open(path, "rb") as handle:
        if handle.read(2) != GZIP_MAGIC:
            return f"{path}: not a gzip file, though its name ends in .gz"
    try:
        with gzip.open(path, "rb") as stream:
            while stream.read(GZIP_CHECK_BLOCK):
                pass
    except (OSError, EOFError, zlib.error) as error:
        return f"{path}: incomplete or corrupt gzip file ({error})"
    return None


def move_without_overwriting(source: Path, target: Path) -> Path:
    """Move `source` to `target`, or to `name.2.ext`, `name.3.ext`... when that name is taken."""
    target.parent.mkdir(parents=True, exist_ok=True)
    name = target.name
    extension = "".join(Path(name).suffixes[-2:]) if name.lower().endswith(".gz") else Path(name).suffix
    base = name[: len(name) - len(extension)] if extension else name
    candidate = target
    for number in count(2):
        if not candidate.exists():
            break
        candidate = target.with_name(f"{base}.{number}{extension}")
    shutil.move(str(source), str(candidate))
    return candidate


def watch(config: WatchConfig, settings: Settings, stop: threading.Event | None = None) -> int:
    """Watch until stopped (or one pass with `once`); the exit code is 1 when `once` met a failure."""
    _check_folders(config)
    stop = stop or threading.Event()
    watcher = FolderWatcher(config, settings)
    mode = "one pass" if config.once else f"every {config.interval_seconds:g}s"
    with stop_on_signals(stop, "watch", "stopping after the current batch"):
        say("watch", f"watching {config.folder} ({mode}, settle {config.settle_seconds:g}s); "
                     f"archive {config.archive}, failed {config.failed}")
        while True:
            outcome = watcher.run_pass(stop)
            if config.once or stop.wait(config.interval_seconds):
                break
    if config.once:
        say("watch", f"done: {outcome.files_archived} file(s) archived, {outcome.files_failed} failed, "
                     f"{outcome.files_waiting} still settling (left for the next run)")
    else:
        say("watch", "stopped")
    return 0 if outcome.ok or not config.once else 1


def _check_folders(config: WatchConfig) -> None:
    if not config.folder.is_dir():
        raise InputError(f"{config.folder}: no such folder to watch")
    if config.folder == config.archive or config.folder.is_relative_to(config.archive):
        raise InputError(f"{config.archive}: the archive folder cannot be the watched folder or hold it")
