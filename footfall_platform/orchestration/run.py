"""Materializing the whole asset graph in-process, for `footfall demo` and smoke tests.

Runs go to the Dagster instance of DAGSTER_HOME, so the UI shows them afterwards.
"""

import dagster as dg

from footfall_platform.definitions import build_definitions
from footfall_platform.orchestration.resources import FootfallWarehouse
from footfall_platform.settings import Settings


def materialize_everything(
    settings: Settings, *, settle_seconds: float = 0.0
) -> dg.ExecuteInProcessResult:
    """Materialize every asset and run every check; files just written need no settle time."""
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
    return result


def check_outcomes(result: dg.ExecuteInProcessResult) -> list[tuple[str, str, str]]:
    """(table, outcome, summary) for every asset check of a run, in a form people read."""
    rows = []
    for e in sorted(result.get_asset_check_evaluations(), key=lambda e: e.asset_key.path):
        outcome = "passed" if e.passed else e.severity.value
        rows.append((".".join(e.asset_key.path), outcome, (e.description or "")[:100]))
    return rows
