"""The composition root: every asset, resource, job, sensor and schedule, assembled once."""

from __future__ import annotations

import dagster as dg

from assets.ops import OPS_ASSETS
from assets.raw import RAW_ASSETS
from footfall_platform.orchestration.automation import (
    daily_refresh_schedule,
    full_refresh_job,
    gate_downstream,
    ingest_job,
    landing_sensor,
    quality_gated_automation,
)
from footfall_platform.orchestration.resources import FootfallWarehouse
from footfall_platform.settings import Settings
from quality.checks import QUALITY_CHECKS


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    return dg.Definitions(
        assets=gate_downstream([*RAW_ASSETS, *OPS_ASSETS]),
        asset_checks=QUALITY_CHECKS,
        resources={"warehouse": FootfallWarehouse.from_settings(settings)},
        jobs=[ingest_job, full_refresh_job],
        sensors=[landing_sensor, quality_gated_automation],
        schedules=[daily_refresh_schedule],
    )


defs = build_definitions()
