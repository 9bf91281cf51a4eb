"""IP-to-country ranges: a free `start_ip,end_ip,country` CSV turned into the dbt seed.

Reads the layout shared by DB-IP "ip-to-country-lite", IP2Location LITE DB1 and
sapics/ip-location-db "*-country" files and writes `seeds/ip_country_ranges.csv`, which
the `ip_country_lookup` macro (macros/ip_addresses.sql) joins on. Every address becomes a
key: the lowercase hex of its integer value, 8 characters for IPv4 and 32 for IPv6, so that
within one version comparing keys as text is comparing the addresses as numbers.
"""

from __future__ import annotations

import csv
import gzip
import io
import ipaddress
import os
import re
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import InputError
from ingest.files.decompress import GZIP_MAGIC
from ingest.settings import PROJECT_DIR

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_OUT = PROJECT_DIR / "seeds" / "ip_country_ranges.csv"
SEED_COLUMNS = ("ip_version", "start_ip", "end_ip", "start_key", "end_key", "country_code")
# Country values that mean "no country": DB-IP and sapics leave it out, IP2Location writes "-",
# and "ZZ" is the ISO 3166 user-assigned code some sources use for unknown.
UNASSIGNED = frozenset({"", "-", "ZZ"})

_COUNTRY = re.compile(r"[A-Z]{2}")
_DECIMAL = re.compile(r"[0-9]+")
# A first cell made only of these characters is a (possibly broken) address, never a header.
_ADDRESS_LIKE = re.compile(r"[0-9A-Fa-f:.]+")
_IPV4_MAX = 2**32 - 1
# IP2Location's IPv6 files hold the IPv4 space as IPv4-mapped addresses (::ffff:a.b.c.d).
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


@dataclass(frozen=True)
class ImportReport:
    source: Path
    out: Path
    rows_written: int
    rows_skipped: int  # rows without a country (empty, "-" or "ZZ")
    rows_by_version: dict[int, int]
    had_header: bool
    mapped_to_ipv4: int  # IPv4-mapped IPv6 ranges written as IPv4 ranges


@dataclass(frozen=True)
class _Range:
    start: IPAddress
    end: IPAddress
    country: str
    line: int


def address_key(address: IPAddress) -> str:
    """The seed's sortable key: lowercase hex of the integer, zero-padded to 8 (IPv4) or 32 (IPv6)."""
    return f"{int(address):0{address.max_prefixlen // 4}x}"


def parse_address(text: str) -> IPAddress:
    """A single IPv4 or IPv6 address in text form; ValueError otherwise.

    Zone ids (`fe80::1%eth0`) are refused: they name a local interface, not a place, and the SQL
    key (macros/ip_addresses.sql) refuses them too.
    """
    if "%" in text:
        raise ValueError(f"{text!r} has a zone id")
    return ipaddress.ip_address(text)


def text_key(text: str) -> str | None:
    """The key of an address given as text, None when it is not one; what the `ip_key` macro computes."""
    try:
        return address_key(parse_address(text))
    except ValueError:
        return None


def import_ranges(source: Path, out: Path = DEFAULT_OUT) -> ImportReport:
    """Read `source` (CSV, optionally gzipped) and write the seed CSV `out` atomically."""
    ranges: list[_Range] = []
    skipped = 0
    had_header = False
    mapped = 0
    for index, (line, row) in enumerate(_rows(source)):
        if index == 0 and _is_header(row):
            had_header = True
            continue
        if len(row) < 3:
            raise InputError(f"{source}, line {line}: expected start_ip,end_ip,country, found {len(row)} column(s)")
        start, end = _parse_pair(source, line, row[0].strip(), row[1].strip())
        country = row[2].strip().upper()
        if country in UNASSIGNED:
            skipped += 1
            continue
        if not _COUNTRY.fullmatch(country):
            raise InputError(f"{source}, line {line}: country {row[2].strip()!r} is not a two-letter code")
        if isinstance(start, ipaddress.IPv6Address) and isinstance(end, ipaddress.IPv6Address) \
                and start in _IPV4_MAPPED and end in _IPV4_MAPPED:
            # Events carry IPv4 clients as plain dotted quads, whose keys are IPv4 keys.
            start, end = start.ipv4_mapped, end.ipv4_mapped  # type: ignore[assignment]
            mapped += 1
        ranges.append(_Range(start, end, country, line))

    ranges.sort(key=lambda r: (r.start.version, int(r.start)))
    _check_no_overlap(source, ranges)
    _write_seed(out, ranges)
    by_version = Counter(r.start.version for r in ranges)
    return ImportReport(source=source, out=out, rows_written=len(ranges), rows_skipped=skipped,
                        rows_by_version={4: by_version[4], 6: by_version[6]}, had_header=had_header,
                        mapped_to_ipv4=mapped)


