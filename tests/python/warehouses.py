"""Test helpers for embedded warehouses (a DuckLake: the SQLite catalog and its data files)."""

from __future__ import annotations

import shutil
from pathlib import Path


def copy_warehouse(source: Path, target: Path) -> None:
    """A copy that is a warehouse of its own: the catalog (with its WAL files) and the data folder.

    The data path follows the catalog (`<catalog>.files/`, see ingest/warehouse/lake.py), and
    the catalog lists its files relative to it, so the copy reads and writes only its own files."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for file in source.parent.glob(source.name + "*"):
        if file.is_file():
            shutil.copy(file, target.parent / (target.name + file.name.removeprefix(source.name)))
    shutil.copytree(source.parent / f"{source.name}.files", target.parent / f"{target.name}.files")
