"""IP-to-country ranges: the seed import, and the SQL macros that key and look up addresses."""

from __future__ import annotations

import argparse
import bisect
import csv
import gzip
import ipaddress
import os
import random
import subprocess
from pathlib import Path

import duckdb
import pytest
import sqlglot
from bigquery_offline import fake_keyfile

from ingest.cli import geoip as geoip_cli
from ingest.errors import InputError
from ingest.sample.catalog import IP_BLOCKS
from ingest.settings import PROJECT_DIR, Settings
from ingest.warehouse.dbt_runner import dbt_executable
from ingest.warehouse.geoip import SEED_COLUMNS, import_ranges, text_key

SHIPPED_SEED = PROJECT_DIR / "seeds" / "ip_country_ranges.csv"
DEMO_SOURCE = PROJECT_DIR / "seeds" / "demo" / "ip_country_ranges_source.csv"
HEADER = ",".join(SEED_COLUMNS)

# Unsorted, IPv4 and IPv6 mixed, extra columns, lower-case codes and upper-case hex, unassigned rows
# in each spelling; 0.0.0.1 and ::1 share an integer value but not a version, so they do not overlap.
RANGES_BODY = """\
2001:DB8:20::,2001:db8:20:ffff:ffff:ffff:ffff:ffff,jp,Japan
192.0.2.0,192.0.2.255,US,United States
10.0.0.0,10.255.255.255,-,reserved
0.0.0.1,0.0.0.1,gb

2001:db8:ff::,2001:db8:ff::ff,ZZ
198.51.100.128,198.51.100.255,,
::1,::1,nl
"""
EXPECTED_SEED = f"""\
{HEADER}
4,0.0.0.1,0.0.0.1,00000001,00000001,GB
4,192.0.2.0,192.0.2.255,c0000200,c00002ff,US
6,::1,::1,00000000000000000000000000000001,00000000000000000000000000000001,NL
6,2001:db8:20::,2001:db8:20:ffff:ffff:ffff:ffff:ffff,20010db8002000000000000000000000,20010db80020ffffffffffffffffffff,JP
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_import_writes_sorted_keyed_rows_and_counts(tmp_path: Path) -> None:
    source = tmp_path / "ranges.csv"
    source.write_text("start_ip,end_ip,country,name\n" + RANGES_BODY, encoding="utf-8-sig")  # with a BOM
    out = tmp_path / "seeds" / "ip_country_ranges.csv"

    report = import_ranges(source, out)

    assert out.read_text() == EXPECTED_SEED
    assert (report.rows_written, report.rows_skipped, report.rows_by_version) == (4, 3, {4: 2, 6: 2})
    assert report.had_header


def test_import_without_header_and_gzipped_gives_the_same_seed(tmp_path: Path) -> None:
    plain = write(tmp_path / "plain.csv", RANGES_BODY)
    zipped = tmp_path / "ranges.dat"  # gzip is recognized by its magic bytes, not its name
    zipped.write_bytes(gzip.compress(RANGES_BODY.encode()))

    reports = [import_ranges(plain, tmp_path / "a.csv"), import_ranges(zipped, tmp_path / "b.csv")]

    assert (tmp_path / "a.csv").read_text() == EXPECTED_SEED
    assert (tmp_path / "b.csv").read_text() == EXPECTED_SEED
    assert [(r.had_header, r.rows_written, r.rows_skipped) for r in reports] == [(False, 4, 3)] * 2


def test_ip2location_decimal_layout(tmp_path: Path) -> None:
    # IP2Location LITE DB1: quoted decimal integers; its IPv6 file holds IPv4 as ::ffff:a.b.c.d.
    ipv4_file = write(tmp_path / "db1.csv", '"0","16777215","-","-"\n"16777216","16777471","AU","Australia"\n')
    ipv6_file = write(tmp_path / "db1v6.csv", '"0","281470681743359","-","-"\n'
                                              '"281470698520576","281470698520831","AU","Australia"\n'
                                              '"42540528726795050063891204319802818560",'
                                              '"42540528806023212578155541913346768895","JP","Japan"\n')

    import_ranges(ipv4_file, tmp_path / "v4.csv")
    report = import_ranges(ipv6_file, tmp_path / "v6.csv")

    assert (tmp_path / "v4.csv").read_text() == f"{HEADER}\n4,1.0.0.0,1.0.0.255,01000000,010000ff,AU\n"
    assert (tmp_path / "v6.csv").read_text() == (
        f"{HEADER}\n4,1.0.0.0,1.0.0.255,01000000,010000ff,AU\n"
        "6,2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,"
        "20010200000000000000000000000000,20010200ffffffffffffffffffffffff,JP\n")
    assert (report.rows_written, report.rows_skipped, report.mapped_to_ipv4) == (2, 1, 1)


@pytest.mark.parametrize(("bad_row", "problem"), [
    ("192.0.2.0,2001:db8::ff,US", "'192.0.2.0' is IPv4 but end '2001:db8::ff' is IPv6"),
    ("192.0.2.9,192.0.2.1,US", "start '192.0.2.9' is after end '192.0.2.1'"),
    ("192.0.2,192.0.2.9,US", "start '192.0.2' is not an IP address"),
    ("2001:db8::,2001:db8:::ff,US", "end '2001:db8:::ff' is not an IP address"),
    ("192.0.2.0,192.0.2.9", "expected start_ip,end_ip,country, found 2 column(s)"),
    ("192.0.2.0,192.0.2.9,USA", "country 'USA' is not a two-letter code"),
    ("3221225984,192.0.2.9,US", "mix a number and an address"),
])
def test_a_bad_row_names_the_file_the_line_and_the_problem(tmp_path: Path, bad_row: str, problem: str) -> None:
    source = write(tmp_path / "ranges.csv", f"start_ip,end_ip,country\n10.0.0.0,10.0.0.255,US\n{bad_row}\n")

    with pytest.raises(InputError) as error:
        import_ranges(source, tmp_path / "out.csv")

    assert str(error.value).startswith(f"{source}, line 3: ")
    assert problem in str(error.value)


def test_overlapping_ranges_are_refused_and_the_seed_is_left_alone(tmp_path: Path) -> None:
    source = write(tmp_path / "ranges.csv", "10.0.0.0,10.0.0.255,US\n::,::ff,FR\n10.0.0.128,10.0.1.0,GB\n")
    out = write(tmp_path / "seed.csv", "previous seed\n")

    with pytest.raises(InputError) as error:
        import_ranges(source, out)

    message = str(error.value)
    assert message.startswith(f"{source}: ranges overlap: line 1 (10.0.0.0 - 10.0.0.255, US) and line 3 ")
    assert out.read_text() == "previous seed\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ranges.csv", "seed.csv"]  # no temporary file left


def test_a_missing_or_broken_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        import_ranges(tmp_path / "missing.csv", tmp_path / "out.csv")
    truncated = tmp_path / "cut.csv.gz"
    truncated.write_bytes(gzip.compress(RANGES_BODY.encode())[:30])
    with pytest.raises(InputError, match="complete gzip file"):
        import_ranges(truncated, tmp_path / "out.csv")


def test_cli_imports_and_prints_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           settings: Settings) -> None:
    parser = argparse.ArgumentParser()
    geoip_cli.register(parser.add_subparsers(dest="command", required=True))
    out = tmp_path / "seed.csv"
    args = parser.parse_args(["geoip", "import", str(write(tmp_path / "r.csv", RANGES_BODY)), "--out", str(out)])

    assert args.func(args, settings) == 0
    assert capsys.readouterr().out == (f"wrote 4 ranges (IPv4 2, IPv6 2) to {out}; "
                                       "skipped 3 rows without a country\n")
    assert out.read_text() == EXPECTED_SEED


# --- the shipped demo seed -------------------------------------------------------------------

def shipped_ranges() -> list[dict[str, str]]:
    with open(SHIPPED_SEED, newline="") as handle:
        return list(csv.DictReader(handle))


def python_lookup(ranges: list[dict[str, str]], text: str) -> str | None:
    """The country of an address by bisecting the seed, the way the SQL lookup should find it."""
    key = text_key(text)
    if key is None:
        return None
    version = "4" if len(key) == 8 else "6"
    same_version = [r for r in ranges if r["ip_version"] == version]
    index = bisect.bisect_right([r["start_key"] for r in same_version], key) - 1
    if index >= 0 and key <= same_version[index]["end_key"]:
        return same_version[index]["country_code"]
    return None


def test_shipped_seed_is_the_import_of_the_demo_source(tmp_path: Path) -> None:
    import_ranges(DEMO_SOURCE, tmp_path / "seed.csv")

    assert (tmp_path / "seed.csv").read_bytes() == SHIPPED_SEED.read_bytes()


def test_shipped_seed_covers_every_generator_block_and_leaves_gaps() -> None:
    ranges = shipped_ranges()
    for block in IP_BLOCKS:
        hosts = ("1", "254") if block.family == 4 else ("1", "fffe")  # the generator's host range
        for host in hosts:
            assert python_lookup(ranges, block.prefix + host) == block.country, block
    for unassigned in ("10.0.0.1", "192.0.3.1", "100.64.5.5", "2001:db8::1", "2001:db8:ff::1", "::"):
        assert python_lookup(ranges, unassigned) is None, unassigned


# --- the SQL macros, rendered by dbt and run in DuckDB ---------------------------------------

EDGE_CASES = [
    "::", "::1", "1::", "fe80::1:2", "FE80::1:2", "::ffff:192.0.2.1", "::192.0.2.1", "1:2:3:4:5:6:192.0.2.1",
    "255.255.255.255", "0.0.0.0", "2001:DB8::ABCD", "2001:0db8:0000:0000:0000:0000:0000:0001",
    "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8",
    # not addresses
    "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.-4", "2001:db8:::1", "1::2::3", ":1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:", "1:2:3:4:5:6:7:8:9", "1::2:3:4:5:6:7:8", "12345::", "g::", "::ffff:256.1.1.1",
    "1:2:3:4:5:6:7:1.2.3.4", "1.2.3.4::", "abc", "", " 1.2.3.4", "1.2.3.4/32", "fe80::1%eth0", ":", ":::",
]


def sample_addresses() -> list[str]:
    """Edge cases, random valid addresses in several spellings, and random near-misses."""
    rng = random.Random(20251126)
    valid: list[str] = []
    for _ in range(100):
        valid.append(str(ipaddress.IPv4Address(rng.getrandbits(32))))
    for _ in range(100):
        groups = [0 if rng.random() < 0.4 else rng.getrandbits(rng.choice((4, 8, 16))) for _ in range(8)]
        address = ipaddress.IPv6Address(int("".join(f"{g:04x}" for g in groups), 16))
        valid.append(rng.choice([str(address), address.exploded, str(address).upper(), _any_zero_run(groups, rng),
                                 f"::ffff:{ipaddress.IPv4Address(rng.getrandbits(32))}"]))
    mutated = []
    for text in rng.sample(valid, 60):
        at = rng.randrange(len(text) + 1)
        mutated.append(rng.choice([text[:at] + rng.choice(":.0fG9") + text[at:], text[:at] + text[at + 1:]]))
    return EDGE_CASES + valid + mutated


def _any_zero_run(groups: list[int], rng: random.Random) -> str:
    """Groups without leading zeros, with `::` for a random run of zero groups (not only the longest)."""
    parts = [f"{g:x}" for g in groups]
    zeros = [i for i, g in enumerate(groups) if g == 0]
    if not zeros:
        return ":".join(parts)
    start = end = rng.choice(zeros)
    while end + 1 < 8 and groups[end + 1] == 0 and rng.random() < 0.7:
        end += 1
    return ":".join(parts[:start]) + "::" + ":".join(parts[end + 1:])


def sql_text(text: str | None) -> str:
    return "null" if text is None else "'" + text.replace("'", "''") + "'"


LOOKUPS = {
    "192.0.2.7": "US", "198.51.100.200": "GB", "203.0.113.1": "DE", "100.64.10.9": "FR",
    "100.64.20.127": "CA", "100.64.20.128": "MX",  # the last address of a range, the first of the next
    "2001:db8:10::abcd": "US", "2001:db8:20::1": "JP", "2001:DB8:20:0:0:0:0:1": "JP", "3fff::1": "AU",
    "192.0.3.1": None,  # past the end of the nearest range below it
    "10.0.0.1": None, "255.255.255.255": None, "100.64.5.5": None, "2001:db8:ff::1": None,
    "::ffff:192.0.2.7": None,  # IPv6 text: an IPv6 key, and no IPv6 range holds it
    "not an ip": None,
}
MARKER = "-- next statement --"


@pytest.fixture(scope="module")
def compiled_duckdb(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The key query and the lookup query, rendered by one `dbt compile` (a dbt start is slow)."""
    values = ", ".join(f"({sql_text(text)})" for text in [None, *sample_addresses()])
    events = ", ".join(f"({sql_text(text)})" for text in [*LOOKUPS, "192.0.2.7", None])  # a repeat and a NULL
    inline = (f"select ip, {{{{ ip_key('ip') }}}} as ip_key, {{{{ ip_version('ip') }}}} as ip_version\n"
              f"from (values {values}) as addresses (ip)\n{MARKER}\n"
              f"{{{{ ip_country_lookup(\"select ip from (values {events}) as events (ip)\", 'ip', "
              "'ip_country_ranges') }}")
    tmp_path = tmp_path_factory.mktemp("dbt_duckdb")
    sql = compile_inline(inline, tmp_path, target="dev", env={"WAREHOUSE_PATH": str(tmp_path / "unused.sqlite")})
    keys_sql, lookup_sql = sql.split(MARKER)
    return keys_sql, lookup_sql


