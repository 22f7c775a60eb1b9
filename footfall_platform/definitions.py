"""The composition root: every asset, check, resource, job, sensor and schedule, assembled once."""

from __future__ import annotations

import dagster as dg

from assets.evaluation import build_evaluation_asset
from assets.forecast import FORECAST_ASSETS
from assets.mining import MINING_ASSETS
from assets.ops import OPS_ASSETS
from assets.raw import RAW_ASSETS
from assets.recommend import RECOMMEND_ASSETS
from assets.retention import RetentionPeriods, retention_asset
from assets.serving import build_serving_asset
from assets.transform import TRANSFORM_ASSETS, dbt_resource
from assets.video import VIDEO_ASSETS
from footfall_platform.orchestration.automation import (
    daily_refresh_schedule,
    full_refresh_job,
    gate_downstream,
    ingest_job,
    landing_sensor,
    quality_gated_automation,
    refresh_models_job,
)
from footfall_platform.orchestration.resources import FootfallWarehouse
from footfall_platform.orchestration.run_summary import RUN_SUMMARY_SENSORS, RunLog
from footfall_platform.settings import Settings
from quality.checks import QUALITY_CHECKS, with_quality_kind

MODEL_ASSETS = [*MINING_ASSETS, *FORECAST_ASSETS, *RECOMMEND_ASSETS]


def _keys(assets: list[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    return [key for asset in assets for key in asset.keys]


EVALUATION_ASSET = build_evaluation_asset(_keys([*FORECAST_ASSETS, *RECOMMEND_ASSETS]))
SERVING_ASSET = build_serving_asset(_keys([*TRANSFORM_ASSETS, *MODEL_ASSETS, EVALUATION_ASSET]))
ALL_ASSETS = [
    *RAW_ASSETS, *VIDEO_ASSETS, *OPS_ASSETS, retention_asset, *TRANSFORM_ASSETS, *MODEL_ASSETS,
    EVALUATION_ASSET, SERVING_ASSET,
]  # fmt: skip


# Each step of a run launched from the UI, the sensor or the schedule is a process of its own;
# importing these definitions costs ~13 CPU s, so a forkserver that imported them once forks
# every step ready to go (a 4-step run: 62 s -> 16 s).
EXECUTOR = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": ["footfall_platform.definitions"]}}}
)


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    return dg.Definitions(
        assets=gate_downstream(with_quality_kind(ALL_ASSETS)),
        asset_checks=QUALITY_CHECKS,
        resources={
            "warehouse": FootfallWarehouse.from_settings(settings),
            "dbt": dbt_resource(settings),
            "retention_periods": RetentionPeriods.from_settings(settings),
            "run_log": RunLog.from_settings(settings),
        },
        jobs=[ingest_job, refresh_models_job, full_refresh_job],
        sensors=[landing_sensor, quality_gated_automation, *RUN_SUMMARY_SENSORS],
        schedules=[daily_refresh_schedule],
        executor=EXECUTOR,
    )


defs = build_definitions()
