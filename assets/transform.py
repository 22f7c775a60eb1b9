"""The SQL layer as assets: every dbt model in dbt/ (staging, intermediate, marts, features).

One `dbt build` runs the models and their tests in dependency order; dagster-dbt turns each
model into an asset (keyed by schema and name, so lineage joins the raw assets through the dbt
sources) and each test into an asset check. An ERROR test that fails makes dbt skip what is built
on the model and fails the step, so nothing downstream runs on bad data; WARN tests only report.
The manifest Dagster reads is re-parsed at load time whenever the project is newer than it, so
`dagster dev`, the tests and `footfall demo` always see the SQL as it is on disk.
"""

import fcntl
import os
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import (
    DagsterDbtTranslator,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from pydantic import Field

from footfall_platform.charts import markdown_image
from footfall_platform.footfall_heatmap import footfall_by_weekday_hour, heatmap_chart
from footfall_platform.orchestration.resources import WRITER_POOL
from footfall_platform.settings import Settings
from footfall_platform.warehouse.connection import open_warehouse
from footfall_platform.warehouse.inspect import markdown_table, preview, table_counts
from footfall_platform.warehouse.schema import ensure_schema

DBT_DIR = Path(__file__).resolve().parents[1] / "dbt"
# dbt is installed next to this interpreter, which need not be on PATH (.venv/bin/dagster dev)
DBT_EXECUTABLE = shutil.which("dbt") or str(Path(sys.executable).with_name("dbt"))
PREVIEWED_SCHEMAS = ("marts", "features")  # what analysts open; staging views are not counted
KEPT_RUNS = 30  # dbt run folders (run_results.json, dbt.log) kept under $FOOTFALL_HOME/dbt


def manifest_is_stale(project: DbtProject) -> bool:
    """True if a model, macro, test or the project file changed after the manifest was written."""
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    sources = [project.project_dir / "dbt_project.yml"]
    for folder in ("models", "macros", "tests"):
        sources += [p for p in (project.project_dir / folder).rglob("*") if p.is_file()]
    return any(p.stat().st_mtime > built for p in sources)


def load_project(project_dir: Path = DBT_DIR) -> DbtProject:
    """The dbt project with a manifest matching the SQL on disk: `dbt parse` when it is stale.

    Like DbtProject.prepare_if_dev, but for every process that loads the definitions (tests,
    `footfall demo`, `dagster dev` started without the virtualenv on PATH), and only when
    something changed. A file lock keeps parallel processes from parsing over each other.
    """
    project = DbtProject(project_dir=project_dir)
    target = project.project_dir / project.target_path
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest_is_stale(project):
            parser = DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)
            parser.cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project


DBT_PROJECT = load_project()


