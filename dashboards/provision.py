"""Superset's content as code: import the YAML assets, apply roles, users and row-level security.

Runs in .venv-superset inside Superset's application context (dashboards/superset.sh calls it):

    python dashboards/provision.py import     dashboards/assets/ -> Superset (overwrites)
    python dashboards/provision.py security   dashboards/security.yaml -> roles, users, RLS rules
    python dashboards/provision.py export     Superset -> dashboards/assets/ (what the UI changed)

Superset's own export holds databases, datasets, charts and dashboards but no roles, users
or row-level security rules: those live in security.yaml and are applied on every start,
replacing the rules of the same name (a rule removed from the file is removed from Superset).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ASSETS = HERE / "assets"
SECURITY = HERE / "security.yaml"
ADMIN = "admin"


class ProvisionError(Exception):
    """A problem in assets/ or security.yaml a person fixes; printed as one line."""


def _bundle(folder: Path) -> dict[str, str]:
    """The assets as Superset's importer wants them: `<kind>/<file>.yaml` -> text."""
    if not (folder / "metadata.yaml").is_file():
        raise ProvisionError(f"{folder} has no metadata.yaml: it is not a Superset export")
    return {str(path.relative_to(folder)): path.read_text()
            for path in sorted(folder.rglob("*.yaml"))}


def import_assets(folder: Path = ASSETS) -> int:
    from flask import g
    from superset import security_manager
    from superset.commands.chart.importers.v1 import ImportChartsCommand
    from superset.commands.dashboard.importers.v1 import ImportDashboardsCommand
    from superset.commands.database.importers.v1 import ImportDatabasesCommand
    from superset.commands.dataset.importers.v1 import ImportDatasetsCommand
    from superset.commands.exceptions import CommandInvalidError

    contents = _bundle(folder)
    g.user = security_manager.find_user(username=ADMIN)
    # A dashboard's importer never overwrites the databases, datasets and charts it names:
    # each kind is imported on its own first, overwriting, with what it depends on.
    steps = (("Database", ("databases/",), ImportDatabasesCommand),
             ("SqlaTable", ("databases/", "datasets/"), ImportDatasetsCommand),
             ("Slice", ("databases/", "datasets/", "charts/"), ImportChartsCommand),
             ("Dashboard", ("databases/", "datasets/", "charts/", "dashboards/"), ImportDashboardsCommand))
    try:
        for kind, folders, command in steps:
            part = {name: text for name, text in contents.items() if name.startswith(folders)}
            part["metadata.yaml"] = yaml.safe_dump({**yaml.safe_load(contents["metadata.yaml"]), "type": kind})
            command(part, overwrite=True).run()
    except CommandInvalidError as error:
        raise ProvisionError(f"{folder} does not import: {error.normalized_messages()}") from None
    print(f"provision: imported {len(contents) - 1} assets from {folder}")
    return 0


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (a virtual dataset's SQL) as YAML blocks, so a diff reads like SQL."""


def _string(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    block = "\n" in text and not any(line != line.rstrip() for line in text.splitlines())
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if block else None)


_BlockDumper.add_representer(str, _string)


def readable_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, width=110, allow_unicode=True)


def export_assets(folder: Path = ASSETS) -> int:
    from flask import g
    from superset import db, security_manager
    from superset.commands.dashboard.export import ExportDashboardsCommand
    from superset.models.dashboard import Dashboard

    g.user = security_manager.find_user(username=ADMIN)
    ids = [id_ for (id_,) in db.session.query(Dashboard.id).all()]
    # Superset names files after ids, which differ between instances: a file keeps the name it
    # has in the folder (found by its uuid), so an export changes only what the UI changed.
    known = {}
    for path in folder.rglob("*.yaml"):
        uuid = (yaml.safe_load(path.read_text()) or {}).get("uuid")
        if uuid:
            known[str(uuid)] = str(path.relative_to(folder))
    files: dict[str, str] = {}
    for name, content in ExportDashboardsCommand(ids).run():
        data = yaml.safe_load(content())
        if isinstance(data.get("params"), dict):
            data["params"].pop("datasource", None)  # an id of this instance; dataset_uuid names the dataset
        files[known.get(str(data.get("uuid")), name)] = readable_yaml(data)
    # The whole export is read before the folder is replaced.
    shutil.rmtree(folder, ignore_errors=True)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"provision: exported {len(ids)} dashboards ({len(files)} files) to {folder}")
    return 0


