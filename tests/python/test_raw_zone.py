"""The raw zone on local disk and on a real S3 server (MinIO, started by scripts/s3-server.sh)."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from ingest.cli import main
from ingest.errors import ObjectNotFoundError, RawZoneError
from ingest.settings import Settings
from ingest.warehouse.lake import connect
from ingest.zone.raw_zone import LocalRawZone, S3RawZone, open_raw_zone

PROJECT_DIR = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT_DIR / "scripts" / "s3-server.sh"
EX_NO_NETWORK = 75
ACCESS_KEY = "test-raw-zone"
SECRET_KEY = "test-raw-zone-secret"
BUCKET = "raw-zone-test"
EVENT = '{"event_id":"e1","student_id":"s-1","event_type":"login","timestamp":"2025-11-15T08:00:00Z"}'


# --- fixtures ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class S3Server:
    endpoint: str
    data_dir: Path
    env: dict[str, str]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _script(command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real MinIO on a free loopback port, objects in a temp folder, for the whole session."""
    installed = _script("install")
    if installed.returncode == EX_NO_NETWORK:
        pytest.skip(f"no S3 server: scripts/s3-server.sh install cannot reach the Go module proxy "
                    f"({installed.stderr.strip().splitlines()[-1]})")
    assert installed.returncode == 0, f"scripts/s3-server.sh install failed:\n{installed.stderr}"
    data_dir = tmp_path_factory.mktemp("s3-data")
    env = {**os.environ, "S3_PORT": str(_free_port()), "S3_DATA_DIR": str(data_dir),
           "S3_ACCESS_KEY": ACCESS_KEY, "S3_SECRET_KEY": SECRET_KEY, "S3_BUCKETS": ""}
    started = _script("start", env)
    assert started.returncode == 0, f"scripts/s3-server.sh start failed:\n{started.stderr}"
    server = S3Server(endpoint=f"http://127.0.0.1:{env['S3_PORT']}", data_dir=data_dir, env=env)
    try:
        boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                     aws_secret_access_key=SECRET_KEY).create_bucket(Bucket=BUCKET)
        yield server
    finally:
        stopped = _script("stop", env)
        assert stopped.returncode == 0, stopped.stderr


