"""Materializing the whole asset graph in-process, for `footfall demo` and smoke tests.

Runs go to the Dagster instance of DAGSTER_HOME, so the UI shows them afterwards.
"""

import dagster as dg

from footfall_platform.definitions import build_definitions
from footfall_platform.orchestration.resources import FootfallWarehouse
from footfall_platform.settings import Settings


def materialize_everything(settings: Settings, *, settle_seconds: float = 0.0) -> bool:
    """Materialize every asset; files just written by the generator need no settle time."""
    defs = build_definitions(settings)
    warehouse = FootfallWarehouse.from_settings(settings, settle_seconds=settle_seconds)
    result = dg.materialize(
        [*(defs.assets or []), *(defs.asset_checks or [])],
        resources={**(defs.resources or {}), "warehouse": warehouse},
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        instance=dg.DagsterInstance.get(),
        raise_on_error=False,
        tags={"footfall/trigger": "footfall demo"},
    )
    return result.success
