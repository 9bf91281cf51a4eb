"""A raw file's bytes, gunzipped when it is gzip (told by its magic number, not its name)."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

from ingest.errors import InputError

BLOCK_BYTES = 64 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"


def read_blocks(path: Path) -> Iterator[bytes]:
    """Blocks of the file's bytes, gunzipped when the file is gzip (by its magic number)."""
    with open(path, "rb") as handle:
        is_gzip = handle.read(2) == GZIP_MAGIC
    try:
        opener = gzip.open if is_gzip else open
        with opener(path, "rb") as stream:
            while block := stream.read(BLOCK_BYTES):
                yield block
    except (OSError, EOFError, zlib.error) as error:
        raise InputError(f"{path}: cannot read the file ({error}); is it a complete gzip file?") from error