def _load_security(path: Path) -> dict[str, Any]:
    try:
        spec = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ProvisionError(f"cannot read {path}: {error}") from None
    for key in ("roles", "users", "dashboards", "row_level_security"):
        if not isinstance(spec.get(key), list):
            raise ProvisionError(f"{path}: '{key}' must be a list")
    return spec


def apply_security(path: Path = SECURITY) -> int:
    from superset import db, security_manager
    from superset.connectors.sqla.models import RowLevelSecurityFilter, SqlaTable
    from superset.models.dashboard import Dashboard

    spec = _load_security(path)
    tables = {table.table_name: table for table in db.session.query(SqlaTable).all()}

    def table(name: str) -> SqlaTable:
        if name not in tables:
            raise ProvisionError(f"{path}: no dataset named {name!r}; the datasets are {sorted(tables)}")
        return tables[name]

    roles = {}
    for entry in spec["roles"]:
        found = security_manager.find_role(entry["name"]) or security_manager.add_role(entry["name"])
        base = security_manager.find_role(entry["based_on"]) if entry.get("based_on") else None
        permissions = set(base.permissions) if base else set()
        for name in entry.get("datasets", []):
            permission = security_manager.find_permission_view_menu("datasource_access", table(name).get_perm())
            if permission is None:
                raise ProvisionError(f"{path}: dataset {name!r} has no access permission yet; run 'superset init'")
            permissions.add(permission)
        found.permissions = sorted(permissions, key=lambda p: p.id)
        roles[entry["name"]] = found

    def role(name: str) -> Any:
        found = roles.get(name) or security_manager.find_role(name)
        if found is None:
            raise ProvisionError(f"{path}: no role named {name!r}")
        return found

    for entry in spec["users"]:
        user = security_manager.find_user(username=entry["username"])
        if user is None:
            security_manager.add_user(entry["username"], entry["first_name"], entry["last_name"], entry["email"],
                                      [role(name) for name in entry["roles"]], password=entry["password"])
        else:
            user.roles = [role(name) for name in entry["roles"]]
            security_manager.reset_password(user.id, entry["password"])

    for entry in spec["dashboards"]:
        dashboard = db.session.query(Dashboard).filter_by(slug=entry["slug"]).one_or_none()
        if dashboard is None:
            raise ProvisionError(f"{path}: no dashboard with slug {entry['slug']!r} in dashboards/assets")
        dashboard.roles = [role(name) for name in entry["roles"]]

    names = [entry["name"] for entry in spec["row_level_security"]]
    db.session.query(RowLevelSecurityFilter).filter(RowLevelSecurityFilter.name.notin_(names)).delete(
        synchronize_session=False)
    for entry in spec["row_level_security"]:
        rule = db.session.query(RowLevelSecurityFilter).filter_by(name=entry["name"]).one_or_none()
        rule = rule or RowLevelSecurityFilter(name=entry["name"])
        rule.description = entry.get("description")
        rule.filter_type = entry.get("filter_type", "Regular")
        rule.group_key = entry.get("group_key")
        rule.clause = entry["clause"]
        rule.roles = [role(name) for name in entry["roles"]]
        rule.tables = [table(name) for name in entry["datasets"]]
        db.session.add(rule)
    db.session.commit()
    print(f"provision: {len(spec['roles'])} roles, {len(spec['users'])} users, {len(spec['dashboards'])} dashboards, "
          f"{len(spec['row_level_security'])} row-level security rules from {path}")
    return 0


COMMANDS = {"import": import_assets, "export": export_assets, "security": apply_security}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in COMMANDS:
        print(f"usage: provision.py {{{'|'.join(COMMANDS)}}}", file=sys.stderr)
        return 2
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        try:
            return COMMANDS[argv[0]]()
        except ProvisionError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
