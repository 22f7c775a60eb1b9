"""Publishing serving.duckdb: the file BI tools read, never the warehouse itself.

DuckDB lets one process write a file and other processes cannot open it meanwhile, so BI tools
must not read the working warehouse. Each publish builds a complete new file beside the old one
and renames it over the old one in one step (`os.replace` is atomic on POSIX): a reader that
opens the file sees the old version or the new one, never a half-built one, and a reader that
already has the old file open keeps reading it undisturbed. If anything fails before the rename
(a full disk, a crash), the previous serving file is untouched.

What is published: every table of the analyst-facing schemas (marts, ml, features), with the
column comments dbt wrote, plus analyst-named views in `analytics` and a `footfall_meta.published`
table recording the version and every table's row count (so a reader can check it got a whole
version). Never raw, ops, staging or intermediate, and no birth years: BI needs age bands only.
"""

from __future__ import annotations

import errno
import os
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from footfall_platform.warehouse.sql import sql_literal

PUBLISHED_SCHEMAS = ("marts", "ml", "features")
WITHHELD_COLUMNS = {"birth_year"}  # age_band serves every BI need without the birth year
ANALYST_VIEWS = {
    "daily_footfall": "marts.fct_footfall_daily",
    "hourly_footfall": "marts.fct_footfall_hourly",
    "daily_sales": "marts.fct_sales_daily",
    "daily_conversion": "marts.fct_conversion_daily",
    "stores": "marts.dim_store",
    "products": "marts.dim_product",
    "customers": "marts.dim_customer",
    "baskets": "marts.fct_baskets",
    "product_funnel": "marts.fct_product_funnel",
    "zone_dwell": "marts.fct_zone_dwell",
    "camera_zone_dwell": "marts.fct_camera_zone_dwell",
    "forecasts": "ml.forecasts",
    "staffing_forecast": "ml.staffing_forecast",
    "recommendations": "ml.recommendations",
    "similar_products": "ml.similar_products",
    "association_rules": "ml.association_rules",
    "customer_segments": "ml.customer_segments",
    "segment_profiles": "ml.segment_profiles",
    "store_comparison": "ml.store_comparison",
    "segment_comparison": "ml.segment_comparison",
    "anomalies": "ml.anomalies",
}


class ServingNotPublished(RuntimeError):
    """A publish failed before its swap: the previous serving file is still the one served."""

    def __init__(self, serving: Path, error: BaseException) -> None:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        full = isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EFBIG)
        full = full or any(s in first for s in ("No space left", "File too large", "ENOSPC"))
        hint = (
            f"free disk space next to {serving} (the new file needs about as much room as "
            "the old one), then materialize serving/serving_duckdb again"
            if full
            else "fix the cause, then materialize serving/serving_duckdb again"
        )
        super().__init__(
            f"{serving} was not replaced: building the new version failed ({first}). The "
            f"previous version is untouched and readers keep reading it; {hint}."
        )
        self.serving = serving
        self.disk_full = full


@dataclass(frozen=True)
class Published:
    path: Path
    version: str
    published_at: datetime
    tables: dict[str, int]  # schema.table -> rows



def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    schemas = ", ".join(sql_literal(s) for s in PUBLISHED_SCHEMAS)
    return con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = "
        f"current_database() AND schema_name IN ({schemas}) AND NOT temporary ORDER BY 1, 2"
    ).fetchall()


def _copy_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> int:
    columns = con.execute(
        "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = "
        "current_database() AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, table],
    ).fetchall()
    kept = [(name, comment) for name, comment in columns if name not in WITHHELD_COLUMNS]
    select = ", ".join(f'"{name}"' for name, _ in kept)
    target = f'serving_new."{schema}"."{table}"'
    con.execute(f'CREATE TABLE {target} AS SELECT {select} FROM "{schema}"."{table}"')
    comment = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ?",
        [schema, table],
    ).fetchone()[0]
    if comment:
        con.execute(f"COMMENT ON TABLE {target} IS {sql_literal(comment)}")
    for name, text in kept:
        if text:
            con.execute(f'COMMENT ON COLUMN {target}."{name}" IS {sql_literal(text)}')
    return con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(con: duckdb.DuckDBPyConnection, serving: Path) -> Published:
    """Build a new serving file from the warehouse `con` and swap it in atomically.

    Raises ServingNotPublished, with the previous file in place, if anything fails first.
    """
    serving.parent.mkdir(parents=True, exist_ok=True)
    version = uuid.uuid4().hex[:12]
    building = serving.with_name(f".{serving.name}.{version}.building")
    published_at = datetime.now(UTC)
    counts: dict[str, int] = {}
    con.execute(f"ATTACH {sql_literal(str(building))} AS serving_new")
    try:
        for schema, table in _tables(con):
            con.execute(f'CREATE SCHEMA IF NOT EXISTS serving_new."{schema}"')
            counts[f"{schema}.{table}"] = _copy_table(con, schema, table)
        con.execute("CREATE SCHEMA serving_new.analytics")
        for view, source in ANALYST_VIEWS.items():
            if source in counts:
                # Views resolve inside the serving file: its own tables, no warehouse path.
                con.execute(f"CREATE VIEW serving_new.analytics.{view} AS SELECT * FROM {source}")
        con.execute("CREATE SCHEMA serving_new.footfall_meta")
        con.execute(
            "CREATE TABLE serving_new.footfall_meta.published (version VARCHAR, published_at "
            "TIMESTAMPTZ, table_name VARCHAR, row_count BIGINT)"
        )
        con.executemany(
            "INSERT INTO serving_new.footfall_meta.published VALUES (?, ?, ?, ?)",
            [(version, published_at, name, rows) for name, rows in counts.items()],
        )
        con.execute("DETACH serving_new")
        _fsync(building)
        os.replace(building, serving)  # the one step readers can observe
        _fsync(serving.parent)
    except BaseException as error:
        # A write that failed (disk full) fails the checkpoint of DETACH as well; DuckDB still
        # detaches, so that second error must not stop the cleanup or hide the first one.
        with suppress(duckdb.Error):
            con.execute("DETACH DATABASE IF EXISTS serving_new")
        building.unlink(missing_ok=True)
        Path(f"{building}.wal").unlink(missing_ok=True)
        if isinstance(error, Exception):
            raise ServingNotPublished(serving, error) from error
        raise
    return Published(serving, version, published_at, counts)


def check_complete(con: duckdb.DuckDBPyConnection) -> tuple[str, int]:
    """(version, tables) of an open serving file; raises if any table's rows disagree."""
    rows = con.execute(
        "SELECT version, table_name, row_count FROM footfall_meta.published ORDER BY table_name"
    ).fetchall()
    versions = {version for version, _, _ in rows}
    if len(versions) != 1:
        raise ValueError(f"serving file holds {len(versions)} versions")
    for _, name, expected in rows:
        schema, table = name.split(".")
        actual = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
        if actual != expected:
            raise ValueError(f"{name}: {actual} rows, the version says {expected}")
    return versions.pop(), len(rows)
