"""Writing hand-made event lines as a file the loader takes."""

from __future__ import annotations

from pathlib import Path


def write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
