"""The API's configuration: the process's settings, then the flags of `serve` over them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ingest.settings import ApiSettings, Settings


@dataclass(frozen=True, kw_only=True)
class ApiConfig(ApiSettings):
    raw_zone_url: str
    keys_file: Path
    kafka_bootstrap: str

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiConfig:
        return cls(**dataclasses.asdict(settings.api), raw_zone_url=settings.raw_zone_url,
                   keys_file=settings.api_keys_file, kafka_bootstrap=settings.kafka_bootstrap)
