"""The warehouse is a DuckLake: a catalog (SQLite file, or PostgreSQL) plus Parquet data files.

Every process that reads or writes the warehouse (the loader through dlt, dbt through its
profile, `ingest query`, the summary, tests) attaches the same lake under the alias
`lake`. Readers attach it read-only and see one consistent snapshot; they never block
writers and writers never block them.

DuckDB's own extension repository is not needed: the `ducklake`, `sqlite`, `postgres` and
`httpfs` extensions come as PyPI wheels (`duckdb-extension-<name>`, pinned with DuckDB)
and are installed from those files into a project folder (`DUCKDB_EXTENSION_DIR`,
default `.duckdb/extensions`). Without the wheels, they are installed from DuckDB's
repository as usual (that needs the internet).
"""

from __future__ import annotations

import importlib.util
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ingest.errors import InputError
from ingest.settings import Settings

ALIAS = "lake"
# In a PostgreSQL catalog the lake's tables live in this schema (dlt's default: the lake's name).
METADATA_SCHEMA = ALIAS
BUSY_TIMEOUT_MS = 10_000
# extension name in DuckDB -> the PyPI wheel's module that carries it
EXTENSION_WHEELS = {
    "ducklake": "duckdb_extension_ducklake",
    "sqlite_scanner": "duckdb_extension_sqlite",
    "postgres_scanner": "duckdb_extension_postgres",
    "httpfs": "duckdb_extension_httpfs",
}
_installed_into: set[Path] = set()
# Every schema the pipeline writes (dlt's `raw`; dbt's, as dbt_project.yml names them).
SCHEMAS = ("raw", "intermediate", "silver", "gold", "feature_store", "reference", "snapshots", "ops")


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class LakeLocation:
    catalog: str  # DuckLake's metadata string: `sqlite:/path/catalog.sqlite` or `postgres:dbname=... host=...`
    data_path: str  # a folder (absolute, ending in /) or s3://bucket/prefix/

    @property
    def is_embedded(self) -> bool:
        """A SQLite catalog: one writer at a time (its readers are never blocked)."""
        return self.catalog.startswith("sqlite:")

    @property
    def description(self) -> str:
        """Where the lake is, without a password."""
        if self.is_embedded:
            return self.catalog.removeprefix("sqlite:")
        words = [w for w in self.catalog.removeprefix("postgres:").split() if not w.startswith("password=")]
        return "postgres:" + " ".join(words)

    def attach_sql(self, read_only: bool = False, snapshot: int | None = None, encrypted: bool = False) -> str:
        options = [f"DATA_PATH {sql_literal(self.data_path)}", "OVERRIDE_DATA_PATH true"]
        if encrypted and not read_only:
            options.append("ENCRYPTED")
        if self.is_embedded:
            # WAL lets readers in other processes read while a writer commits; a busy catalog
            # is waited for instead of failing at once. dlt's DuckLake destination does the same.
            options += ["META_JOURNAL_MODE 'WAL'", f"META_BUSY_TIMEOUT {BUSY_TIMEOUT_MS}"]
        else:
            options.append(f"METADATA_SCHEMA {sql_literal(METADATA_SCHEMA)}")
        if read_only:
            options.append("READ_ONLY")
        if snapshot is not None:
            options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
        return f"ATTACH IF NOT EXISTS {sql_literal('ducklake:' + self.catalog)} AS {ALIAS} ({', '.join(options)})"


def location(settings: Settings) -> LakeLocation:
    """The embedded lake beside WAREHOUSE_PATH, or the catalog and data path the settings name.

    The same rule is written in profiles/profiles.yml for dbt: keep the two in step.
    """
    embedded = settings.warehouse_path.resolve()
    if embedded.exists() and not embedded.is_file():
        raise InputError(f"WAREHOUSE_PATH={settings.warehouse_path} is a folder; it names the warehouse's catalog "
                         "file, e.g. warehouse/student_behavior.sqlite")
    catalog = settings.warehouse_catalog or f"sqlite:{embedded}"
    data_path = settings.warehouse_data_path or f"{embedded}.files"
    if "://" not in data_path:
        data_path = str(Path(data_path).resolve())
    return LakeLocation(catalog=catalog, data_path=data_path.rstrip("/") + "/")


def _wheel_file(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return None
    found = sorted(Path(spec.origin).parent.glob(f"extensions/v{duckdb.__version__}/*.duckdb_extension"))
    return found[0] if found else None


def extension_file(extension_dir: Path, name: str) -> Path:
    machine = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), platform.machine())
    return extension_dir / f"v{duckdb.__version__}" / f"linux_{machine}" / f"{name}.duckdb_extension"


def install_extensions(extension_dir: Path) -> None:
    """Install the lake's extensions into `extension_dir` once (from the wheels when present)."""
    if extension_dir in _installed_into:
        return
    missing = [name for name in EXTENSION_WHEELS if not extension_file(extension_dir, name).exists()]
    if missing:
        extension_dir.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(config={"extension_directory": str(extension_dir)}) as connection:
            for name in missing:
                wheel = _wheel_file(EXTENSION_WHEELS[name])
                try:
                    connection.execute(f"INSTALL {sql_literal(str(wheel)) if wheel else name}")
                except duckdb.Error as error:
                    raise InputError(
                        f"cannot install DuckDB's {name} extension: {error}. Install the pinned wheels "
                        "(`make setup`), or allow DuckDB to reach its extension repository") from None
    _installed_into.add(extension_dir)


def duckdb_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    return {"extension_directory": str(settings.extension_dir), **extra}


def connect(settings: Settings, read_only: bool = False, snapshot: int | None = None,
            **config: Any) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the warehouse attached as `lake` and in use (`select ... from silver.x`)."""
    install_extensions(settings.extension_dir)
    lake = location(settings)
    if read_only and lake.is_embedded and not Path(lake.catalog.removeprefix("sqlite:")).exists():
        raise InputError(f"no warehouse at {settings.warehouse_path}: run 'make run' or 'python -m ingest files' first")
    new = lake.is_embedded and not Path(lake.catalog.removeprefix("sqlite:")).exists()
    if not read_only and lake.is_embedded:
        Path(lake.catalog.removeprefix("sqlite:")).parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(config=duckdb_config(settings, **config))
    try:
        connection.execute(lake.attach_sql(read_only=read_only, snapshot=snapshot,
                                           encrypted=settings.warehouse_encrypted))
        if new and settings.warehouse_encrypted and not read_only:
            # Encryption covers the Parquet files only: no rows are kept (inlined) in the catalog.
            connection.execute(f"CALL {ALIAS}.set_option('data_inlining_row_limit', 0)")
        connection.execute(f"USE {ALIAS}")
    except BaseException:
        connection.close()
        raise
    return connection


def ensure_schemas(settings: Settings) -> None:
    """Create the pipeline's schemas one after the other, before writers start in parallel.

    dbt creates a run's schemas on several threads at once; on a PostgreSQL catalog two
    DuckLake transactions creating the same schema can leave a later commit naming a schema
    id the catalog does not have ("schema not found in metadata catalog"). Created up front,
    in one connection, there is nothing left to race for."""
    with connect(settings) as connection:
        for schema in SCHEMAS:
            connection.execute(f"create schema if not exists {ALIAS}.{schema}")
