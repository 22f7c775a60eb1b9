"""Jobs, the landing sensor and the daily schedule: what runs without someone clicking.

The sensor's cursor remembers every file it has seen by path, size and modification time, so a
tick with nothing new requests nothing, and a file rewritten in place counts as new.
"""


import hashlib
import json

import dagster as dg

from footfall_platform.ingest.files import discover
from footfall_platform.landing.contract import LOAD_ORDER
from footfall_platform.orchestration.resources import FootfallWarehouse

ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.groups("ingest"),
    description="Load every new file of the landing zone into the raw layer.",
)
refresh_models_job = dg.define_asset_job(
    "refresh_models",
    selection=dg.AssetSelection.groups("mining", "forecasts", "recommendations", "serving"),
    description="Retrain and re-score every model (forecasts, recommendations, rules, "
    "segments, anomalies) on the current marts, then republish the BI file.",
)
full_refresh_job = dg.define_asset_job(
    "full_refresh",
    selection=dg.AssetSelection.all(),
    description="Everything: new files, then every table and model built on them.",
)

daily_refresh_schedule = dg.ScheduleDefinition(
    name="daily_refresh",
    job=full_refresh_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    description="Every morning at 05:00 UTC: load what arrived overnight and refresh every "
    "downstream table and model.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


# Downstream of the raw layer, automated materializations wait for fresh parents whose blocking
# quality checks passed: a drop that broke a contract stays out of the marts in later runs too.
QUALITY_GATED = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("eager, once every parent's blocking checks passed")

quality_gated_automation = dg.AutomationConditionSensorDefinition(
    "quality_gated_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Materializes downstream assets after their parents update, only when every "
    "parent's blocking Great Expectations check passed.",
)


def gate_downstream(assets: list[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """Give every asset outside the ingest group the quality-gated automation condition."""
    return [
        a if set(a.group_names_by_key.values()) == {"ingest"} else a.map_asset_specs(
            lambda spec: spec.replace_attributes(automation_condition=QUALITY_GATED)
        )
        for a in assets
    ]  # fmt: skip


# Each landing folder and the assets that load it (video fills two tables in one step).
SENSED: dict[str, list[dg.AssetKey]] = {
    **{source: [dg.AssetKey(["raw", source])] for source in LOAD_ORDER},
    "video": [dg.AssetKey(["raw", "video_counts"]), dg.AssetKey(["raw", "video_zone_visits"])],
}


def _fingerprint(size: int, mtime_ns: int) -> str:
    return f"{size}:{mtime_ns}"


@dg.sensor(
    name="landing_sensor",
    job=ingest_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches the landing zone and requests an ingest run of the sources that "
    "received new or changed files.",
)
def landing_sensor(context: dg.SensorEvaluationContext, warehouse: FootfallWarehouse):
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    new: dict[str, str] = {}
    sources: list[str] = []
    for source in SENSED:
        files = discover(warehouse.landing, source, warehouse.settle_seconds)
        fresh = {
            f.relative: _fingerprint(f.size, f.mtime_ns)
            for f in files
            if seen.get(f.relative) != _fingerprint(f.size, f.mtime_ns)
        }
        if fresh:
            sources.append(source)
            new.update(fresh)
    if not new:
        return dg.SkipReason("no new files in the landing zone")
    run_key = hashlib.sha256(json.dumps(sorted(new.items())).encode()).hexdigest()[:16]
    context.update_cursor(json.dumps({**seen, **new}, sort_keys=True))
    return dg.RunRequest(
        run_key=run_key,
        asset_selection=[key for s in sources for key in SENSED[s]],
        tags={"footfall/new_files": str(len(new)), "footfall/sources": ",".join(sources)},
    )