@pytest.fixture
def no_aws_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials from the machine: no ~/.aws files, and no instance metadata lookups over the network."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "S3_ENDPOINT_URL", "RAW_ZONE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture
def s3_env(s3_server: S3Server, no_aws_config: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """Credentials and endpoint of the test server; a fresh prefix, so tests never see each other's objects."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    return f"s3://{BUCKET}/t-{uuid.uuid4().hex[:12]}"


def _s3_zone(url: str) -> S3RawZone:
    zone = open_raw_zone(url)
    assert isinstance(zone, S3RawZone)
    return zone


def _error_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err.strip()


# --- local zone ---------------------------------------------------------------------------------

@pytest.fixture
def fsync_log(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every fsync (of which file or folder) and rename the raw zone does, in order."""
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(source: str | Path, target: str | Path) -> None:
        events.append(("rename", str(target)))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def test_local_write_object_is_fsynced_renamed_then_its_folder_fsynced(
        tmp_path: Path, fsync_log: list[tuple[str, str]]) -> None:
    zone = open_raw_zone(str(tmp_path / "zone"))
    key = "api/date=2026-11-25/part-0001.jsonl"

    zone.write_object(key, b"one\n")

    path = tmp_path / "zone" / key
    assert path.read_bytes() == b"one\n" and zone.read(key) == b"one\n"
    kinds = [(kind, Path(target)) for kind, target in fsync_log]
    rename = kinds.index(("rename", path))
    assert kinds[rename - 1][0] == "fsync" and kinds[rename - 1][1].name.startswith(".tmp-")  # the data first
    assert kinds[rename + 1] == ("fsync", path.parent)  # then the new directory entry
    # The folders it created are durable too: each new folder's parent was fsynced.
    assert ("fsync", tmp_path / "zone" / "api") in kinds and ("fsync", tmp_path) in kinds
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind


def test_local_overwrite_failing_midway_keeps_the_old_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zone = open_raw_zone(str(tmp_path))
    zone.write_object("a/b.jsonl", b"old\n")

    def broken_replace(source: str, target: str) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk gone"):
        zone.write_object("a/b.jsonl", b"new\n")

    assert zone.read("a/b.jsonl") == b"old\n"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b.jsonl"]


def test_local_append_adds_and_fsyncs(tmp_path: Path, fsync_log: list[tuple[str, str]]) -> None:
    zone = open_raw_zone(f"file://{tmp_path}")
    assert zone.supports_append and zone.url == tmp_path.as_uri()

    zone.append("api/part.jsonl.open", b"one\n")
    created = list(fsync_log)
    zone.append("api/part.jsonl.open", b"two\n")

    assert zone.read("api/part.jsonl.open") == b"one\ntwo\n"
    file, folder = str(tmp_path / "api" / "part.jsonl.open"), str(tmp_path / "api")
    assert created[-2:] == [("fsync", file), ("fsync", folder)]  # a new file: its entry is made durable too
    assert fsync_log[len(created):] == [("fsync", file)]  # an existing one: the data only


def test_local_list_is_sorted_by_prefix_and_hides_temp_files(tmp_path: Path) -> None:
    zone = open_raw_zone(str(tmp_path))
    for key in ("api/date=2026-11-25/b.jsonl", "api/date=2026-11-25/a.jsonl", "api/date=2026-11-24/z.jsonl",
                "apix/c.jsonl", "rejected/date=2026-11-25/r.jsonl"):
        zone.write_object(key, b"x\n")
    (tmp_path / "api" / ".tmp-abc123").write_bytes(b"half")

    assert zone.list("api/") == ["api/date=2026-11-24/z.jsonl", "api/date=2026-11-25/a.jsonl",
                                 "api/date=2026-11-25/b.jsonl"]
    assert zone.list("api/date=2026-11-25") == ["api/date=2026-11-25/a.jsonl", "api/date=2026-11-25/b.jsonl"]
    assert zone.list("api") == zone.list("api/") + ["apix/c.jsonl"]  # a string prefix, as on S3
    assert len(zone.list("")) == 5
    assert zone.list("nothing/here/") == []


def test_local_move_renames_durably_and_missing_keys_are_clear(
        tmp_path: Path, fsync_log: list[tuple[str, str]]) -> None:
    zone = open_raw_zone(str(tmp_path))
    zone.write_object("incoming/p.jsonl", b"x\n")
    fsync_log.clear()

    zone.move("incoming/p.jsonl", "api/date=2026-11-25/p.jsonl")

    assert zone.list("") == ["api/date=2026-11-25/p.jsonl"]
    assert ("fsync", str(tmp_path / "api" / "date=2026-11-25")) in fsync_log
    assert ("fsync", str(tmp_path / "incoming")) in fsync_log
    with pytest.raises(ObjectNotFoundError, match="no object 'incoming/p.jsonl'"):
        zone.move("incoming/p.jsonl", "elsewhere.jsonl")
    with pytest.raises(ObjectNotFoundError):
        zone.read("api")  # a folder is not an object


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../outside.jsonl", "a//b.jsonl", "a/./b", "a\\b", "a/.tmp-x"])
def test_keys_outside_the_zone_are_refused(tmp_path: Path, key: str) -> None:
    zone = open_raw_zone(str(tmp_path / "zone"))
    with pytest.raises(RawZoneError, match="bad raw zone key"):
        zone.write_object(key, b"x")
    assert not (tmp_path / "outside.jsonl").exists()


def test_the_zone_comes_from_raw_zone_url_or_defaults_to_data_raw_zone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAW_ZONE_URL", raising=False)
    default = open_raw_zone(Settings.from_env().raw_zone_url)
    assert isinstance(default, LocalRawZone) and default.local_path("") == Path("data/raw_zone").resolve()

    monkeypatch.setenv("RAW_ZONE_URL", f"file://{tmp_path}/zone")
    zone = open_raw_zone(Settings.from_env().raw_zone_url)
    assert zone.local_path("api/x.jsonl") == tmp_path / "zone" / "api" / "x.jsonl"
    assert open_raw_zone(str(tmp_path)).url == tmp_path.as_uri()  # a folder given as such (`--raw-zone`)

    for bad in ("ftp://host/raw", "file://otherhost/raw", "s3://", "s3://bucket/../x"):
        with pytest.raises(RawZoneError, match="bad"):
            open_raw_zone(bad)


def test_files_from_raw_zone_loads_a_local_area(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RAW_ZONE_URL", str(tmp_path / "zone"))
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "w.sqlite"))
    zone = open_raw_zone(Settings.from_env().raw_zone_url)
    zone.write_object("api/date=2026-11-25/part-1.jsonl", (EVENT + "\n").encode())
    zone.append("api/date=2026-11-25/part-2.jsonl.open", (EVENT + "\n").encode())  # still being written

    assert main(["files", "-q", "--from-raw-zone", "api"]) == 0

    assert "loaded 1 lines from 1 files" in capsys.readouterr().out


