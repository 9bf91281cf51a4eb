"""The raw landing zone: a local folder or an S3 bucket prefix, named by a URL (`--raw-zone`,
else `RAW_ZONE_URL`, which `Settings` holds).

Keys are `/`-separated relative paths such as `api/date=2026-11-25/part-0001.jsonl`.
A local zone is a folder (`data/raw_zone`, a path or a `file://` URL); an S3 zone is
`s3://bucket/prefix` with the usual `AWS_*` variables and an optional endpoint
(`AWS_ENDPOINT_URL`, or `S3_ENDPOINT_URL`) for S3-compatible servers such as MinIO.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from ingest.errors import ObjectNotFoundError, RawZoneError
from ingest.zone import durable
from ingest.zone.durable import AppendFile

S3Client = Any  # botocore builds its clients at run time; there is no static type to import

TEMP_PREFIX = ".tmp-"  # in-flight local writes; never a key, never listed
OBJECT_MODE = 0o644  # mkstemp's 0600 would hide raw files from the loader's user
APPEND_MODE = 0o640  # the tracking API's growing part files, as it has always created them
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "S3_ENDPOINT_URL")


class RawZone(Protocol):
    url: str
    supports_append: bool  # the methods that change an object in place (S3 has none) raise RawZoneError

    def write_object(self, key: str, data: bytes) -> None: ...
    def append(self, key: str, data: bytes) -> None: ...
    def open_append(self, key: str) -> AppendFile: ...  # each append durable on return; close(), then move()
    def truncate(self, key: str, size: int) -> None: ...
    def delete(self, key: str) -> None: ...
    def list(self, prefix: str) -> builtins.list[str]: ...
    def read(self, key: str) -> bytes: ...
    def move(self, key: str, new_key: str) -> None: ...
    def local_path(self, key: str) -> Path | None: ...  # None on S3; local_path("") is the zone's folder


def check_key(key: str) -> str:
    """A key must stay inside the zone: relative, no empty, `.` or `..` parts, no backslashes."""
    parts = key.split("/")
    if (not key or key.startswith("/") or "\\" in key or "\x00" in key
            or any(part in ("", ".", "..") or part.startswith(TEMP_PREFIX) for part in parts)):
        raise RawZoneError(f"bad raw zone key {key!r}: expected a relative path like api/date=2026-11-25/part-1.jsonl")
    return key


def check_prefix(prefix: str) -> str:
    """A listing prefix is a key or the start of one; empty lists the whole zone."""
    if prefix:
        check_key(prefix.rstrip("/") or ".")
    return prefix


# --- local folder -----------------------------------------------------------------------

class LocalRawZone:
    supports_append = True

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.url = self.root.as_uri()

    def local_path(self, key: str) -> Path:
        """The file of a key; "" is the zone's folder itself."""
        return self._file(key) if key else self.root

    def _file(self, key: str) -> Path:
        return self.root / check_key(key)

    def _existing(self, key: str) -> Path:
        path = self._file(key)
        if not path.is_file():
            raise ObjectNotFoundError(f"no object {key!r} in the raw zone {self.url}")
        return path

    def write_object(self, key: str, data: bytes) -> None:
        path = self._file(key)
        durable.make_dirs(path.parent)
        durable.write_atomically(path, data, OBJECT_MODE, TEMP_PREFIX)

    def open_append(self, key: str) -> AppendFile:
        path = self._file(key)
        durable.make_dirs(path.parent)
        return AppendFile(path, APPEND_MODE)

    def append(self, key: str, data: bytes) -> None:
        part = self.open_append(key)
        try:
            part.append(data)
        finally:
            part.close()

    def truncate(self, key: str, size: int) -> None:
        durable.truncate(self._existing(key), size)

    def delete(self, key: str) -> None:
        durable.remove(self._existing(key))

    def list(self, prefix: str = "") -> builtins.list[str]:
        check_prefix(prefix)
        # Walk only the deepest folder the prefix names, then match the rest as a string prefix, like S3.
        start = self.root / prefix.rpartition("/")[0] if "/" in prefix else self.root
        if not start.is_dir():
            return []
        keys = []
        for folder, _, names in os.walk(start):
            for name in names:
                if name.startswith(TEMP_PREFIX):
                    continue
                key = Path(folder, name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def read(self, key: str) -> bytes:
        return self._existing(key).read_bytes()

    def move(self, key: str, new_key: str) -> None:
        source = self._existing(key)
        target = self._file(new_key)
        durable.make_dirs(target.parent)
        os.replace(source, target)
        durable.fsync_dir(target.parent)
        if source.parent != target.parent:
            durable.fsync_dir(source.parent)


# --- S3 ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ObjectInfo:
    key: str  # the zone's key, without the zone's prefix
    size: int
    etag: str


def _endpoint() -> tuple[str, str] | None:
    """(variable, URL) of the S3 endpoint to use; None means AWS itself."""
    return next(((name, os.environ[name]) for name in ENDPOINT_VARIABLES if os.environ.get(name)), None)


class S3RawZone:
    supports_append = False

    def __init__(self, bucket: str, prefix: str, client: S3Client, endpoint: str | None) -> None:
        self.bucket = bucket
        self.prefix = prefix  # "" or ends with "/"
        self.client = client
        self.endpoint = endpoint
        self.url = f"s3://{bucket}/{prefix}"

    def object_url(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{check_key(key)}"

    @contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        """botocore's exceptions as one-line messages that say what to set."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            ParamValidationError,
            PartialCredentialsError,
        )
        from botocore.exceptions import ConnectionError as S3ConnectionError

        where = self.endpoint or "AWS S3"
        try:
            yield
        except (NoCredentialsError, PartialCredentialsError):
            raise RawZoneError(f"no S3 credentials for {self.url}: set AWS_ACCESS_KEY_ID and "
                               "AWS_SECRET_ACCESS_KEY") from None
        except S3ConnectionError:  # refused, timed out, closed: the endpoint is not answering
            raise RawZoneError(f"cannot reach the S3 endpoint {where} for {self.url}: start the server "
                               "(make s3-up) or set AWS_ENDPOINT_URL to a reachable one") from None
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound") and key is not None:
                raise ObjectNotFoundError(f"no object {key!r} in the raw zone {self.url}") from None
            if code == "NoSuchBucket":
                raise RawZoneError(f"the bucket {self.bucket!r} does not exist at {where}: create it, or "
                                   "set RAW_ZONE_URL to an existing one") from None
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"):
                raise RawZoneError(f"{where} refused access to {self.url} ({code}): check "
                                   "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") from None
            raise RawZoneError(f"S3 error on {self.url} at {where}: {error}") from None
        except ParamValidationError as error:
            raise RawZoneError(f"bad S3 request for {self.url}: {error}") from None
        except BotoCoreError as error:
            raise RawZoneError(f"S3 error on {self.url} at {where}: {error}") from None

    def local_path(self, key: str) -> Path | None:
        return None  # objects have no local file; callers write through write_object

    def write_object(self, key: str, data: bytes) -> None:
        # put_object returns only once the server has stored the whole object (checksummed by botocore).
        with self._errors():
            self.client.put_object(Bucket=self.bucket, Key=self.prefix + check_key(key), Body=data)

    def append(self, key: str, data: bytes) -> None:
        raise self._immutable("append to", key)

    def open_append(self, key: str) -> AppendFile:
        raise self._immutable("append to", key)

    def truncate(self, key: str, size: int) -> None:
        raise self._immutable("truncate", key)

    def _immutable(self, action: str, key: str) -> RawZoneError:
        return RawZoneError(f"cannot {action} {self.object_url(key)}: S3 objects are immutable; "
                            "write whole objects with write_object (supports_append is False)")

    def delete(self, key: str) -> None:
        with self._errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + check_key(key))

    def list_info(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        check_prefix(prefix)
        found: builtins.list[ObjectInfo] = []
        with self._errors():
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    found.append(ObjectInfo(key=item["Key"][len(self.prefix):], size=int(item["Size"]),
                                            etag=str(item["ETag"]).strip('"')))
        return sorted(found, key=lambda info: info.key)

    def list(self, prefix: str = "") -> builtins.list[str]:
        return [info.key for info in self.list_info(prefix)]

    def read(self, key: str) -> bytes:
        with self._errors(key):
            body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + check_key(key))["Body"]
            return bytes(body.read())

    def download(self, key: str, path: Path) -> None:
        """Stream an object to a local file (multipart for big ones, never whole in memory)."""
        with self._errors(key):
            self.client.download_file(self.bucket, self.prefix + check_key(key), str(path))

    def move(self, key: str, new_key: str) -> None:
        # S3 has no rename: copy, then delete the original once the copy exists.
        source = self.prefix + check_key(key)
        with self._errors(key):
            self.client.copy_object(Bucket=self.bucket, Key=self.prefix + check_key(new_key),
                                    CopySource={"Bucket": self.bucket, "Key": source})
            self.client.delete_object(Bucket=self.bucket, Key=source)


def _s3_client(endpoint: str | None) -> S3Client:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    if session.get_credentials() is None:
        raise RawZoneError("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                           "(or AWS_PROFILE)")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or session.region_name
    config = Config(
        # Path-style URLs: S3-compatible servers on 127.0.0.1 have no per-bucket host names.
        s3={"addressing_style": "path"} if endpoint else {},
        connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"},
    )
    return session.client("s3", endpoint_url=endpoint, region_name=region or "us-east-1", config=config)


def open_s3_zone(url: str) -> S3RawZone:
    parts = urlsplit(url)
    bucket = parts.netloc
    if not bucket or parts.query or parts.fragment:
        raise RawZoneError(f"bad S3 raw zone URL {url!r}: expected s3://bucket or s3://bucket/prefix")
    prefix = parts.path.strip("/")
    if prefix:
        check_key(prefix)
        prefix += "/"
    found = _endpoint()
    endpoint = found[1] if found else None
    if found and urlsplit(found[1]).scheme not in ("http", "https"):
        raise RawZoneError(f"bad S3 endpoint {found[0]}={found[1]!r}: expected http(s)://host:port")
    return S3RawZone(bucket, prefix, _s3_client(endpoint), endpoint)


def open_raw_zone(url: str) -> RawZone:
    """The zone at `url` (a `--raw-zone` flag, else `Settings.raw_zone_url`)."""
    scheme = urlsplit(url).scheme
    if scheme == "s3":
        return open_s3_zone(url)
    if scheme == "file":
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise RawZoneError(f"bad raw zone URL {url!r}: a file:// URL must name a local folder")
        return LocalRawZone(Path(unquote(parts.path)))
    if scheme and len(scheme) > 1:  # a one-letter "scheme" is a Windows drive
        raise RawZoneError(f"bad raw zone URL {url!r}: expected a folder, file:///path or s3://bucket/prefix "
                           "(set RAW_ZONE_URL)")
    return LocalRawZone(Path(url))