def _rows(source: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank row, gunzipping when the file is gzip (magic bytes)."""
    try:
        with open(source, "rb") as handle:
            is_gzip = handle.read(2) == GZIP_MAGIC
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except OSError as error:
        raise InputError(f"{source}: cannot read the file ({error})") from error
    try:
        binary = gzip.open(source, "rb") if is_gzip else open(source, "rb")  # noqa: SIM115 - closed by the wrapper
        # utf-8-sig: files saved by spreadsheet tools start with a byte order mark.
        with io.TextIOWrapper(binary, encoding="utf-8-sig", newline="") as text:
            reader = csv.reader(text)
            for row in reader:
                if any(cell.strip() for cell in row):
                    yield reader.line_num, row
    except (OSError, EOFError, zlib.error) as error:
        raise InputError(f"{source}: cannot read the file ({error}); is it a complete gzip file?") from error
    except UnicodeDecodeError as error:
        raise InputError(f"{source}: not UTF-8 text ({error})") from error
    except csv.Error as error:
        raise InputError(f"{source}: not a CSV file ({error})") from error


def _is_header(row: list[str]) -> bool:
    """A first row is a header when its first cell is not an address and does not try to be one."""
    first = row[0].strip()
    if _ADDRESS_LIKE.fullmatch(first):
        return False
    try:
        parse_address(first)
    except ValueError:
        return True
    return False


def _parse_pair(source: Path, line: int, start_text: str, end_text: str) -> tuple[IPAddress, IPAddress]:
    start = _parse_one(source, line, "start", start_text)
    end = _parse_one(source, line, "end", end_text)
    if isinstance(start, int) and isinstance(end, int):
        # IP2Location writes addresses as decimal integers; which version they are is only known
        # from the pair: its IPv6 file starts with the range 0 - 281470681743359.
        version = ipaddress.IPv6Address if max(start, end) > _IPV4_MAX else ipaddress.IPv4Address
        start, end = version(start), version(end)
    if isinstance(start, int) or isinstance(end, int):
        raise InputError(f"{source}, line {line}: start {start_text!r} and end {end_text!r} mix a number "
                         "and an address")
    if start.version != end.version:
        raise InputError(f"{source}, line {line}: start {start_text!r} is IPv{start.version} "
                         f"but end {end_text!r} is IPv{end.version}")
    if int(start) > int(end):
        raise InputError(f"{source}, line {line}: start {start_text!r} is after end {end_text!r}")
    return start, end


def _parse_one(source: Path, line: int, which: str, text: str) -> IPAddress | int:
    if _DECIMAL.fullmatch(text):
        value = int(text)
        if value >= 2**128:
            raise InputError(f"{source}, line {line}: {which} {text!r} is too large for an IP address")
        return value
    try:
        return parse_address(text)
    except ValueError as error:
        raise InputError(f"{source}, line {line}: {which} {text!r} is not an IP address ({error})") from None


def _check_no_overlap(source: Path, ranges: list[_Range]) -> None:
    """Ranges sorted by (version, start) must each start after the previous one ends."""
    for previous, current in zip(ranges, ranges[1:], strict=False):
        if previous.start.version == current.start.version and int(current.start) <= int(previous.end):
            raise InputError(
                f"{source}: ranges overlap: line {previous.line} ({previous.start} - {previous.end}, "
                f"{previous.country}) and line {current.line} ({current.start} - {current.end}, {current.country}); "
                "a lookup must find at most one country per address")


def _write_seed(out: Path, ranges: list[_Range]) -> None:
    """Write to a temporary file next to `out`, then rename: readers never see half a seed."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", newline="", dir=out.parent,  # noqa: SIM115
                                         prefix=f".{out.name}.", suffix=".tmp", delete=False)  # kept past close
    try:
        with handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(SEED_COLUMNS)
            for r in ranges:
                writer.writerow((r.start.version, r.start, r.end, address_key(r.start), address_key(r.end),
                                 r.country))
            handle.flush()
            os.fsync(handle.fileno())
        # A temporary file is private (0600); the seed is an ordinary file of the repository.
        os.chmod(handle.name, _default_file_mode())
        os.replace(handle.name, out)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _default_file_mode() -> int:
    """0666 less the process umask: the mode `open(..., "w")` would have given a new file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
