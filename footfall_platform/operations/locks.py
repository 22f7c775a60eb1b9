"""Opening a DuckDB file read-only for an inspection, and saying who holds it when we cannot.

DuckDB lets one process write a file; while it does, no other process can open the file at all.
An inspection (doctor, audit) must not wait the two minutes a pipeline writer would: it reports
the holder at once. DuckDB's lock error names the holder's program and PID; that is what an
operator needs to decide whether to wait or to stop it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from footfall_platform.warehouse.connection import connect

_HOLDER = re.compile(
    r"lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)(?: by user (?P<user>\S+))?"
)


class Locked(RuntimeError):
    """A writer holds the file; `holder` says who, as DuckDB reported it."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is locked by a writer: {holder}")
        self.path = path
        self.holder = holder


def lock_holder(error: BaseException) -> str | None:
    """'PID 123 (/usr/bin/python3)' from DuckDB's lock error; None if `error` is not one."""
    text = str(error)
    if "lock" not in text.lower():
        return None
    found = _HOLDER.search(text)
    if not found:
        return "another process" if "conflicting lock" in text.lower() else None
    user = f", user {found['user'].rstrip('.')}" if found["user"] else ""
    return f"PID {found['pid']} ({found['program']}{user})"


@contextmanager
def open_read_only(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection that fails at once with `Locked` if a writer holds the file."""
    try:
        con = connect(path, read_only=True, lock_wait=0)
    except duckdb.Error as error:
        holder = lock_holder(error)
        if holder is None:
            raise
        raise Locked(path, holder) from error
    try:
        yield con
    finally:
        con.close()
