"""Shared fixtures: a private FOOTFALL_HOME per test with its own landing zone and warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from footfall_platform.ingest.loader import SourceLoader
from footfall_platform.settings import Settings
from footfall_platform.warehouse.connection import connect

PII_KEY = "test-key-not-secret"
STORES_CSV = (
    "store_id,name,city,timezone,opened_on\n"
    "S1,Opera,Paris,Europe/Paris,2020-01-01\n"
    "S2,Soho,London,Europe/London,2019-05-01\n"
    "S3,Fifth Avenue,New York,America/New_York,2018-03-01\n"
)


def private_home(root: Path, env: pytest.MonkeyPatch) -> Settings:
    """Point every FOOTFALL_* place at `root/home`, with a test key and no settle time."""
    env.setenv("FOOTFALL_HOME", str(root / "home"))
    env.setenv("FOOTFALL_PII_KEY", PII_KEY)
    env.setenv("FOOTFALL_SETTLE_SECONDS", "0")
    for name in ("FOOTFALL_LANDING", "FOOTFALL_WAREHOUSE", "FOOTFALL_PII_KEY_FILE",
                 "FOOTFALL_DAGSTER_HOME", "DAGSTER_HOME"):  # fmt: skip
        env.delenv(name, raising=False)
    settings = Settings.from_env()
    settings.landing.mkdir(parents=True)
    return settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return private_home(tmp_path, monkeypatch)


def land(settings: Settings, relative: str, content: str | bytes) -> Path:
    """Write a file into the landing zone (text is written as UTF-8 bytes exactly as given)."""
    path = settings.landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


@pytest.fixture
def loader(home: Settings) -> Iterator[SourceLoader]:
    con = connect(home.warehouse)
    try:
        yield SourceLoader(con, home.landing, pii_key_file=home.pii_key_file)
    finally:
        con.close()


@pytest.fixture
def with_stores(home: Settings, loader: SourceLoader) -> SourceLoader:
    land(home, "stores/stores.csv", STORES_CSV)
    result = loader.load_source("stores")
    assert result.rows_loaded == 3
    return loader


def ledger(loader: SourceLoader) -> dict[str, dict]:
    cursor = loader.con.execute("SELECT * FROM ops.ingest_ledger")
    names = [d[0] for d in cursor.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def quarantine(loader: SourceLoader, path: str | None = None) -> list[tuple[int, str, str]]:
    where = "WHERE path = ?" if path else ""
    return loader.con.execute(
        f"SELECT line, reason, raw_record FROM ops.quarantine {where} ORDER BY path, line",
        [path] if path else [],
    ).fetchall()
