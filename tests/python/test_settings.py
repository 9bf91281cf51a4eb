"""The environment is read once, into `Settings`; a malformed value is a one-line error
naming its variable, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.api.process import free_port
from ingest.errors import InputError
from ingest.settings import PROJECT_DIR, ApiSettings, DashboardSettings, OrchestrationSettings, Settings


def test_defaults_when_nothing_is_set() -> None:
    settings = Settings.from_env({})
    assert settings == Settings(warehouse_path=Path("warehouse/student_behavior.sqlite"))
    assert (settings.warehouse_catalog, settings.warehouse_data_path, settings.raw_zone_url, settings.kafka_bootstrap,
            settings.api_keys_file, settings.snapshot_retention_days) == (
        None, None, "data/raw_zone", "127.0.0.1:9092", Path("data/api/keys.json"), 7.0)
    assert settings.api == ApiSettings()


def test_every_variable_is_read() -> None:
    environ = {"WAREHOUSE_PATH": "/w/x.sqlite", "WAREHOUSE_CATALOG": "postgres:dbname=w", "WAREHOUSE_DATA_PATH": "s3://d",
               "DUCKDB_EXTENSION_DIR": "/ext", "WAREHOUSE_SNAPSHOT_RETENTION_DAYS": "2", "RAW_ZONE_URL": "s3://b/p",
               "KAFKA_BOOTSTRAP": "k:9", "API_KEYS_FILE": "/k.json", "API_MAX_EVENTS": "1e3",
               "API_MAX_BODY_BYTES": "10", "API_RATE_LIMIT": "1.5", "API_RATE_BURST": "3", "API_ROTATE_BYTES": "7",
               "API_ROTATE_SECONDS": "8", "API_SINK": "kafka", "KAFKA_TOPIC_PREFIX": "t-", "API_HEADER_TIMEOUT": "1",
               "API_BODY_TIMEOUT": "2", "API_MAX_CONNECTIONS": "5", "API_AUTH_FAILURES_PER_MINUTE": "6",
               "API_METRICS_HOST": "0.0.0.0", "API_METRICS_PORT": "9100"}
    settings = Settings.from_env(environ)
    assert settings == Settings(
        warehouse_path=Path("/w/x.sqlite"), warehouse_catalog="postgres:dbname=w", warehouse_data_path="s3://d",
        extension_dir=Path("/ext"), snapshot_retention_days=2, raw_zone_url="s3://b/p", kafka_bootstrap="k:9",
        api_keys_file=Path("/k.json"),
        api=ApiSettings(max_events=1000, max_body_bytes=10, rate_limit_per_second=1.5, rate_limit_burst=3,
                        rotate_bytes=7, rotate_seconds=8, sink="kafka", kafka_topic_prefix="t-",
                        header_timeout_seconds=1, body_timeout_seconds=2, max_connections=5,
                        auth_failures_per_minute=6, metrics_host="0.0.0.0", metrics_port=9100))
    assert settings.pipelines_dir == Path("/w/.dlt-x")


def test_orchestration_settings() -> None:
    assert Settings.from_env({}).orchestration == OrchestrationSettings(
        alert_webhook_url=None, dagster_url="http://127.0.0.1:3000", pipeline_metrics_port=9109,
        raw_partition_lateness_hours=2.0)
    environ = {"ALERT_WEBHOOK_URL": "http://127.0.0.1:1/hook", "DAGSTER_URL": "http://dagster:3000/",
               "PIPELINE_METRICS_PORT": "9200", "RAW_PARTITION_LATENESS_HOURS": "0"}
    assert Settings.from_env(environ).orchestration == OrchestrationSettings(
        alert_webhook_url="http://127.0.0.1:1/hook", dagster_url="http://dagster:3000", pipeline_metrics_port=9200,
        raw_partition_lateness_hours=0.0)


@pytest.mark.parametrize("name,value", [("API_MAX_EVENTS", "lots"), ("API_RATE_LIMIT", "fast"),
                                        ("API_METRICS_PORT", "http"), ("PIPELINE_METRICS_PORT", "x"),
                                        ("RAW_PARTITION_LATENESS_HOURS", "late")])
def test_a_malformed_number_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(InputError, match=f"^{name}='{value}' is not a"):
        Settings.from_env({name: value})


def test_serve_with_a_malformed_limit_says_which_variable_and_exits_2(tmp_path: Path) -> None:
    env = dict(os.environ, API_MAX_EVENTS="lots", API_KEYS_FILE=str(tmp_path / "keys.json"))
    done = subprocess.run([sys.executable, "-m", "ingest", "serve", "--port", str(free_port()),
                           "--raw-zone", str(tmp_path / "zone")],
                          cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == "error: API_MAX_EVENTS='lots' is not a number; set it to one, or unset it " \
                                  "for the default (1000)"


def test_read_api_and_encryption_settings() -> None:
    from ingest.settings import ReadApiSettings

    assert Settings.from_env({}).read_api == ReadApiSettings()
    assert Settings.from_env({}).warehouse_encrypted is False
    settings = Settings.from_env({"READ_API_JWT_SECRET": "s" * 32, "READ_API_JWKS": "/keys.json",
                                  "READ_API_ISSUER": "idp", "READ_API_AUDIENCE": "aud",
                                  "READ_API_REFRESH_SECONDS": "2", "READ_API_MAX_PAGE_SIZE": "50",
                                  "READ_API_MAX_RANGE_DAYS": "31", "WAREHOUSE_ENCRYPTED": "true"})
    assert settings.read_api == ReadApiSettings(jwt_secret="s" * 32, jwks="/keys.json", issuer="idp", audience="aud",
                                                refresh_seconds=2, max_page_size=50, max_range_days=31)
    assert settings.warehouse_encrypted is True
    with pytest.raises(InputError, match="^WAREHOUSE_ENCRYPTED='maybe' is not true or false"):
        Settings.from_env({"WAREHOUSE_ENCRYPTED": "maybe"})


def test_dashboard_settings() -> None:
    assert Settings.from_env({}).dashboards == DashboardSettings()
    assert DashboardSettings().port == 8088 and DashboardSettings().host == "127.0.0.1"
    key = "k" * 32
    settings = Settings.from_env({"SUPERSET_HOST": "0.0.0.0", "SUPERSET_PORT": "9999", "SUPERSET_SECRET_KEY": key,
                                  "SUPERSET_HOME": "/srv/superset"}).dashboards
    assert settings == DashboardSettings(host="0.0.0.0", port=9999, secret_key=key, home=Path("/srv/superset"))
    assert settings.metadata_uri == "sqlite:////srv/superset/superset.db"


@pytest.mark.parametrize("name,value,message", [
    ("SUPERSET_PORT", "http", "^SUPERSET_PORT='http' is not a port number"),
    ("SUPERSET_SECRET_KEY", "short", "^SUPERSET_SECRET_KEY is shorter than 32 characters"),
])
def test_a_bad_dashboard_setting_names_its_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Settings.from_env({name: value})


def test_the_superset_secret_key_is_not_in_the_settings_repr() -> None:
    key = "s3cret-" * 6
    assert key not in repr(Settings.from_env({"SUPERSET_SECRET_KEY": key}))
