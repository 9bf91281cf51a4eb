"""Where things live, from the environment with sensible defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_WAREHOUSE = "warehouse/student_behavior.duckdb"
DEFAULT_LAKE = "data/lake"


@dataclass(frozen=True)
class Settings:
    warehouse_path: Path
    lake_path: Path = Path(DEFAULT_LAKE)

    @property
    def pipelines_dir(self) -> Path:
        """dlt's working folder, one per warehouse so two warehouses never share load state."""
        return self.warehouse_path.parent / f".dlt-{self.warehouse_path.stem}"

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            warehouse_path=Path(os.environ.get("WAREHOUSE_PATH") or DEFAULT_WAREHOUSE),
            lake_path=Path(os.environ.get("LAKE_PATH") or DEFAULT_LAKE),
        )