def compile_inline(inline: str, tmp_path: Path, target: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [dbt_executable(), "compile", "--quiet", "--target", target, "--no-introspect", "--no-populate-cache",
         "--inline", inline, "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        cwd=PROJECT_DIR, env=dict(os.environ, DBT_PROFILES_DIR=str(PROJECT_DIR / "profiles"), **env),
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout  # with --quiet, dbt prints the compiled SQL and nothing else


def test_duckdb_ip_key_agrees_with_python(compiled_duckdb: tuple[str, str]) -> None:
    keys_sql, _ = compiled_duckdb

    rows = duckdb.connect().sql(keys_sql).fetchall()

    assert len(rows) > 250
    assert sum(key is not None for _, key, _ in rows) > 200
    mismatches = [(ip, key, text_key(ip)) for ip, key, _ in rows if key != (None if ip is None else text_key(ip))]
    assert mismatches == []
    versions = {(len(key) if key else None, version) for _, key, version in rows}
    assert versions == {(8, 4), (32, 6), (None, None)}


def test_duckdb_lookup_finds_the_country_of_each_distinct_address(compiled_duckdb: tuple[str, str]) -> None:
    _, lookup_sql = compiled_duckdb
    connection = duckdb.connect()
    # Keys must stay text: the dbt seed needs column_types for them too (`00000000` would be a number).
    connection.execute("create table ip_country_ranges as select * from read_csv(?, header = true, columns = "
                       "{'ip_version': 'integer', 'start_ip': 'varchar', 'end_ip': 'varchar', "
                       "'start_key': 'varchar', 'end_key': 'varchar', 'country_code': 'varchar'})",
                       [str(SHIPPED_SEED)])

    found = connection.sql(lookup_sql).fetchall()

    assert sorted(found) == sorted(LOOKUPS.items())
    ranges = shipped_ranges()
    assert all(python_lookup(ranges, ip) == country for ip, country in LOOKUPS.items())


# --- BigQuery --------------------------------------------------------------------------------

def test_bigquery_macros_compile_to_bigquery_sql(tmp_path: Path) -> None:
    inline = ("select {{ ip_key('ip') }} as ip_key, {{ ip_version('ip') }} as ip_version from events\n"
              f"{MARKER}\n{{{{ ip_country_lookup('events', 'ip', 'ip_country_ranges') }}}}")
    sql = compile_inline(inline, tmp_path, target="bigquery",
                         env={"BIGQUERY_KEYFILE": str(fake_keyfile(tmp_path)), "BIGQUERY_PROJECT": "offline"})

    for statement in sql.split(MARKER):
        sqlglot.parse_one(statement, read="bigquery")  # raises on anything BigQuery cannot read
    assert "to_hex(net.safe_ip_from_string(ip))" in sql
    assert "between ranges.start_key and ranges.end_key" in sql
    assert "lambda" not in sql and "asof" not in sql
