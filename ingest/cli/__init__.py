"""`python -m ingest ...`: the entry, and one module per command group, each adding its
commands with `register(commands)`; a command is `func(args, settings) -> exit status`.

A command imports the modules that pull in dlt, DuckDB or the Kafka client when it runs,
so that `--help` and the other commands start without them."""

from __future__ import annotations

import argparse
import logging
import sys

from ingest import __version__
from ingest.cli import access, api, geoip, kafka, load, roster, run, sample, warehouse
from ingest.errors import InputError, RawZoneError
from ingest.settings import DEFAULT_WAREHOUSE, Settings
from ingest.warehouse.busy import busy_message, is_busy

COMMAND_GROUPS = (sample, load, roster, run, warehouse, api, kafka, geoip, access)


def version_text() -> str:
    from importlib.metadata import version

    tools = ", ".join(f"{name} {version(name)}" for name in ("dbt-core", "dbt-duckdb", "dlt", "duckdb"))
    return f"student-behavior-elt {__version__} ({tools})"


class _PrintVersion(argparse.Action):
    """argparse's own version action wraps the text at the terminal width."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Generate sample LMS events and land raw event files in the warehouse: a DuckLake "
                    f"whose catalog is $WAREHOUSE_PATH (default {DEFAULT_WAREHOUSE}), its data files "
                    "beside it in <WAREHOUSE_PATH>.files/.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.add_argument("--version", action=_PrintVersion, nargs=0, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    settings: Settings | None = None
    try:
        settings = Settings.from_env()
        return int(args.func(args, settings))
    except (InputError, RawZoneError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        if settings is None or not is_busy(error):
            raise
        print(f"error: {busy_message(settings)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
