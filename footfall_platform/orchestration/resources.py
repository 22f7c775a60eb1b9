"""The one resource every writer shares: where the warehouse and the landing zone are.

Built once in definitions from Settings, so every asset, sensor and the CLI agree on the places.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from footfall_platform.ingest.loader import SourceLoader
from footfall_platform.settings import Settings
from footfall_platform.warehouse.connection import open_warehouse

WRITER_POOL = "duckdb_writer"  # one writing process at a time: DuckDB's own rule


class FootfallWarehouse(dg.ConfigurableResource):
    """The working DuckDB warehouse and the landing zone feeding it."""

    warehouse_path: str
    landing_path: str
    pii_key_file: str
    reports_path: str = ""  # validation reports, one folder per run
    serving_path: str = ""  # the file BI tools read
    settle_seconds: float = 5.0
    memory_limit: str = "1GB"
    serving_parquet: bool = False  # also export the serving tables as Parquet beside it

    @classmethod
    def from_settings(
        cls, settings: Settings, settle_seconds: float | None = None
    ) -> FootfallWarehouse:
        return cls(
            warehouse_path=str(settings.warehouse),
            landing_path=str(settings.landing),
            pii_key_file=str(settings.pii_key_file),
            reports_path=str(settings.reports),
            serving_path=str(settings.serving),
            settle_seconds=settings.settle_seconds if settle_seconds is None else settle_seconds,
            memory_limit=settings.memory_limit,
            serving_parquet=settings.serving_parquet,
        )

    @property
    def landing(self) -> Path:
        return Path(self.landing_path)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_warehouse(
            self.warehouse_path, read_only=read_only, memory_limit=self.memory_limit
        ) as con:
            yield con

    @contextmanager
    def loader(self) -> Iterator[SourceLoader]:
        with self.connect() as con:
            yield SourceLoader(
                con, self.landing, pii_key_file=Path(self.pii_key_file),
                settle_seconds=self.settle_seconds,
            )  # fmt: skip
