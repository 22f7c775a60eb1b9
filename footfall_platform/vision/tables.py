"""The two raw tables video fills, and the rows one counted clip gives them.

`raw.video_counts` has the shape of `raw.camera_counts` (the columns come from the same
declaration, in warehouse/schema.py) plus `source = 'video'`, so downstream models can stack the two. Periods are
15 minutes on the clock (UTC quarter hours are local quarter hours in every time zone), one row
per clip and period the clip overlaps, zero counts included: a zero says the camera watched and
nobody passed, which an absent row cannot say. `raw.video_zone_visits` holds one row per visit
with an anonymous track number that means nothing outside its clip.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb

from footfall_platform.vision.pipeline import ClipResult
from footfall_platform.warehouse.schema import LINEAGE_COLUMNS, VIDEO_TABLES, ensure_schema

PERIOD = dt.timedelta(minutes=15)
SOURCE = "video"


def ensure_video_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The ledger, the quarantine and the two video tables. They are declared with the other raw
    tables (warehouse/schema.py) and created in every warehouse, video or not, because the dbt
    models read them as sources."""
    ensure_schema(con)


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
    names = [n for n, _ in VIDEO_TABLES[table]] + [n for n, _ in LINEAGE_COLUMNS]
    marks = ", ".join("?" * len(names))
    con.executemany(
        f"INSERT INTO raw.{table} ({', '.join(names)}) VALUES ({marks})",
        [(*row, sha256, i, loaded_at) for i, row in enumerate(rows, start=1)],
    )
