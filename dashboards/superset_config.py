"""Apache Superset's configuration for the project's dashboards (SUPERSET_CONFIG_PATH points here).

Superset runs in its own virtual environment (.venv-superset) but reads the project's
settings (ingest/settings.py: port, secret key, metadata folder, warehouse location) and
attaches the warehouse exactly as every other reader does (ingest/warehouse/lake.py):
an in-memory DuckDB with the project's extension folder, the DuckLake attached READ_ONLY
as `lake`. A reader sees one snapshot and never blocks the loader or dbt.

The `Student Behavior warehouse` database's URI is `duckdb:///:memory:`; the attach is
done here, on every new DuckDB connection, so the YAML assets name no path and the same
assets serve a laptop's SQLite catalog or production's PostgreSQL catalog (WAREHOUSE_CATALOG,
WAREHOUSE_DATA_PATH in Superset's environment).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from ingest.settings import Settings  # noqa: E402
from ingest.warehouse.lake import ALIAS, install_extensions, location, sql_literal  # noqa: E402

_settings = Settings.from_env()
_lake = location(_settings)
install_extensions(_settings.extension_dir)
ATTACH_SQL = _lake.attach_sql(read_only=True)

SECRET_KEY = _settings.dashboards.secret_key
SQLALCHEMY_DATABASE_URI = _settings.dashboards.metadata_uri
DATA_DIR = str(_settings.dashboards.home.resolve())
# Jinja in RLS clauses and virtual datasets: `{{ current_username() }}` scopes a teacher.
FEATURE_FLAGS = {"ENABLE_TEMPLATE_PROCESSING": True, "DASHBOARD_RBAC": True}
# Loopback only, no HTTPS: Talisman's HSTS and CSP are for a production deployment behind TLS.
TALISMAN_ENABLED = False
WTF_CSRF_ENABLED = True
# No example data, no telemetry.
SUPERSET_LOAD_EXAMPLES = False
LOG_LEVEL = logging.INFO
SQLLAB_CTAS_NO_LIMIT = True
ROW_LIMIT = 50000


@event.listens_for(Engine, "connect")
def _attach_warehouse(dbapi_connection: Any, _record: Any) -> None:
    """Every DuckDB connection Superset opens gets the warehouse attached, read-only, as `lake`."""
    if type(dbapi_connection).__module__.startswith("duckdb_engine"):
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET extension_directory = {sql_literal(str(_settings.extension_dir.resolve()))}")
        cursor.execute(ATTACH_SQL)
        cursor.execute(f"USE {ALIAS}")
        cursor.close()
