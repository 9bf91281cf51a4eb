"""Everything the package takes from the environment, read once.

The command line calls `Settings.from_env()` at its entry and passes the result down; no
other module reads these variables, so a default is written once and a command never sees
two values of one setting. Tests and scripts build a `Settings` directly.

Not here: `STUDENT_HASH_SALT` (read inside dbt's own process by the DuckDB plugin, see
warehouse/student_hash_salt.py) and the `AWS_*` variables of S3 (read by boto3, and by
zone/raw_zone.py for the endpoint, as the AWS tools do).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import InputError

# The dbt project this package belongs to: dbt runs here, seeds and macros are read from here.
PROJECT_DIR = Path(__file__).resolve().parent.parent

DEFAULT_WAREHOUSE = "warehouse/student_behavior.sqlite"
# DuckDB's extensions (ducklake, sqlite, postgres, httpfs), installed from their PyPI wheels.
DEFAULT_EXTENSION_DIR = PROJECT_DIR / ".duckdb" / "extensions"
DEFAULT_RAW_ZONE = "data/raw_zone"
DEFAULT_API_KEYS_FILE = "data/api/keys.json"
DEFAULT_KAFKA_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_SUPERSET_HOME = ".tools/superset"
# Superset signs sessions with this key: fine on loopback with demo users, refused in production.
DEMO_SUPERSET_SECRET_KEY = "student-behavior-demo-superset-key"


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name)
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{name}={text!r} is not a number; set it to one, or unset it for the default "
                         f"({default:g})") from None


def _port(environ: Mapping[str, str], name: str) -> int | None:
    text = environ.get(name)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise InputError(f"{name}={text!r} is not a port number; set it to one, or unset it") from None


@dataclass(frozen=True)
class ApiSettings:
    """The tracking API's limits, sink and metrics listener; the flags of `serve` override each."""

    max_events: int = 1000
    max_body_bytes: int = 1_048_576
    rate_limit_per_second: float = 5000.0
    rate_limit_burst: float = 10000.0
    rotate_bytes: int = 64 * 1024 * 1024
    rotate_seconds: float = 60.0
    sink: str = "raw_zone"  # or "kafka": accepted events are published instead of written
    kafka_topic_prefix: str = ""
    # Slow clients (slowloris): the request line and headers, then the body, must arrive
    # within these many seconds, or the connection gets 408 and is closed.
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    max_connections: int = 1000  # open connections on the API port; more get 503 at once
    auth_failures_per_minute: float = 30.0  # failed key checks per client address, then 429
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None  # /metrics is served only on this separate listener

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ApiSettings:
        return cls(
            max_events=int(_number(environ, "API_MAX_EVENTS", cls.max_events)),
            max_body_bytes=int(_number(environ, "API_MAX_BODY_BYTES", cls.max_body_bytes)),
            rate_limit_per_second=_number(environ, "API_RATE_LIMIT", cls.rate_limit_per_second),
            rate_limit_burst=_number(environ, "API_RATE_BURST", cls.rate_limit_burst),
            rotate_bytes=int(_number(environ, "API_ROTATE_BYTES", cls.rotate_bytes)),
            rotate_seconds=_number(environ, "API_ROTATE_SECONDS", cls.rotate_seconds),
            sink=environ.get("API_SINK") or cls.sink,
            kafka_topic_prefix=environ.get("KAFKA_TOPIC_PREFIX") or cls.kafka_topic_prefix,
            header_timeout_seconds=_number(environ, "API_HEADER_TIMEOUT", cls.header_timeout_seconds),
            body_timeout_seconds=_number(environ, "API_BODY_TIMEOUT", cls.body_timeout_seconds),
            max_connections=int(_number(environ, "API_MAX_CONNECTIONS", cls.max_connections)),
            auth_failures_per_minute=_number(environ, "API_AUTH_FAILURES_PER_MINUTE", cls.auth_failures_per_minute),
            metrics_host=environ.get("API_METRICS_HOST") or cls.metrics_host,
            metrics_port=_port(environ, "API_METRICS_PORT"),
        )