# --- S3 -----------------------------------------------------------------------------------------

def test_s3_write_list_read_move_against_a_real_server(s3_env: str) -> None:
    zone = _s3_zone(s3_env)
    assert not zone.supports_append and zone.local_path("a") is None and zone.url == s3_env + "/"

    zone.write_object("api/date=2026-11-25/b.jsonl", b"b\n")
    zone.write_object("api/date=2026-11-25/a.jsonl", b"a\n")
    zone.write_object("rejected/date=2026-11-25/r.jsonl", b"r\n")
    zone.write_object("api/date=2026-11-25/a.jsonl", b"a2\n")  # an overwrite replaces the object whole

    assert zone.list("api/") == ["api/date=2026-11-25/a.jsonl", "api/date=2026-11-25/b.jsonl"]
    assert zone.list("") == zone.list("api/") + ["rejected/date=2026-11-25/r.jsonl"]
    assert zone.read("api/date=2026-11-25/a.jsonl") == b"a2\n"

    zone.move("api/date=2026-11-25/b.jsonl", "done/b.jsonl")
    assert zone.list("api/") == ["api/date=2026-11-25/a.jsonl"] and zone.read("done/b.jsonl") == b"b\n"
    with pytest.raises(ObjectNotFoundError, match="no object 'api/date=2026-11-25/b.jsonl'"):
        zone.read("api/date=2026-11-25/b.jsonl")
    with pytest.raises(ObjectNotFoundError):
        zone.move("api/date=2026-11-25/b.jsonl", "x.jsonl")
    with pytest.raises(RawZoneError, match="S3 objects are immutable"):
        zone.append("api/date=2026-11-25/a.jsonl", b"more\n")


def test_s3_objects_are_on_the_server_disk(s3_env: str, s3_server: S3Server) -> None:
    zone = _s3_zone(s3_env)
    marker = f"marker-{uuid.uuid4().hex}".encode()

    zone.write_object("api/date=2026-11-25/disk.jsonl", marker + b"\n")

    # MinIO keeps an object as a folder named by its key; a small one is stored inline in xl.meta.
    key_path = s3_server.data_dir / BUCKET / s3_env.removeprefix(f"s3://{BUCKET}/") / "api/date=2026-11-25/disk.jsonl"
    stored = b"".join(p.read_bytes() for p in key_path.rglob("*") if p.is_file()) if key_path.is_dir() \
        else key_path.read_bytes()
    assert marker in stored