class FootfallDbtTranslator(DagsterDbtTranslator):
    """Groups by schema (staging, intermediate, marts, features), descriptions from the YAML."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props.get("config", {}).get("schema") or super().get_group_name(
            dbt_resource_props
        )

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        described = (dbt_resource_props.get("description") or "").strip()
        return described or super().get_description(dbt_resource_props)

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        schema = dbt_resource_props.get("config", {}).get("schema")
        layer = {"layer": schema} if schema else {}
        return {**super().get_tags(dbt_resource_props), **layer}

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        return ["team:data"]


_ENVIRONMENT_LOCK = threading.Lock()


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set variables while a dbt process is spawned: dagster-dbt hands it os.environ."""
    with _ENVIRONMENT_LOCK:
        saved = {name: os.environ.get(name) for name in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def prune_artifacts(folder: Path, keep: int = KEPT_RUNS) -> None:
    """Delete all but the newest `keep` run folders (each holds a few MB of manifest and logs)."""
    if not folder.is_dir():
        return
    runs = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in runs[: max(len(runs) - keep, 0)]:
        shutil.rmtree(old, ignore_errors=True)


class FootfallDbt(DbtCliResource):
    """The dbt CLI pointed at one warehouse, whatever the environment of the process says.

    profiles.yml reads FOOTFALL_WAREHOUSE; passing it per call (rather than relying on the
    process environment) lets a test or a second deployment aim dbt at its own DuckDB file.
    Run artifacts (run_results.json, logs) go under `artifacts_dir`, outside the repository;
    the newest KEPT_RUNS are kept.
    """

    warehouse_path: str = Field(description="The DuckDB warehouse dbt builds in.")
    memory_limit: str = Field(default="1GB", description="DuckDB memory limit for dbt's queries.")
    artifacts_dir: str | None = Field(
        default=None, description="Where each run's target folder goes (default: dbt/target)."
    )

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        if kwargs.get("target_path") is None and self.artifacts_dir:
            prune_artifacts(Path(self.artifacts_dir))
            kwargs["target_path"] = Path(self.artifacts_dir) / uuid.uuid4().hex[:12]
        # "buildable": a subset build (the automation refreshing stg_stores alone) runs a
        # relationship test only when every model it reads is built or upstream, never one
        # pointing from a model that was not built yet.
        values = {"FOOTFALL_WAREHOUSE": self.warehouse_path,
                  "FOOTFALL_DUCKDB_MEMORY": self.memory_limit,
                  "DBT_INDIRECT_SELECTION": "buildable"}  # fmt: skip
        with _environment(values):
            return super().cli(args, **kwargs)


def dbt_resource(settings: Settings) -> FootfallDbt:
    """The dbt resource for the warehouse of these settings (resource key `dbt`)."""
    return FootfallDbt(
        project_dir=DBT_PROJECT,
        dbt_executable=DBT_EXECUTABLE,
        warehouse_path=str(settings.warehouse),
        memory_limit=settings.memory_limit,
        artifacts_dir=str(settings.home / "dbt"),
    )


# Tables whose picture says more than their preview: name -> (alt text, PNG from a connection).
PICTURES: dict[str, tuple[str, Callable[[duckdb.DuckDBPyConnection], bytes]]] = {
    "marts.fct_footfall_hourly": (
        "footfall by weekday and hour", lambda con: heatmap_chart(footfall_by_weekday_hour(con))
    ),
}


class DbtBuildConfig(dg.Config):
    full_refresh: bool = Field(
        default=False,
        description="Rebuild incremental models from scratch instead of adding what is new.",
    )


def _with_table_metadata(
    context: dg.AssetExecutionContext, events: list[Any], warehouse_path: str
) -> Iterator[Any]:
    """Add row counts (tables) and a preview (marts, features) once dbt has let go of the file."""
    outputs = [e for e in events if isinstance(e, dg.Output)]
    if not outputs:
        yield from events
        return
    with open_warehouse(warehouse_path, read_only=True) as con:
        counts = dict(table_counts(con))
        extra: dict[str, dict[str, Any]] = {}
        for event in outputs:
            name = ".".join(context.asset_key_for_output(event.output_name).path)
            if name not in counts:  # a view: counting would run its query again
                continue
            extra[event.output_name] = {"dagster/row_count": dg.MetadataValue.int(counts[name])}
            if name.split(".")[0] in PREVIEWED_SCHEMAS:
                headers, rows = preview(con, name)
                extra[event.output_name]["preview"] = dg.MetadataValue.md(
                    markdown_table(headers, rows)
                )
            if name in PICTURES:
                alt, draw = PICTURES[name]
                extra[event.output_name]["chart"] = dg.MetadataValue.md(
                    markdown_image(draw(con), alt)
                )
    for event in events:
        if isinstance(event, dg.Output) and event.output_name in extra:
            yield event.with_metadata({**event.metadata, **extra[event.output_name]})
        else:
            yield event


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    dagster_dbt_translator=FootfallDbtTranslator(),
    pool=WRITER_POOL,
    name="dbt_models",
)
def dbt_models(context: dg.AssetExecutionContext, dbt: FootfallDbt, config: DbtBuildConfig):
    """`dbt build` of the selected models: run, then test, model by model."""
    args = ["build", "--full-refresh"] if config.full_refresh else ["build"]
    with open_warehouse(dbt.warehouse_path) as con:  # every source exists, even one never fed
        ensure_schema(con)
    invocation = dbt.cli(args, context=context, raise_on_error=False)
    events = list(invocation.stream())
    yield from _with_table_metadata(context, events, dbt.warehouse_path)
    error = invocation.get_error()
    if error is not None:
        raise error


TRANSFORM_ASSETS = [dbt_models]
