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
        )
