"""The sample generator: deterministic, contract-shaped, dirty where it should be."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import orjson

from ingest.sample.generate import TOPICS, GenerateConfig, generate


def config(out: Path, **overrides: object) -> GenerateConfig:
    values: dict[str, object] = dict(students=40, days=3, start=date(2025, 11, 10), seed=5, out=out)
    values.update(overrides)
    return GenerateConfig(**values)  # type: ignore[arg-type]


def read_all(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.gz"))}


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    generate(config(tmp_path / "a"), progress=False)
    generate(config(tmp_path / "b", workers=1), progress=False)

    assert read_all(tmp_path / "a") == read_all(tmp_path / "b")


def test_files_follow_the_raw_zone_layout(tmp_path: Path) -> None:
    report = generate(config(tmp_path), progress=False)

    for name in report.files:
        relative = Path(name).relative_to(tmp_path)
        assert relative.parts[0] in TOPICS
        assert relative.parts[1].startswith("date=2025-11-1")
        assert relative.name.startswith("part-") and relative.name.endswith(".jsonl.gz")


def test_events_follow_the_contract_and_some_are_dirty(tmp_path: Path) -> None:
    report = generate(config(tmp_path, students=200, dirty_rate=0.05), progress=False)
    lines = [line for path in report.files for line in gzip.decompress(Path(path).read_bytes()).splitlines()]

    parsed = []
    for line in lines:
        try:
            parsed.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    events = [e for e in parsed if isinstance(e, dict)]
    assert len(lines) == report.events
    assert report.dirty > 0 and report.duplicates > 0
    assert len(events) < len(lines)  # some malformed lines
    types = {e.get("event_type") for e in events}
    assert {"page_view", "video_play", "video_progress", "quiz_attempt", "login"} <= types
    assert any(isinstance(e.get("metadata"), dict) and "scroll_depth" in e["metadata"] for e in events)
