"""One JSON line per finished run in FOOTFALL_HOME/logs/runs.jsonl, written by run status sensors.

The UI keeps the full event log; this file is the history an operator greps, ships to a log
system or reads back with DuckDB: which job, how it ended, how long it took, how many rows each
table got, which checks failed and which steps broke. Names, counts and error classes only:
values from the data (and so personal data) never reach it.
"""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from footfall_platform.operations.run_log import RunSummary, append_run_summary
from footfall_platform.settings import Settings

KEPT_TAGS = ("footfall/", "dagster/schedule_name", "dagster/sensor_name", "dagster/backfill")
EVENTS = {
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    dg.DagsterEventType.STEP_FAILURE,
}


class RunLog(dg.ConfigurableResource):
    """Where run summaries go (FOOTFALL_HOME/logs)."""

    folder: str

    @classmethod
    def from_settings(cls, settings: Settings) -> "RunLog":
        return cls(folder=str(settings.logs))


def _rows(materialization: dg.AssetMaterialization) -> int | None:
    value = materialization.metadata.get("dagster/row_count")
    return None if value is None else int(value.value)


def summarise_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> RunSummary:
    """Read a finished run's events back from the instance into a RunSummary."""
    stats = instance.get_run_stats(run.run_id)
    summary = RunSummary(
        run_id=run.run_id,
        job=run.job_name,
        status=run.status.value,
        started_at=datetime.fromtimestamp(stats.start_time, UTC) if stats.start_time else None,
        ended_at=datetime.fromtimestamp(stats.end_time, UTC) if stats.end_time else None,
        tags={k: v for k, v in run.tags.items() if k.startswith(KEPT_TAGS)},
    )
    for record in instance.get_records_for_run(run.run_id, of_type=EVENTS).records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        data = event.event_specific_data
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            m = data.materialization
            summary.assets[m.asset_key.to_user_string()] = _rows(m)
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            name = f"{data.asset_key.to_user_string()}:{data.check_name}"
            if data.passed:
                summary.checks_passed.append(name)
            else:
                summary.checks_failed.append({"check": name, "severity": data.severity.value})
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = data.error.cls_name if data.error is not None else "unknown"
            summary.failed_steps.append({"step": event.step_key or "", "error": error})
    return summary


def _summary_sensor(status: dg.DagsterRunStatus) -> dg.RunStatusSensorDefinition:
    @dg.run_status_sensor(
        run_status=status,
        name=f"run_summary_{status.value.lower()}",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Appends one JSON line per {status.value.lower()} run (job, duration, rows "
        "per asset, checks, failed steps; no data values) to FOOTFALL_HOME/logs/runs.jsonl.",
    )
    def _sensor(context: dg.RunStatusSensorContext, run_log: RunLog) -> None:
        summary = summarise_run(context.instance, context.dagster_run)
        append_run_summary(Path(run_log.folder), summary)

    return _sensor


RUN_SUMMARY_SENSORS = [
    _summary_sensor(status)
    for status in (
        dg.DagsterRunStatus.SUCCESS,
        dg.DagsterRunStatus.FAILURE,
        dg.DagsterRunStatus.CANCELED,
    )
]
