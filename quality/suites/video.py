"""Contracts of the tables video counting fills: counts in the camera-count shape, zone visits."""

from __future__ import annotations

from footfall_platform.warehouse.schema import (
    LINEAGE_COLUMNS,
    VIDEO_COUNT_COLUMNS,
    VIDEO_VISIT_COLUMNS,
)
from quality.rules import between, columns_are, no_rows_where, not_null, one_of, unique
from quality.suite import CURRENT_STORES, Suite

SHAPE_WHY = "Video counts stack with camera counts downstream, by these names and types."

VIDEO_SUITES = [
    Suite(
        "raw.video_counts",
        ("raw", "video_counts"),
        "People counted in door-camera video, in 15-minute periods: footfall where no counting "
        "sensor is installed.",
        rules=(
            *columns_are([*VIDEO_COUNT_COLUMNS, *LINEAGE_COLUMNS], why=SHAPE_WHY),
            *not_null("store_id", "camera_id", "period_start", "period_end", "entries", "exits",
                      "local_date", "source", why="A count needs its store, camera and period."),
            one_of("source", ["video"], why="This table holds video counts only."),
            between("period_minutes", 15, 15, why="Video is counted in 15-minute periods."),
            no_rows_where("periods start on the quarter hour",
                          "extract(minute FROM period_start) % 15 <> 0 OR "
                          "extract(second FROM period_start) <> 0",
                          columns=("period_start",),
                          why="Quarter-hour periods line up with every other count."),
            between("entries", 0, 900, why="More than one person a second through one door for "
                    "15 minutes is a broken count."),
            between("exits", 0, 900, why="More than one person a second through one door for "
                    "15 minutes is a broken count."),
            unique("source_sha256", "period_start", why="One row per clip and period."),
            no_rows_where("store is known", "true", dataset="unknown_store",
                          columns=("store_id",), why="Counts for an unknown store never report."),
        ),
        datasets={"unknown_store": "SELECT DISTINCT store_id FROM raw.video_counts WHERE store_id "
                  f"NOT IN (SELECT store_id FROM ({CURRENT_STORES}))"},
    ),
    Suite(
        "raw.video_zone_visits",
        ("raw", "video_zone_visits"),
        "Visits of anonymous tracks to camera zones (entrance, queue, fixture) with dwell times.",
        rules=(
            *columns_are([*VIDEO_VISIT_COLUMNS, *LINEAGE_COLUMNS], why=SHAPE_WHY),
            *not_null("store_id", "camera_id", "zone", "track_no", "entered_at", "left_at",
                      "dwell_seconds", why="A visit needs its zone, track and times."),
            between("track_no", 1, None, why="Track numbers count from 1 within a clip."),
            no_rows_where("dwell is the time between entering and leaving",
                          "left_at <= entered_at OR abs(dwell_seconds - "
                          "epoch(left_at - entered_at)) > 0.001",
                          columns=("entered_at", "left_at", "dwell_seconds"),
                          why="Dwell times are what queue and fixture reports average."),
            unique("source_sha256", "zone", "track_no", "entered_at",
                   why="A track visits a zone once at a time."),
        ),
    ),
]  # fmt: skip
