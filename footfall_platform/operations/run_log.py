"""Structured logs: one JSON line per finished run, and JSON log lines for the CLI.

`FOOTFALL_HOME/logs/runs.jsonl` is the operator's history in a form `jq`, a log shipper or
DuckDB's `read_json` reads: what ran, how long, which tables got how many rows, which checks
failed. It carries names and counts only, never values, so it holds no personal data; log lines
go through `redact` as well, in case a message quotes an email or a phone number.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from footfall_platform.operations.pii_patterns import redact

RUNS_FILE = "runs.jsonl"
LOG_FORMAT_ENV = "FOOTFALL_LOG_FORMAT"


@dataclass
class RunSummary:
    """What one run did, without any value from the data."""

    run_id: str
    job: str
    status: str  # SUCCESS | FAILURE | CANCELED
    started_at: datetime | None
    ended_at: datetime | None
    assets: dict[str, int | None] = field(default_factory=dict)  # asset -> rows (None: unknown)
    checks_passed: list[str] = field(default_factory=list)
    checks_failed: list[dict[str, str]] = field(default_factory=list)  # check, asset, severity
    failed_steps: list[dict[str, str]] = field(default_factory=list)  # step, error class
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return round((self.ended_at - self.started_at).total_seconds(), 3)

    def as_dict(self) -> dict:
        out = asdict(self)
        for key in ("started_at", "ended_at"):
            out[key] = out[key].astimezone(UTC).isoformat() if out[key] else None
        out["duration_seconds"] = self.seconds
        out["rows"] = sum(n for n in self.assets.values() if n is not None)
        return out


def append_run_summary(folder: Path, summary: RunSummary) -> Path:
    """Append the summary as one line of `folder/runs.jsonl`; returns the file.

    One `write` on a file opened for appending: two writers finishing together cannot
    interleave their lines.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RUNS_FILE
    line = json.dumps(summary.as_dict(), sort_keys=True, ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    return path


def read_run_summaries(folder: Path) -> list[dict]:
    path = folder / RUNS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message (redacted), and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            out["error"] = record.exc_info[0].__name__ if record.exc_info[0] else "error"
        return json.dumps(out, default=str, ensure_ascii=False)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def wants_json(flag: bool = False) -> bool:
    return flag or os.environ.get(LOG_FORMAT_ENV, "").strip().lower() == "json"


def configure_logging(json_lines: bool, level: int = logging.INFO,
                      stream: TextIO | None = None) -> logging.Handler:  # fmt: skip
    """Log to stderr (or `stream`) as JSON lines or as plain text, replacing root handlers."""
    handler = logging.StreamHandler(stream or sys.stderr)
    # Libraries (Dagster, GX) set their own loggers to INFO or DEBUG; they still reach this
    # handler through the root logger, so the handler itself holds the level.
    handler.setLevel(level)
    handler.setFormatter(
        JsonFormatter() if json_lines else RedactingFormatter("%(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
