"""Finding the files of a drop and telling a usable file from one that is not.

Discovery is a snapshot: a run loads the files that were complete when it started, and a file
that arrives meanwhile waits for the next run rather than being read half-written.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from footfall_platform.landing.contract import ACCEPTED_SUFFIXES, IGNORED_SUFFIXES

SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class LandedFile:
    path: Path
    relative: str  # path relative to the landing folder, as the ledger records it
    size: int
    mtime_ns: int

    @property
    def suffix(self) -> str:
        name = self.path.name.lower()
        return next((s for s in ACCEPTED_SUFFIXES if name.endswith(s)), self.path.suffix.lower())


class Unreadable(Exception):
    """A file that cannot be read as its source: it is rejected as a whole, with this message."""


def discover(landing: Path, source: str, settle_seconds: float = 0.0) -> list[LandedFile]:
    """The files of one source that are complete now, oldest first (so updates apply in order)."""
    folder = landing / source
    if not folder.is_dir():
        return []
    cutoff = time.time() - settle_seconds
    found: list[LandedFile] = []
    for path in folder.rglob("*"):
        name = path.name
        if name.startswith(".") or name.lower().endswith(IGNORED_SUFFIXES) or not path.is_file():
            continue
        info = path.stat()
        if settle_seconds and info.st_mtime > cutoff:
            continue
        found.append(
            LandedFile(path, path.relative_to(landing).as_posix(), info.st_size, info.st_mtime_ns)
        )
    return sorted(found, key=lambda f: (f.mtime_ns, f.relative))


@dataclass(frozen=True)
class Fingerprint:
    """What one read of a file tells: its identity and, for CSV, how many lines it spans."""

    sha256: str
    lines: int | None  # physical lines of the (decompressed) text; None when unknown


def _blocks(handle: BinaryIO) -> Iterator[bytes]:
    while chunk := handle.read(1 << 22):
        yield chunk


def _count_lines(chunks: Iterator[bytes]) -> int:
    lines, last = 0, b"\n"
    for chunk in chunks:
        lines += chunk.count(b"\n")
        last = chunk[-1:]
    return lines + (last != b"\n")  # a last line without its line break counts too


def _hashed(path: Path, update: Callable[[bytes], None]) -> Iterator[bytes]:
    with path.open("rb") as handle:
        for chunk in _blocks(handle):
            update(chunk)
            yield chunk


def fingerprint(file: LandedFile) -> Fingerprint:
    """The content hash and, for CSV, the line count, reading the bytes once.

    The line count lets the stage prove cheaply that no quoted field spans lines, so that a
    row's line number follows from its position alone.
    """
    digest = hashlib.sha256()
    blocks = _hashed(file.path, digest.update)
    lines: int | None = None
    if file.suffix == ".csv":
        lines = _count_lines(blocks)
    else:
        for _ in blocks:
            pass
    if file.suffix == ".csv.gz":
        try:
            with gzip.open(file.path, "rb") as handle:
                lines = _count_lines(_blocks(handle))
        except (OSError, EOFError, zlib.error):
            lines = None  # staging says what is wrong with the file
    return Fingerprint(digest.hexdigest(), lines)


def _head(path: Path, compressed: bool) -> bytes:
    try:
        if compressed:
            with gzip.open(path, "rb") as handle:
                return handle.read(SNIFF_BYTES)
        with path.open("rb") as handle:
            return handle.read(SNIFF_BYTES)
    except (OSError, EOFError) as error:
        raise Unreadable(f"not a readable gzip file: {error}") from error


def csv_header(path: Path) -> list[str]:
    """The header of a CSV file, or Unreadable saying why the file is not a CSV at all."""
    head = _head(path, path.name.lower().endswith(".gz"))
    if not head:
        raise Unreadable("empty file (no header)")
    if b"\x00" in head:
        raise Unreadable("binary content (NUL bytes): not a CSV file")
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    if first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Unreadable(f"header is not valid UTF-8 ({error.reason})") from error
    fields = next(csv.reader(io.StringIO(text)), [])
    names = [f.strip().lower() for f in fields]
    if not any(names):
        raise Unreadable("no header row")
    duplicated = sorted({n for n in names if names.count(n) > 1 and n})
    if duplicated:
        raise Unreadable(f"header names a column twice: {', '.join(duplicated)}")
    return names