def test_ingest_files_loads_s3_objects_once(
        s3_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    zone = _s3_zone(s3_env)
    zone.write_object("api/date=2026-11-25/part-1.jsonl", f"{EVENT}\n{{broken\n".encode())
    zone.write_object("api/date=2026-11-26/part-2.jsonl.gz", gzip.compress((EVENT + "\n").encode()))
    zone.write_object("api/date=2026-11-26/copy.jsonl", f"{EVENT}\n{{broken\n".encode())  # same content as part-1
    zone.write_object("api/date=2026-11-26/README.txt", b"not events")
    zone.write_object("other/part-9.jsonl", (EVENT + "\n").encode())
    warehouse = tmp_path / "wh" / "w.sqlite"
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))

    assert main(["files", "-q", f"{s3_env}/api"]) == 0
    first = capsys.readouterr().out

    assert "loaded 3 lines from 2 files" in first
    assert "skipped 1 file(s) whose content was loaded before" in first
    with connect(Settings(warehouse_path=warehouse), read_only=True) as db:
        landed = db.execute("select source_file, line_number, raw_line from raw.events order by 1, 2").fetchall()
        files = db.execute("select source_file, rows from raw.loaded_files order by 1").fetchall()
    assert landed == [(f"{s3_env}/api/date=2026-11-25/part-1.jsonl", 1, EVENT),
                      (f"{s3_env}/api/date=2026-11-25/part-1.jsonl", 2, "{broken"),
                      (f"{s3_env}/api/date=2026-11-26/part-2.jsonl.gz", 1, EVENT)]
    assert files == [(f"{s3_env}/api/date=2026-11-25/part-1.jsonl", 2),
                     (f"{s3_env}/api/date=2026-11-26/part-2.jsonl.gz", 1)]

    # Again, through the raw zone's area this time: nothing new.
    monkeypatch.setenv("RAW_ZONE_URL", s3_env)
    assert main(["files", "-q", "--from-raw-zone", "api"]) == 0
    again = capsys.readouterr().out
    assert "skipped 3 file(s) whose content was loaded before" in again and "nothing new to load" in again
    with connect(Settings(warehouse_path=warehouse), read_only=True) as db:
        assert db.execute("select count(*) from raw.events").fetchone() == (3,)

    # A single object by its URL works too.
    assert main(["files", "-q", f"{s3_env}/other/part-9.jsonl"]) == 0
    assert "loaded 1 lines from 1 files" in capsys.readouterr().out


def test_s3_problems_are_one_line_errors_that_say_what_to_set(
        s3_env: str, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "w.sqlite"))

    assert "no such object or prefix" in _error_of(["files", f"{s3_env}/nothing-here"], capsys)
    _s3_zone(s3_env).write_object("notes.txt", b"hello")
    assert "notes.txt: not an event file" in _error_of(["files", f"{s3_env}/notes.txt"], capsys)
    assert "bucket 'no-such-bucket' does not exist" in _error_of(["files", "s3://no-such-bucket/x"], capsys)

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    assert "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in _error_of(["files", s3_env], capsys)

    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    assert "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in _error_of(
        ["files", s3_env], capsys)

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("S3_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")  # nothing listens there
    assert "cannot reach the S3 endpoint" in _error_of(["files", s3_env], capsys)

    monkeypatch.setenv("RAW_ZONE_URL", "ftp://host/raw")
    assert "set RAW_ZONE_URL" in _error_of(["files", "--from-raw-zone", "api"], capsys)


def test_s3_endpoint_url_alone_is_enough(s3_env: str, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("S3_ENDPOINT_URL", s3_server.endpoint)
    zone = _s3_zone(s3_env)
    zone.write_object("x.jsonl", b"x\n")
    assert zone.list("") == ["x.jsonl"]


def test_the_server_script_is_idempotent(s3_server: S3Server) -> None:
    started = time.monotonic()
    assert _script("install").returncode == 0
    assert time.monotonic() - started < 5, "install must be fast when MinIO is already built"
    assert _script("start", s3_server.env).returncode == 0  # already running: says so, succeeds
    status = _script("status", s3_server.env)
    assert status.returncode == 0 and s3_server.endpoint in status.stdout


def test_the_api_writes_its_raw_zone_on_s3(s3_env: str, tmp_path: Path) -> None:
    """`serve` with an s3:// raw zone: each group commit is one object, there before the answer."""
    import http.client

    from api_events import invalid_events, valid_event

    from ingest.api.process import ApiProcess

    api = ApiProcess(raw_zone=s3_env, keys_file=tmp_path / "keys.json")
    key = api.create_key("s3")
    api.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
        body = json.dumps([valid_event("s3-1"), valid_event("s3-2"), invalid_events()[2][0]])
        connection.request("POST", "/v1/track", body=body,
                           headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["accepted"] == 2
        zone = _s3_zone(s3_env)
        accepted = [json.loads(line)["event_id"] for key_ in zone.list("api/") for line in zone.read(key_).splitlines()]
        rejected = [json.loads(line)["reason"] for key_ in zone.list("rejected/api/")
                    for line in zone.read(key_).splitlines()]
        assert accepted == ["s3-1", "s3-2"] and rejected == ["unknown_event_type"]
    finally:
        assert api.stop() == 0
