"""Camera video as counts: new clips of `landing/video/` into raw.video_counts and
raw.video_zone_visits.

Thin by design: footfall_platform.vision counts the clips (in parallel, one process per core)
and writes them with their ledger rows; the asset names its tables and reports what happened.
No frame, crop or image leaves the counting processes: only counts and anonymous tracks.
"""

import dagster as dg

from footfall_platform.orchestration.resources import WRITER_POOL, FootfallWarehouse
from footfall_platform.vision.loader import VideoLoader
from footfall_platform.warehouse.inspect import markdown_table, preview

COUNTS = dg.AssetKey(["raw", "video_counts"])
VISITS = dg.AssetKey(["raw", "video_zone_visits"])
STATUSES = ("loaded", "partial", "rejected", "duplicate")
LANDING_NOTE = (
    "\n\nCounted from `landing/video/<store_id>/<camera_id>/<YYYYMMDDTHHMMSS>.<mp4|avi|mkv>` "
    "with `landing/video/cameras.yaml` (docs/landing-zone.md, docs/vision.md); every clip is "
    "recorded in `ops.ingest_ledger` (source 'video')."
)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            COUNTS, group_name="ingest", kinds={"opencv", "duckdb"},
            deps=[dg.AssetKey(["raw", "stores"])], owners=["team:data"], tags={"layer": "raw"},
            description="People entering and leaving, counted from camera video: the shape of "
            "raw.camera_counts plus source = 'video', in 15-minute periods (UTC, with the "
            "store-local date and hour), one row per clip and period." + LANDING_NOTE,
        ),
        dg.AssetSpec(
            VISITS, group_name="ingest", kinds={"opencv", "duckdb"},
            deps=[dg.AssetKey(["raw", "stores"])], owners=["team:data"], tags={"layer": "raw"},
            description="Visits to the zones of camera pictures (entrance, checkout queue, "
            "fixtures): zone, anonymous track number, entered_at, left_at, dwell_seconds."
            + LANDING_NOTE,
        ),
    ],
    pool=WRITER_POOL,
)  # fmt: skip
def video_counts(context: dg.AssetExecutionContext, warehouse: FootfallWarehouse):
    with warehouse.connect() as con:
        loader = VideoLoader(con, warehouse.landing, settle_seconds=warehouse.settle_seconds)
        result = loader.load()
        totals = {t: con.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0]
                  for t in ("video_counts", "video_zone_visits")}  # fmt: skip
        counts_preview = preview(con, "raw.video_counts", order_by="loaded_at DESC, source_line")
        visits_preview = preview(con, "raw.video_zone_visits",
                                 order_by="loaded_at DESC, source_line")  # fmt: skip
    for file in result.files:
        context.log.info(f"{file.path}: {file.status}: {file.message or ''}")
    clips = list(result.clips.values())
    common = {
        "clips": dg.MetadataValue.int(len(clips)),
        **{f"files_{s}": dg.MetadataValue.int(result.count(s)) for s in STATUSES},
        "fps": dg.MetadataValue.float(
            round(sum(c.processing_fps for c in clips) / len(clips), 1) if clips else 0.0
        ),
    }
    yield dg.MaterializeResult(asset_key=COUNTS, metadata={
        **common,
        "dagster/row_count": dg.MetadataValue.int(totals["video_counts"]),
        "entries": dg.MetadataValue.int(sum(c.entries for c in clips)),
        "exits": dg.MetadataValue.int(sum(c.exits for c in clips)),
        "preview": dg.MetadataValue.md(markdown_table(*counts_preview)),
    })  # fmt: skip
    yield dg.MaterializeResult(asset_key=VISITS, metadata={
        **common,
        "dagster/row_count": dg.MetadataValue.int(totals["video_zone_visits"]),
        "zone_visits": dg.MetadataValue.int(sum(len(c.visits) for c in clips)),
        "preview": dg.MetadataValue.md(markdown_table(*visits_preview)),
    })  # fmt: skip
    if result.errors:
        raise dg.Failure(
            description=f"{len(result.errors)} clip(s) could not be counted and stay in the "
            "landing zone for the next run; the other clips loaded.",
            metadata={"errors": dg.MetadataValue.md("\n".join(f"- {e}" for e in result.errors))},
        )


VIDEO_ASSETS = [video_counts]
