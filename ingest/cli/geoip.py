"""`python -m ingest geoip import FILE`."""

from __future__ import annotations

import argparse
from pathlib import Path

from ingest.settings import Settings
from ingest.warehouse.geoip import DEFAULT_OUT, ImportReport, import_ranges


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `geoip import FILE [--out PATH]` to the subcommands of `python -m ingest`."""
    geoip = commands.add_parser("geoip", help="IP-to-country ranges for the ip_geo enrichment",
                                description="Manage the IP-to-country range table (dbt seed ip_country_ranges) "
                                            "that turns raw IPs into ip_geo country codes.")
    actions = geoip.add_subparsers(dest="geoip_command", required=True, metavar="ACTION")
    imp = actions.add_parser(
        "import", help="turn a start_ip,end_ip,country CSV into the ip_country_ranges seed",
        description="Read a free IP-to-country CSV with start_ip,end_ip,country columns (DB-IP "
                    "ip-to-country-lite, IP2Location LITE DB1, sapics/ip-location-db *-country; "
                    "optional header, IPv4 and IPv6 mixed, optionally gzipped, further columns ignored) "
                    "and write the dbt seed with one row per range and sortable hex keys. Rows without a "
                    "country (empty, '-', 'ZZ') are skipped; overlapping ranges are refused. "
                    "Run `dbt seed --select ip_country_ranges` afterwards.")
    imp.add_argument("file", metavar="FILE", help="the CSV file, plain or .gz")
    imp.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="PATH",
                     help="seed CSV to write (default: seeds/ip_country_ranges.csv of the project)")
    imp.set_defaults(func=_cmd_import)


def _cmd_import(args: argparse.Namespace, _settings: Settings) -> int:
    print(describe(import_ranges(Path(args.file), Path(args.out))))
    return 0


def describe(report: ImportReport) -> str:
    by_version = ", ".join(f"IPv{version} {count:,}" for version, count in sorted(report.rows_by_version.items()))
    text = (f"wrote {report.rows_written:,} ranges ({by_version}) to {report.out}; "
            f"skipped {report.rows_skipped:,} rows without a country")
    if report.mapped_to_ipv4:
        text += f"; {report.mapped_to_ipv4:,} IPv4-mapped IPv6 ranges written as IPv4"
    return text

