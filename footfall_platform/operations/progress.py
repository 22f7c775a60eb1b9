"""Progress bars for long CLI work, shown only to a person at a terminal.

Bars go to stderr and only when stderr is a TTY and logs are not JSON: a CI log, a cron mail or a
log shipper never receives carriage-return noise, and stdout stays the command's result.
"""

from __future__ import annotations

import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from tqdm import tqdm


def bars_enabled(stream: TextIO | None = None, json_logs: bool = False) -> bool:
    stream = stream or sys.stderr
    return not json_logs and hasattr(stream, "isatty") and stream.isatty()


def bar(total: int | None, desc: str, unit: str, *, enabled: bool) -> tqdm:
    """A tqdm bar on stderr, or a silent stand-in with the same methods when not enabled.

    The size is fixed at start: a terminal that reports 0 rows (a fresh pseudo-terminal, some
    `docker exec -t`) would otherwise make tqdm draw nothing at all.
    """
    width = shutil.get_terminal_size().columns  # 80 when the terminal does not say
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=not enabled,
                leave=False, ncols=width, nrows=24)  # fmt: skip


def _count_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


@contextmanager
def watch_files(folder: Path, desc: str, *, enabled: bool, every: float = 0.5) -> Iterator[None]:
    """While the body runs, show how many files `folder` holds (work that gives no callback)."""
    if not enabled:
        yield
        return
    stop = threading.Event()
    with bar(None, desc, "file", enabled=True) as progress:

        def poll() -> None:
            while not stop.wait(every):
                progress.n = _count_files(folder)
                progress.refresh()

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        try:
            yield
        finally:
            stop.set()
            watcher.join()
