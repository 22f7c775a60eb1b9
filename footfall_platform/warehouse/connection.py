"""Opening the warehouse the same way everywhere.

DuckDB takes the session time zone from the machine; pinning it to UTC makes every TIMESTAMPTZ
render and cast the same on a laptop in Paris and on CI. DuckDB also allows one writing process
per file: a writer that finds the file locked waits and retries instead of failing the run, and
if the lock outlives the wait it fails with `WarehouseLocked`, which names the process holding
the file (a stray notebook, a BI tool pointed at the warehouse, a hung run) so an operator can
decide whether to wait or stop it. Waiting never touches the file, so a lock costs time, never
data.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 120.0
_HOLDER_PID = re.compile(r"\(PID (\d+)\)")
_HOLDER_PROGRAM = re.compile(r"lock is held in (.+?) \(PID")


def _is_lock_error(error: duckdb.Error) -> bool:
    text = str(error).lower()
    return "lock" in text and ("conflicting" in text or "could not set lock" in text)


def _command_line(pid: int) -> str | None:
    """The holder's command line, where the system shows it (/proc on Linux)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    command = " ".join(raw.decode(errors="replace").replace("\0", " ").split())
    # Long ones (python -c '<script>' file) keep both ends: the program and its arguments.
    return command if len(command) <= 300 else f"{command[:200]} … {command[-90:]}"


class WarehouseLocked(duckdb.IOException):
    """Another process kept the DuckDB file locked for longer than we were willing to wait.

    A DuckDB error still (callers that catch duckdb.Error keep working), and its text ends with
    DuckDB's own message, which tools that parse the holder out of it rely on.
    """

    def __init__(
        self, path: Path | str, pid: int | None, command: str | None, waited: float, said: str
    ) -> None:
        self.path = Path(path)
        self.pid = pid  # the holder's process id, as DuckDB reported it
        self.command = command  # its command line (or program), to recognise it
        self.waited = waited
        self.said = said  # DuckDB's own message
        holder = f"process {pid}" if pid else "another process"
        if command:
            holder += f" ({command})"
        stop = f"stop it (kill {pid})" if pid else "stop it"
        super().__init__(
            f"{path} is locked by {holder}; gave up after waiting {waited:.0f} s. While one "
            f"process has a DuckDB file open for writing no other process can open it: wait "
            f"for that one to finish, or {stop} if it is stray (a notebook or a BI tool should "
            f"read serving.duckdb, never the warehouse), then run again. DuckDB said: {said}"
        )

    @property
    def holder(self) -> str:
        """'PID 123 (python run.py)': who to wait for or stop."""
        who = f"PID {self.pid}" if self.pid else "another process"
        return f"{who} ({self.command})" if self.command else who

    def __reduce__(self) -> tuple:  # keeps the fields across processes (pickling)
        return type(self), (self.path, self.pid, self.command, self.waited, self.said)

    @classmethod
    def from_error(cls, path: Path | str, error: duckdb.Error, waited: float) -> WarehouseLocked:
        said = str(error).splitlines()[0]
        pid = _HOLDER_PID.search(said)
        program = _HOLDER_PROGRAM.search(said)
        command = (_command_line(int(pid[1])) if pid else None) or (program[1] if program else None)
        return cls(path, int(pid[1]) if pid else None, command, waited, said)


def connect(
    path: Path | str,
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
    lock_wait: float = LOCK_WAIT_SECONDS,
) -> duckdb.DuckDBPyConnection:
    """Open the database at `path`, waiting up to `lock_wait` s for another writer to let go.

    Raises WarehouseLocked if the lock outlives the wait.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    deadline = started + lock_wait
    delay, warned = 0.05, False
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.Error as error:
            if not _is_lock_error(error):
                raise
            now = time.monotonic()
            if now >= deadline:
                raise WarehouseLocked.from_error(path, error, now - started) from error
            if not warned:
                holder = _HOLDER_PID.search(str(error))
                log.warning(
                    "%s is locked by PID %s; waiting up to %g s for it (our PID %d)",
                    path, holder[1] if holder else "?", lock_wait, os.getpid(),
                )  # fmt: skip
                warned = True
            time.sleep(min(delay, max(deadline - now, 0.0)))
            delay = min(delay * 2, 2.0)
    con.execute("SET TimeZone = 'UTC'")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    return con


@contextmanager
def open_warehouse(
    path: Path | str, *, read_only: bool = False, memory_limit: str | None = None,
    lock_wait: float = LOCK_WAIT_SECONDS,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """`connect` for a `with` block; an inspection (doctor, audit) passes lock_wait=0 to report a
    writer's lock at once instead of waiting for it."""
    con = connect(path, read_only=read_only, memory_limit=memory_limit, lock_wait=lock_wait)
    try:
        yield con
    finally:
        con.close()
