"""Where Footfall keeps its files, read once from the environment.

Every place can be overridden separately so that an operator can put the warehouse on a fast disk
and the landing zone on a shared mount without moving anything else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _path(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    return Path(value).expanduser() if value else default


class SettingsError(ValueError):
    """An environment variable holds a value Footfall cannot use; the message names it."""


def _days(env: str) -> int | None:
    """A retention period in whole days; unset or empty means keep forever."""
    value = os.environ.get(env, "").strip()
    if not value:
        return None
    try:
        days = int(value)
    except ValueError:
        raise SettingsError(
            f"{env}={value!r} is not a whole number of days (unset it to keep everything)"
        ) from None
    if days < 1:
        raise SettingsError(f"{env}={value!r}: a retention period is at least 1 day")
    return days


@dataclass(frozen=True)
class Settings:
    home: Path
    landing: Path
    warehouse: Path
    serving: Path
    dagster_home: Path
    reports: Path
    pii_key_file: Path
    settle_seconds: float
    memory_limit: str
    # Also export the serving tables as Parquet beside serving.duckdb (docs/bi.md).
    serving_parquet: bool = False
    # Personal data older than this is erased from the raw layer; None keeps everything.
    retention_days: int | None = None
    # Quarantined rows (which may hold a rejected line's text) older than this are deleted.
    quarantine_retention_days: int | None = None

    @property
    def logs(self) -> Path:
        """Where run summaries (runs.jsonl) are written."""
        return self.home / "logs"

    @classmethod
    def from_env(cls) -> Settings:
        home = _path("FOOTFALL_HOME", Path(".footfall")).absolute()
        return cls(
            home=home,
            landing=_path("FOOTFALL_LANDING", home / "landing").absolute(),
            warehouse=_path("FOOTFALL_WAREHOUSE", home / "warehouse.duckdb").absolute(),
            serving=_path("FOOTFALL_SERVING", home / "serving.duckdb").absolute(),
            dagster_home=_path(
                "FOOTFALL_DAGSTER_HOME", _path("DAGSTER_HOME", home / "dagster")
            ).absolute(),
            reports=_path("FOOTFALL_REPORTS", home / "reports").absolute(),
            pii_key_file=_path("FOOTFALL_PII_KEY_FILE", home / "pii.key").absolute(),
            settle_seconds=float(os.environ.get("FOOTFALL_SETTLE_SECONDS", "5")),
            memory_limit=os.environ.get("FOOTFALL_DUCKDB_MEMORY", "1GB"),
            serving_parquet=os.environ.get("FOOTFALL_SERVING_PARQUET", "").strip().lower()
            in {"1", "true", "yes", "on"},
            retention_days=_days("FOOTFALL_RETENTION_DAYS"),
            quarantine_retention_days=_days("FOOTFALL_QUARANTINE_RETENTION_DAYS"),
        )
