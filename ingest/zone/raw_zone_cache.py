"""Local copies of raw zone objects on S3, so the loader reads them as it reads any file.

`ingest files s3://bucket/prefix` lists the event objects under the prefix, downloads each
into `<warehouse dir>/.raw-cache-<warehouse>/<bucket>/<key>` and hands the local path to
the loader with the object's s3:// URL as the name to record (`source_file`). A copy whose
size and ETag still match the object is reused, so a second run downloads nothing; the
sha256 skip rule of the loader then applies to the content as usual. The cache only saves
downloads: deleting it is always safe.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from ingest.errors import InputError
from ingest.files.raw_files import EVENT_SUFFIXES, discover, is_event_file
from ingest.settings import Settings
from ingest.zone.raw_zone import LocalRawZone, ObjectInfo, S3RawZone, check_key, open_raw_zone, open_s3_zone

DOWNLOAD_THREADS = 4  # downloads wait on the network, not the CPU


def is_remote(location: str) -> bool:
    return location.startswith("s3://")


def cache_dir(settings: Settings) -> Path:
    """One cache per warehouse, beside it, like dlt's working folder."""
    return settings.warehouse_path.parent / f".raw-cache-{settings.warehouse_path.stem}"


def area_location(area: str, settings: Settings) -> str:
    """Where an area (top-level folder such as `api`) of the raw zone is: a local folder or an s3:// URL."""
    zone = open_raw_zone(settings.raw_zone_url)
    if isinstance(zone, S3RawZone):
        return zone.object_url(area.strip("/"))
    assert isinstance(zone, LocalRawZone)
    return str(zone.local_path(area.strip("/")))


def _objects(zone: S3RawZone, key: str, url: str) -> list[ObjectInfo]:
    """The event objects a URL names: the one object with that key, or every one under key/."""
    listed = zone.list_info(key)
    exact = [info for info in listed if info.key == key]
    if exact:
        if not is_event_file(Path(key)):
            raise InputError(f"{url}: not an event file (expected {', '.join(EVENT_SUFFIXES)}, optionally .gz)")
        return exact
    under = [info for info in listed if not key or info.key.startswith(key.rstrip("/") + "/")]
    if not under:
        raise InputError(f"{url}: no such object or prefix")
    return [info for info in under if is_event_file(Path(info.key))]


def _fetch_one(zone: S3RawZone, info: ObjectInfo, root: Path) -> Path:
    target = root / check_key(info.key)  # a key with `..` must not write outside the cache
    etag_file = target.with_name(target.name + ".etag")
    if target.is_file() and target.stat().st_size == info.size and etag_file.is_file() \
            and etag_file.read_text() == info.etag:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # The old ETag goes first and the new one is written last, so a crash mid-way means a new download.
    etag_file.unlink(missing_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    os.close(fd)
    try:
        zone.download(info.key, Path(temp))
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    etag_file.write_text(info.etag)
    return target


def fetch(url: str, cache: Path) -> list[tuple[Path, str]]:
    """(local copy, s3:// URL) of every event object under an s3://bucket/prefix URL, sorted by key."""
    parts = urlsplit(url)
    zone = open_s3_zone(f"s3://{parts.netloc}")
    key = parts.path.lstrip("/")
    objects = _objects(zone, key, url)
    root = cache / zone.bucket
    with ThreadPoolExecutor(max_workers=DOWNLOAD_THREADS) as pool:
        paths = list(pool.map(lambda info: _fetch_one(zone, info, root), objects))
    return [(path, zone.object_url(info.key)) for path, info in zip(paths, objects, strict=True)]


def resolve(paths: list[str], settings: Settings) -> list[tuple[Path, str]]:
    """(local file, name to record as source_file) for every event file the paths and s3:// URLs name."""
    local = [location for location in paths if not is_remote(location)]
    found: dict[str, Path] = {str(path): path for path in discover(local)} if local else {}
    for url in (location for location in paths if is_remote(location)):
        for path, name in fetch(url, cache_dir(settings)):
            found[name] = path
    return [(path, name) for name, path in found.items()]
