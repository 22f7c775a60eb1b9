"""The Dagster wiring with real materializations, a real sensor and a real DuckDB file."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from assets.ops import OPS_ASSETS
from assets.raw import RAW_ASSETS
from assets.video import VIDEO_ASSETS
from footfall_platform.definitions import build_definitions
from footfall_platform.demo import generate_world
from footfall_platform.landing.contract import LOAD_ORDER
from footfall_platform.orchestration.automation import landing_sensor
from footfall_platform.orchestration.resources import FootfallWarehouse
from footfall_platform.settings import Settings
from footfall_platform.warehouse.connection import connect
from tests.conftest import land


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("world")
    truth = generate_world(out, scale="small", seed=11)
    return out / "landing", truth


def _warehouse(settings: Settings, landing: Path) -> FootfallWarehouse:
    return FootfallWarehouse(
        warehouse_path=str(settings.warehouse), landing_path=str(landing),
        pii_key_file=str(settings.pii_key_file), settle_seconds=0,
    )  # fmt: skip


def test_materializing_the_raw_layer_matches_the_demo_truth(
    home: Settings, small_world: tuple[Path, dict]
) -> None:
    landing, truth = small_world
    ingest = [*RAW_ASSETS, *VIDEO_ASSETS, *OPS_ASSETS]
    warehouse = _warehouse(home, landing)
    result = dg.materialize(ingest, resources={"warehouse": warehouse})
    assert result.success
    materialized = {e.asset_key.path[-1]: e for e in result.get_asset_materialization_events()}
    assert set(materialized) == {
        *LOAD_ORDER, "video_counts", "video_zone_visits", "ingest_ledger", "quarantine"}
    tx_meta = materialized["transactions"].materialization.metadata
    assert tx_meta["rows_loaded"].value > 10_000
    assert "| receipt_id |" in tx_meta["preview"].value

    con = connect(home.warehouse, read_only=True)
    ledger = {r[0]: r[1:] for r in con.execute(
        "SELECT path, status, rows_in, rows_loaded, rows_quarantined FROM ops.ingest_ledger"
    ).fetchall()}  # fmt: skip
    expected = {b["file"]: b for b in truth["bad_inputs"]}
    for path, (status, rows_in, loaded, quarantined) in ledger.items():
        assert rows_in == loaded + quarantined
        if path in expected:
            bad = expected[path]
            assert (status, rows_in, quarantined) == (
                bad["expected_status"], bad["expected_rows_in"], bad["expected_rows_quarantined"]
            ), path
        else:
            assert status == "loaded", path
    landed = {p.relative_to(landing).as_posix() for p in landing.rglob("*") if p.is_file()}
    assert landed == set(ledger)  # every file of the drop is in the ledger
    loaded = dict(con.execute("SELECT source, sum(rows_loaded) FROM ops.ingest_ledger GROUP BY 1"
                              ).fetchall())  # fmt: skip
    for source in LOAD_ORDER:
        count = con.execute(f"SELECT count(*) FROM raw.{source}").fetchone()[0]
        assert count == loaded[source] > 0
    con.close()

    again = dg.materialize(ingest, resources={"warehouse": warehouse})
    assert again.success
    con = connect(home.warehouse, read_only=True)
    assert con.execute("SELECT count(*) FROM ops.ingest_ledger").fetchone()[0] == len(ledger)
    con.close()


def test_the_landing_sensor_requests_only_what_is_new(home: Settings) -> None:
    land(home, "stores/s.csv", "store_id,name,city,timezone,opened_on\nS1,A,B,UTC,2020-01-01\n")
    land(home, "transactions/t1.csv", "receipt_id\n")
    warehouse = _warehouse(home, home.landing)
    first = landing_sensor(dg.build_sensor_context(resources={"warehouse": warehouse}))
    assert isinstance(first, dg.RunRequest)
    assert set(first.asset_selection) == {dg.AssetKey(["raw", "stores"]),
                                          dg.AssetKey(["raw", "transactions"])}  # fmt: skip
    cursor = json.loads(_cursor_after(warehouse, None))
    assert set(cursor) == {"stores/s.csv", "transactions/t1.csv"}

    second = landing_sensor(
        dg.build_sensor_context(cursor=json.dumps(cursor), resources={"warehouse": warehouse})
    )
    assert isinstance(second, dg.SkipReason)

    land(home, "transactions/t2.csv", "receipt_id\n")
    land(home, "transactions/t3.csv.part", "still being written")
    third = landing_sensor(
        dg.build_sensor_context(cursor=json.dumps(cursor), resources={"warehouse": warehouse})
    )
    assert isinstance(third, dg.RunRequest)
    assert third.asset_selection == [dg.AssetKey(["raw", "transactions"])]
    assert third.run_key != first.run_key


def _cursor_after(warehouse: FootfallWarehouse, cursor: str | None) -> str:
    context = dg.build_sensor_context(cursor=cursor, resources={"warehouse": warehouse})
    landing_sensor(context)
    return context.cursor


def test_definitions_expose_the_raw_layer_jobs_sensor_and_schedule(home: Settings) -> None:
    defs = build_definitions(home)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {f"raw/{s}" for s in LOAD_ORDER} <= keys
    groups = {"ingest", "staging", "intermediate", "marts", "features", "mining", "forecasts",
              "recommendations", "serving"}  # fmt: skip
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name in groups, key
        assert node.description, key
        assert node.kinds, key
    assert graph.get(dg.AssetKey(["raw", "transactions"])).parent_keys == {
        dg.AssetKey(["raw", "stores"])}  # fmt: skip
    assert {j.name for j in defs.jobs} >= {"ingest", "refresh_models", "full_refresh"}
    assert defs.resolve_sensor_def("landing_sensor")
    assert defs.resolve_schedule_def("daily_refresh").cron_schedule == "0 5 * * *"


def test_a_second_writer_waits_for_the_first_instead_of_failing(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "c.execute('CREATE TABLE t AS SELECT 1 AS x'); print('held', flush=True); "
            "time.sleep(2); c.close()"), str(db)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    con = connect(db, lock_wait=30)
    waited = time.monotonic() - started
    assert con.execute("SELECT x FROM t").fetchone() == (1,)
    con.close()
    holder.wait(timeout=10)
    assert waited > 0.5  # it really was locked, and connect waited rather than failed


def test_refreshing_one_staging_model_skips_tests_that_read_models_not_built_yet(
    home: Settings,
) -> None:
    """The automation refreshes stg_stores as soon as the store list lands, before any other
    source: relationship tests pointing at it from stg_calendar (not built yet) must not run."""
    from assets.transform import TRANSFORM_ASSETS, dbt_resource
    from tests.conftest import STORES_CSV

    land(home, "stores/stores.csv", STORES_CSV)
    result = dg.materialize(
        [*RAW_ASSETS, *TRANSFORM_ASSETS],
        selection=["raw/stores", "staging/stg_stores"],
        resources={"warehouse": FootfallWarehouse.from_settings(home, settle_seconds=0),
                   "dbt": dbt_resource(home)},  # fmt: skip
        raise_on_error=False,
    )
    assert result.success, [str(e.event_specific_data) for e in result.get_step_failure_events()]
    checks = {e.asset_check_key.name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks and all(checks.values()), checks
    assert not any("stg_calendar" in name for name in checks)
    with connect(home.warehouse, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM staging.stg_stores").fetchone()[0] == 3
