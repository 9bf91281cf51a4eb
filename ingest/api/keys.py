"""API keys: shown once at creation, stored only as SHA-256 hashes in a JSON file.

Keys are 32 random bytes, so a plain SHA-256 is as good as a slow password hash here: there
is nothing to brute-force. The server re-reads the file when it changes, so `keys revoke`
takes effect without a restart.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingest.errors import InputError
from ingest.zone.durable import make_dirs, write_atomically

KEY_PREFIX = "sbk_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredKey:
    name: str
    key_sha256: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class KeyFile:
    """The key store on disk; every change is written atomically (temp file + rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[StoredKey]:
        if not self.path.exists():
            return []
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))
            return [StoredKey(**entry) for entry in entries]
        except (ValueError, TypeError) as error:
            raise InputError(f"{self.path}: not a key file written by `python -m ingest keys` ({error})") from None

    def _write(self, keys: list[StoredKey]) -> None:
        make_dirs(self.path.parent)
        write_atomically(self.path, json.dumps([asdict(key) for key in keys], indent=2).encode(), mode=0o600,
                         temp_prefix=".keys-")

    def create(self, name: str) -> str:
        """A new key for `name`, returned once; only its hash is kept."""
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            raise InputError(f"key name {name!r}: use letters, digits, '-' and '_'")
        keys = self.read()
        if any(key.name == name and key.active for key in keys):
            raise InputError(f"an active key named {name!r} exists; revoke it first or pick another name")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self._write([*keys, StoredKey(name=name, key_sha256=hash_key(key), created_at=now)])
        return key

    def revoke(self, name: str) -> None:
        keys = self.read()
        if not any(key.name == name and key.active for key in keys):
            raise InputError(f"no active key named {name!r} (see `python -m ingest keys list`)")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self._write([StoredKey(k.name, k.key_sha256, k.created_at, now) if k.name == name and k.active else k
                     for k in keys])


class KeyRing:
    """Active key hashes -> key name, refreshed from the file when its mtime changes."""

    def __init__(self, key_file: KeyFile) -> None:
        self.key_file = key_file
        self._mtime: float | None = None
        self._names_by_hash: dict[str, str] = {}
        self.refresh()

    def refresh(self) -> None:
        try:
            mtime = self.key_file.path.stat().st_mtime
        except FileNotFoundError:
            mtime = None
        if mtime != self._mtime:
            self._names_by_hash = {key.key_sha256: key.name for key in self.key_file.read() if key.active}
            self._mtime = mtime

    def __len__(self) -> int:
        return len(self._names_by_hash)

    def key_name(self, authorization: bytes | None) -> str | None:
        """The name of the key in an `Authorization: Bearer <key>` header, or None."""
        if not authorization:
            return None
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self._names_by_hash.get(hash_key(token.strip()))