def _flag(environ: Mapping[str, str], name: str) -> bool:
    text = (environ.get(name) or "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise InputError(f"{name}={text!r} is not true or false; set it to one of them, or unset it (false)")


@dataclass(frozen=True)
class ReadApiSettings:
    """The read API (readapi/): how its bearer tokens are verified, how often it looks for new data."""

    jwt_secret: str | None = None  # HS256, development: at least 32 characters
    jwks: str | None = None  # RS256, production: a JWKS file or https URL
    issuer: str = "student-behavior-elt"
    audience: str = "student-behavior-read-api"
    refresh_seconds: float = 5.0  # a new warehouse snapshot is served within about this long
    max_page_size: int = 1000
    max_range_days: int = 366

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ReadApiSettings:
        return cls(
            jwt_secret=environ.get("READ_API_JWT_SECRET") or None,
            jwks=environ.get("READ_API_JWKS") or None,
            issuer=environ.get("READ_API_ISSUER") or cls.issuer,
            audience=environ.get("READ_API_AUDIENCE") or cls.audience,
            refresh_seconds=_number(environ, "READ_API_REFRESH_SECONDS", cls.refresh_seconds),
            max_page_size=int(_number(environ, "READ_API_MAX_PAGE_SIZE", cls.max_page_size)),
            max_range_days=int(_number(environ, "READ_API_MAX_RANGE_DAYS", cls.max_range_days)),
        )


@dataclass(frozen=True)
class OrchestrationSettings:
    """Dagster's alerts and the pipeline's metrics (orchestration/, issue 12)."""

    alert_webhook_url: str | None = None  # Slack-compatible incoming webhook; None: alerts are only logged
    dagster_url: str = "http://127.0.0.1:3000"  # the UI, for the run links in alerts
    pipeline_metrics_port: int = 9109  # `make pipeline-metrics` serves /metrics here, on 127.0.0.1
    # Raw hours with no data before the missing-partition check fails; 0 disables it (a quiet night).
    raw_partition_lateness_hours: float = 2.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> OrchestrationSettings:
        return cls(
            alert_webhook_url=environ.get("ALERT_WEBHOOK_URL") or None,
            dagster_url=(environ.get("DAGSTER_URL") or cls.dagster_url).rstrip("/"),
            pipeline_metrics_port=_port(environ, "PIPELINE_METRICS_PORT") or cls.pipeline_metrics_port,
            raw_partition_lateness_hours=_number(environ, "RAW_PARTITION_LATENESS_HOURS",
                                                 cls.raw_partition_lateness_hours),
        )


@dataclass(frozen=True)
class DashboardSettings:
    """Apache Superset of `make dashboards` (dashboards/superset.sh): where it listens, the key it
    signs sessions with, and the folder of its metadata database and logs."""

    host: str = "127.0.0.1"
    port: int = 8088
    secret_key: str = field(default=DEMO_SUPERSET_SECRET_KEY, repr=False)  # never in a log line
    home: Path = Path(DEFAULT_SUPERSET_HOME)

    @property
    def metadata_uri(self) -> str:
        """Superset's own metadata database (users, roles, charts): a SQLite file in `home`."""
        return f"sqlite:///{self.home.resolve() / 'superset.db'}"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> DashboardSettings:
        key = environ.get("SUPERSET_SECRET_KEY") or cls.secret_key
        if len(key) < 32:
            raise InputError("SUPERSET_SECRET_KEY is shorter than 32 characters; set a long random one, "
                             "e.g. $(openssl rand -base64 42), or unset it for the demo key")
        return cls(
            host=environ.get("SUPERSET_HOST") or cls.host,
            port=_port(environ, "SUPERSET_PORT") or cls.port,
            secret_key=key,
            home=Path(environ.get("SUPERSET_HOME") or DEFAULT_SUPERSET_HOME),
        )


@dataclass(frozen=True)
class Settings:
    """`warehouse_path` is the embedded warehouse: the DuckLake catalog (a SQLite file), with
    the data files in `<warehouse_path>.files/`. A production warehouse names its catalog
    in `warehouse_catalog` (DuckLake's `postgres:...` string) and its data in
    `warehouse_data_path` (a folder or s3://bucket/prefix); the loader's working folders and
    locks still live beside `warehouse_path`."""

    warehouse_path: Path
    warehouse_catalog: str | None = None
    warehouse_data_path: str | None = None
    extension_dir: Path = DEFAULT_EXTENSION_DIR
    snapshot_retention_days: float = 7.0  # `ingest maintain` expires older snapshots
    raw_zone_url: str = DEFAULT_RAW_ZONE  # a folder, file:///path or s3://bucket/prefix
    kafka_bootstrap: str = DEFAULT_KAFKA_BOOTSTRAP
    api_keys_file: Path = Path(DEFAULT_API_KEYS_FILE)
    api: ApiSettings = field(default_factory=ApiSettings)
    orchestration: OrchestrationSettings = field(default_factory=OrchestrationSettings)
    read_api: ReadApiSettings = field(default_factory=ReadApiSettings)
    # DuckLake's encrypted data files: set when the lake is created (the catalog keeps each file's key).
    warehouse_encrypted: bool = False
    dashboards: DashboardSettings = field(default_factory=DashboardSettings)

    @property
    def pipelines_dir(self) -> Path:
        """dlt's working folder, one per warehouse so two warehouses never share load state."""
        return self.warehouse_path.parent / f".dlt-{self.warehouse_path.stem}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """The settings of this process; a malformed value is an InputError naming its variable."""
        return cls(
            warehouse_path=Path(environ.get("WAREHOUSE_PATH") or DEFAULT_WAREHOUSE),
            warehouse_catalog=environ.get("WAREHOUSE_CATALOG") or None,
            warehouse_data_path=environ.get("WAREHOUSE_DATA_PATH") or None,
            extension_dir=Path(environ.get("DUCKDB_EXTENSION_DIR") or DEFAULT_EXTENSION_DIR),
            snapshot_retention_days=_number(environ, "WAREHOUSE_SNAPSHOT_RETENTION_DAYS", 7.0),
            raw_zone_url=environ.get("RAW_ZONE_URL") or DEFAULT_RAW_ZONE,
            kafka_bootstrap=environ.get("KAFKA_BOOTSTRAP") or DEFAULT_KAFKA_BOOTSTRAP,
            api_keys_file=Path(environ.get("API_KEYS_FILE") or DEFAULT_API_KEYS_FILE),
            api=ApiSettings.from_environ(environ),
            orchestration=OrchestrationSettings.from_environ(environ),
            read_api=ReadApiSettings.from_environ(environ),
            warehouse_encrypted=_flag(environ, "WAREHOUSE_ENCRYPTED"),
            dashboards=DashboardSettings.from_environ(environ),
        )
