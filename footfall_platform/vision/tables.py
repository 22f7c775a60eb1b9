"""The two raw tables video fills, and the rows one counted clip gives them.

`raw.video_counts` has the shape of `raw.camera_counts` (the columns come from the same
declaration) plus `source = 'video'`, so downstream models can stack the two. Periods are
15 minutes on the clock (UTC quarter hours are local quarter hours in every time zone), one row
per clip and period the clip overlaps, zero counts included: a zero says the camera watched and
nobody passed, which an absent row cannot say. `raw.video_zone_visits` holds one row per visit
with an anonymous track number that means nothing outside its clip.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb

from footfall_platform.landing.contract import SOURCES
from footfall_platform.vision.pipeline import ClipResult
from footfall_platform.warehouse.schema import LINEAGE_COLUMNS, ensure_schema, stored_columns

PERIOD = dt.timedelta(minutes=15)
SOURCE = "video"

COUNT_COLUMNS = [*stored_columns(SOURCES["camera_counts"]), ("source", "VARCHAR")]
VISIT_COLUMNS = [
    ("store_id", "VARCHAR"), ("camera_id", "VARCHAR"), ("zone", "VARCHAR"),
    ("track_no", "INTEGER"), ("entered_at", "TIMESTAMPTZ"), ("left_at", "TIMESTAMPTZ"),
    ("dwell_seconds", "DOUBLE"), ("local_date", "DATE"),
]  # fmt: skip
TABLES = {"video_counts": COUNT_COLUMNS, "video_zone_visits": VISIT_COLUMNS}


def ensure_video_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The ledger and quarantine (shared with every source) and the two video tables."""
    ensure_schema(con)
    for table, columns in TABLES.items():
        body = ",\n    ".join(f'"{n}" {t}' for n, t in [*columns, *LINEAGE_COLUMNS])
        con.execute(f"CREATE TABLE IF NOT EXISTS raw.{table} (\n    {body}\n)")


def utc_start(local_start: dt.datetime, timezone: str) -> dt.datetime:
    """The instant of a store-local time (the earlier one when clocks go back)."""
    return local_start.replace(tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)


def count_rows(result: ClipResult, store_id: str, camera_id: str, start: dt.datetime,
               timezone: str) -> list[tuple]:  # fmt: skip
    """One row per 15-minute period the clip overlaps (UTC `start`), zero counts included."""
    if result.frames_read == 0:
        return []
    end = start + dt.timedelta(seconds=result.seconds)
    first = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0)
    zone = ZoneInfo(timezone)
    rows = []
    period = first
    while period < end:
        lo = (period - start).total_seconds()
        hi = lo + PERIOD.total_seconds()
        crossed = [c.direction for c in result.crossings if lo <= c.seconds < hi]
        local = period.astimezone(zone)
        rows.append((store_id, camera_id, period, local.date(), local.hour, period + PERIOD,
                     crossed.count("entry"), crossed.count("exit"), 15.0, SOURCE))  # fmt: skip
        period += PERIOD
    return rows


def visit_rows(result: ClipResult, store_id: str, camera_id: str, start: dt.datetime,
               timezone: str) -> list[tuple]:  # fmt: skip
    zone = ZoneInfo(timezone)
    rows = []
    for v in result.visits:
        entered = start + dt.timedelta(seconds=v.entered)
        rows.append((store_id, camera_id, v.zone, v.track_no, entered,
                     start + dt.timedelta(seconds=v.left), round(v.dwell, 3),
                     entered.astimezone(zone).date()))  # fmt: skip
    return rows


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple], sha256: str,
                loaded_at: dt.datetime) -> None:  # fmt: skip
    """Insert rows of a raw video table with their lineage (clip hash, row number, load time)."""
    if not rows:
        return
    names = [n for n, _ in TABLES[table]] + [n for n, _ in LINEAGE_COLUMNS]
    marks = ", ".join("?" * len(names))
    con.executemany(
        f"INSERT INTO raw.{table} ({', '.join(names)}) VALUES ({marks})",
        [(*row, sha256, i, loaded_at) for i, row in enumerate(rows, start=1)],
    )
