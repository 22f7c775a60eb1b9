"""Benchmark: `dbt build` of the SQL layer, an incremental run against a full refresh.

For each scale a demo world is generated and delivered in two drops: everything but its last
day, then the last day (`--new-days N` for more). After drop 1 the first build runs; after drop 2
the incremental build runs (the daily case), then a full refresh of the same data, which is the
named baseline.
Both are printed side by side with their ratio, then rows per second per mart (rows in the mart
/ seconds of its model in the full refresh, from dbt's run_results.json). Builds go through the
same dbt resource the Dagster asset uses, and include every dbt test.

    python benchmarks/transform.py [--scales small demo large] [--new-days 1] [--tmp DIR]

The default runs `small` and `demo` (about 6 minutes on 2 cores); `large` (20 stores, 11 M till
lines, 13 M RFID reads) adds about 17 minutes, most of it the two full builds.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assets.transform import dbt_resource  # noqa: E402
from footfall_platform.cli import main as footfall  # noqa: E402
from footfall_platform.demo import generate_world  # noqa: E402
from footfall_platform.settings import Settings  # noqa: E402
from footfall_platform.warehouse.connection import open_warehouse  # noqa: E402

MARTS = ["marts.fct_footfall_hourly", "marts.fct_footfall_daily", "marts.fct_sales_daily",
         "marts.fct_baskets", "marts.fct_conversion_daily", "marts.fct_zone_dwell",
         "marts.fct_product_funnel", "marts.dim_customer", "marts.dim_store", "marts.dim_product",
         "features.store_day", "intermediate.int_tag_visits", "intermediate.int_tag_journeys"]  # fmt: skip
RAW = ["camera_counts", "transactions", "rfid_reads"]


TIME_COLUMNS = {"camera_counts": "period_start", "transactions": "sold_at", "rfid_reads": "read_at"}


def split_world(world: Path, into: Path, first_new_day: str) -> tuple[Path, Path]:
    """Two landing folders: drop 1 (rows before `first_new_day`) and drop 2 (the rest).

    Fact files holding new rows are split by the date of their time column (CSV rewritten as
    plain CSV, Parquet as Parquet; the new part under a new name); every other file is drop 1.
    """
    drops = (into / "drop1", into / "drop2")
    for path in sorted((world / "landing").rglob("*")):
        relative = path.relative_to(world / "landing")
        column = TIME_COLUMNS.get(relative.parts[0])
        if not path.is_file():
            continue
        parquet = path.suffix == ".parquet"
        frame = None
        if column:
            try:
                frame = pl.read_parquet(path) if parquet else pl.read_csv(path, infer_schema=False)
            except pl.exceptions.PolarsError:  # a deliberately bad file: delivered as it is
                frame = None
        if frame is None or column not in frame.columns or frame[column].max() < first_new_day:
            (drops[0] / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, drops[0] / relative)
            continue
        stem, ext = relative.name.split(".")[0], ".parquet" if parquet else ".csv"
        parts = [(drops[0], stem, frame.filter(pl.col(column) < first_new_day)),
                 (drops[1], f"{stem}_new", frame.filter(pl.col(column) >= first_new_day))]  # fmt: skip
        for drop, name, part in parts:
            if part.height:
                target = drop / relative.parent / (name + ext)
                target.parent.mkdir(parents=True, exist_ok=True)
                part.write_parquet(target) if parquet else part.write_csv(target)
    return drops


def deliver(drop: Path, landing: Path) -> None:
    shutil.copytree(drop, landing, dirs_exist_ok=True)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ingest() -> float:
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        assert footfall(["ingest"]) == 0
    return time.perf_counter() - started


def dbt_build(settings: Settings, *args: str) -> tuple[float, dict[str, float]]:
    """Seconds of one `dbt build`, and seconds per model (relation name) from run_results."""
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # dagster-dbt echoes dbt's log lines
        invocation = dbt_resource(settings).cli(["build", *args]).wait()
    seconds = time.perf_counter() - started
    assert invocation.is_successful(), invocation.get_error()
    results = invocation.get_artifact("run_results.json")["results"]
    manifest = invocation.get_artifact("manifest.json")["nodes"]
    per_model = {}
    for r in results:
        node = manifest[r["unique_id"]]
        if node["resource_type"] == "model":
            per_model[f"{node['schema']}.{node['name']}"] = r["execution_time"]
    return seconds, per_model


def run_scale(scale: str, tmp: Path, new_days: int) -> None:
    os.environ.update({"FOOTFALL_HOME": str(tmp / "home"), "FOOTFALL_PII_KEY": "benchmark-key",
                       "FOOTFALL_SETTLE_SECONDS": "0"})  # fmt: skip
    for name in ("FOOTFALL_LANDING", "FOOTFALL_WAREHOUSE"):
        os.environ.pop(name, None)
    settings = Settings.from_env()
    started = time.perf_counter()
    truth = generate_world(tmp / "world", scale=scale)
    generated = time.perf_counter() - started
    end = dt.date.fromisoformat(truth["generator"]["end"])
    first_new_day = str(end - dt.timedelta(days=new_days - 1))
    drop1, drop2 = split_world(tmp / "world", tmp, first_new_day)

    deliver(drop1, settings.landing)
    load1 = ingest()
    progress(f"{scale}: generated in {generated:.0f} s, drop 1 loaded in {load1:.0f} s")
    first, _ = dbt_build(settings)
    progress(f"{scale}: first build {first:.0f} s")
    deliver(drop2, settings.landing)
    load2 = ingest()
    incremental, incremental_models = dbt_build(settings)
    progress(f"{scale}: incremental build {incremental:.0f} s")
    full, full_models = dbt_build(settings, "--full-refresh")

    with open_warehouse(settings.warehouse, read_only=True) as con:
        raw = {t: con.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0] for t in RAW}
        rows = {m: con.execute(f"SELECT count(*) FROM {m}").fetchone()[0] for m in MARTS}

    print(f"\n== scale {scale}: " + ", ".join(f"raw.{t} {n:,}" for t, n in raw.items())
          + f"; generated in {generated:.0f} s, loaded in {load1 + load2:.0f} s")  # fmt: skip
    print(f"drop 2 = the last {new_days} day(s) of the world, from {first_new_day}")
    print(f"{'dbt build (models + tests)':34} {'seconds':>8}")
    print(f"{'first build, drop 1':34} {first:>8.1f}")
    print(f"{'incremental, after drop 2':34} {incremental:>8.1f}")
    print(f"{'full refresh (baseline)':34} {full:>8.1f}")
    print(f"{'ratio full refresh / incremental':34} {full / incremental:>8.2f}")
    print(f"\n{'model':32} {'rows':>11} {'full s':>8} {'rows/s':>12} {'incr s':>8} {'ratio':>6}")
    for mart in MARTS:
        f, i = full_models.get(mart, 0.0), incremental_models.get(mart, 0.0)
        rate = f"{rows[mart] / f:>12,.0f}" if f else f"{'-':>12}"
        ratio = f"{f / i:>6.1f}" if i else f"{'-':>6}"
        print(f"{mart:32} {rows[mart]:>11,} {f:>8.2f} {rate} {i:>8.2f} {ratio}")
    print("ratio = model seconds in the full refresh / in the incremental run")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", nargs="*", default=["small", "demo"],
                        choices=["small", "demo", "large"])  # fmt: skip
    parser.add_argument("--new-days", type=int, default=1, help="days in drop 2 (1 = a daily run)")
    parser.add_argument("--tmp", type=Path, default=None, help="where the worlds go")
    args = parser.parse_args()
    print(f"dbt build on demo worlds ({os.cpu_count()} cores, DuckDB memory limit "
          f"{os.environ.get('FOOTFALL_DUCKDB_MEMORY', '1GB')})")  # fmt: skip
    for scale in args.scales:
        tmp = Path(tempfile.mkdtemp(prefix=f"transform-{scale}-", dir=args.tmp))
        run_scale(scale, tmp, args.new_days)
        shutil.rmtree(tmp)  # kept when a run fails, to look at the warehouse and dbt's log


if __name__ == "__main__":
    main()
