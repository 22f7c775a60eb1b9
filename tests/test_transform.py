"""The dbt layer on the small demo world, delivered in two drops and built with real Dagster runs.

Drop 1 is the world without its last month and without a few late files about past days; drop
2 brings them, and the second run is incremental. The marts are checked against the raw tables
(totals reconcile) and against the truths planted by the generator (RFID dwell, pick-to-buy,
closures); a full refresh must then give exactly what the incremental runs built.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from assets.raw import RAW_ASSETS
from assets.transform import DBT_PROJECT, TRANSFORM_ASSETS, dbt_resource, prune_artifacts
from footfall_platform.demo import generate_world
from footfall_platform.ingest.pseudonymise import member_keys
from footfall_platform.orchestration.resources import WRITER_POOL, FootfallWarehouse
from footfall_platform.settings import Settings
from footfall_platform.warehouse.connection import connect
from tests.conftest import PII_KEY, private_home

MARTS = ["dim_store", "dim_product", "dim_customer", "fct_footfall_hourly", "fct_footfall_daily",
         "fct_sales_daily", "fct_conversion_daily", "fct_baskets", "fct_zone_dwell",
         "fct_product_funnel"]  # fmt: skip
INCREMENTAL = ["intermediate.int_tag_visits", "marts.fct_footfall_hourly",
               "marts.fct_footfall_daily", "marts.fct_sales_daily", "marts.fct_baskets"]  # fmt: skip
# Files about past days that arrive with the second drop (late fixes, a recount, a reader's
# backroom count), plus the catalogue and member updates.
LATE_FILES = {
    "transactions/2025-06/extra_S002_fixes.csv",
    "transactions/2025-06/extra_S002_late_keyed.csv",
    "camera_counts/2025-06/S001_door_main_recount.csv",
    "rfid_reads/2025-06/S001_reader_glitch.csv",
    "members/members_update_2025-07-10.csv",
    "products/products_update_2025-06-19.csv",
}


# -- helpers shared with test_transform_bad_inputs ---------------------------------------------


@contextmanager
def footfall_home(root: Path) -> Iterator[Settings]:
    """Settings for a private FOOTFALL_HOME (a module-scoped `home`)."""
    with pytest.MonkeyPatch.context() as mp:
        yield private_home(root, mp)


def deliver(world: Path, settings: Settings, keep: Callable[[str], bool]) -> list[str]:
    """Copy the files of a generated landing zone that `keep` accepts into the live one."""
    copied = []
    for path in sorted((world / "landing").rglob("*")):
        relative = path.relative_to(world / "landing").as_posix()
        if path.is_file() and keep(relative):
            (settings.landing / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, settings.landing / relative)
            copied.append(relative)
    return copied


def build(
    settings: Settings,
    *,
    raw: bool = True,
    full_refresh: bool = False,
    selection: str | dg.AssetSelection | None = None,
    warehouse: Path | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize the raw layer (new files) and the dbt models with real Dagster runs."""
    if warehouse is not None:
        settings = dataclasses.replace(settings, warehouse=warehouse)
    assets = [*RAW_ASSETS, *TRANSFORM_ASSETS] if raw else [*TRANSFORM_ASSETS]
    return dg.materialize(
        assets,
        resources={
            "warehouse": FootfallWarehouse.from_settings(settings, settle_seconds=0),
            "dbt": dbt_resource(settings),
        },
        run_config={"ops": {"dbt_models": {"config": {"full_refresh": full_refresh}}}},
        selection=selection,
        raise_on_error=False,
    )  # fmt: skip


def query(settings: Settings, sql: str, params: list[Any] | None = None) -> list[tuple]:
    con = connect(settings.warehouse, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def failure(result: dg.ExecuteInProcessResult) -> str:
    """Why a run failed, for the assertion message."""
    return "\n".join(str(e.event_specific_data)[:2000] for e in result.all_events if e.is_failure)


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


# -- the world, built in two drops ---------------------------------------------------------------


@dataclass
class Built:
    settings: Settings
    truth: dict
    first: dg.ExecuteInProcessResult
    second: dg.ExecuteInProcessResult
    sales_after_first: dict[tuple, tuple]
    loaded_after_first: dict[tuple, Any]


def _late(relative: str) -> bool:
    return "/2025-07/" in relative or relative in LATE_FILES


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("transform")
    with footfall_home(root) as settings:
        truth = generate_world(root / "world", scale="small", seed=7)
        deliver(root / "world", settings, lambda rel: not _late(rel))
        first = build(settings)
        assert first.success, failure(first)
        sales = {r[:2]: r[2:] for r in query(
            settings, "SELECT store_id, local_date, receipts, net_revenue FROM marts.fct_sales_daily"
        )}  # fmt: skip
        loaded = {r[:2]: r[2] for r in query(
            settings, "SELECT store_id, local_date, raw_loaded_at FROM marts.fct_sales_daily"
        )}  # fmt: skip
        assert deliver(root / "world", settings, _late)
        second = build(settings)
        assert second.success, failure(second)
        yield Built(settings, truth, first, second, sales, loaded)


def test_both_drops_build_every_model_and_pass_every_check(built: Built) -> None:
    for result in (built.first, built.second):
        assert result.success
        keys = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        assert {f"marts/{m}" for m in MARTS} | {"features/store_day"} <= keys
        evaluations = checks(result)
        assert len(evaluations) > 100
        assert [name for name, e in evaluations.items() if not e.passed] == []
    mats = {e.asset_key.to_user_string(): e.materialization.metadata
            for e in built.second.get_asset_materialization_events()}  # fmt: skip
    assert mats["marts/fct_baskets"]["dagster/row_count"].value > 15_000
    assert "| receipt_id |" in mats["marts/fct_baskets"]["preview"].value


def test_daily_footfall_reconciles_with_the_raw_camera_counts(built: Built) -> None:
    s = built.settings
    raw = dict((r[0], r[1:]) for r in query(
        s, "SELECT store_id, sum(entries), sum(exits) FROM raw.camera_counts GROUP BY 1"))  # fmt: skip
    daily = dict((r[0], r[1:]) for r in query(
        s, "SELECT store_id, sum(entries), sum(exits) FROM marts.fct_footfall_daily GROUP BY 1"))  # fmt: skip
    assert daily == raw
    assert sum(e for e, _ in daily.values()) > 50_000
    # the hours of a day (whole-day counts in the NULL hour) add up to the day
    mismatched = query(
        s,
        """
        SELECT d.store_id, d.local_date FROM marts.fct_footfall_daily d
        JOIN (SELECT store_id, local_date, sum(entries) AS e, sum(exits) AS x
              FROM marts.fct_footfall_hourly GROUP BY ALL) h USING (store_id, local_date)
        WHERE d.entries <> h.e OR d.exits <> h.x""",
    )
    assert mismatched == []
    # the whole-day camera files of the daily-file store stay daily: no invented hours
    daily_store = built.truth["roles"]["daily_file_store"]
    whole = query(s, "SELECT count(*), sum(entries) FROM marts.fct_footfall_hourly "
                     "WHERE store_id = ? AND local_hour IS NULL", [daily_store])[0]  # fmt: skip
    raw_whole = query(s, "SELECT count(DISTINCT local_date), sum(entries) FROM raw.camera_counts "
                         "WHERE store_id = ? AND period_minutes >= 1380", [daily_store])[0]  # fmt: skip
    assert whole == raw_whole and whole[0] >= 20


def test_net_revenue_is_the_sum_of_lines_minus_returns(built: Built) -> None:
    s = built.settings
    expected = {r[:2]: r[2:] for r in query(s, """
        SELECT store_id, local_date,
               sum(quantity * unit_price) FILTER (WHERE quantity > 0),
               sum(discount) FILTER (WHERE quantity > 0),
               coalesce(sum(-quantity * unit_price) FILTER (WHERE quantity < 0), 0),
               sum(quantity * unit_price - sign(quantity) * discount),
               count(DISTINCT receipt_id) FILTER (WHERE quantity > 0)
        FROM raw.transactions GROUP BY ALL""")}  # fmt: skip
    mart = {r[:2]: r[2:] for r in query(s, """
        SELECT store_id, local_date, gross_revenue, discount, returns_value, net_revenue, receipts
        FROM marts.fct_sales_daily""")}  # fmt: skip
    assert mart == expected
    truth = built.truth["transactions"]["realized"]
    receipts = query(s, "SELECT sum(receipts), sum(return_receipts) FROM marts.fct_sales_daily")[0]
    anonymous_fixes = query(s, "SELECT count(DISTINCT receipt_id) FROM raw.transactions "
                               "WHERE regexp_matches(receipt_id, '^(FIX|LATE|PRC|XFER)-')")[0][0]  # fmt: skip
    assert receipts == (truth["sale_receipts"] + anonymous_fixes, truth["return_receipts"])


def test_conversion_lies_in_zero_to_one_wherever_there_is_footfall(built: Built) -> None:
    rows = query(built.settings, "SELECT entries, receipts, conversion "
                                 "FROM marts.fct_conversion_daily")  # fmt: skip
    with_footfall = [r for r in rows if r[0] and r[1] is not None]
    assert len(with_footfall) >= 260
    assert all(0 < c <= 1 for _, _, c in with_footfall)
    assert all(c is None for e, r, c in rows if not e or r is None)
    rates = {r[0]: r[1] for r in query(built.settings, """
        SELECT store_id, sum(receipts) / sum(entries) FROM marts.fct_conversion_daily
        WHERE conversion IS NOT NULL GROUP BY 1""")}  # fmt: skip
    for store in built.truth["stores"]:  # an outage hides some entries: never below the truth
        realized = store["realized_conversion"]
        assert realized * (1 - 1e-5) <= rates[store["store_id"]] < realized * 1.1


def test_rfid_dwell_times_and_pick_to_buy_rates_match_the_planted_truth(built: Built) -> None:
    s, rfid = built.settings, built.truth["rfid"]
    dwell = dict(query(s, """
        SELECT zone_kind, sum(total_dwell_seconds) / sum(visits) FROM marts.fct_zone_dwell
        WHERE zone_kind <> 'other' GROUP BY 1"""))  # fmt: skip
    for kind, measured in rfid["measured_mean_dwell_seconds"].items():
        assert dwell[kind] == pytest.approx(measured, rel=0.10), kind
    funnel = {r[0]: r[1:] for r in query(s, """
        SELECT store_id, sum(pick_ups), sum(purchases), sum(put_backs), sum(try_ons)
        FROM marts.fct_product_funnel GROUP BY 1""")}  # fmt: skip
    for store, j in rfid["journeys"].items():
        picks, bought, put_back, tried = funnel[store]
        planted = j["bought"] / (j["bought"] + j["put_back"])
        assert bought / picks == pytest.approx(planted, rel=0.10), store
        assert put_back == pytest.approx(j["put_back"], rel=0.10)
        assert tried == pytest.approx(j["bought_tried_on"] + j["put_back_tried_on"], rel=0.10)


def test_a_closure_day_has_no_footfall_no_sales_and_is_flagged(built: Built) -> None:
    closures = built.truth["footfall"]["closures"]
    assert closures
    for closure in closures:
        row = query(built.settings, """
            SELECT footfall, receipts, net_sales, is_closure, events FROM features.store_day
            WHERE store_id = ? AND date = ?""", [closure["store_id"], closure["date"]])  # fmt: skip
        assert row and row[0][:4] == (0, 0, 0.0, True)
        assert row[0][4]  # the event's name
        conversion = query(built.settings, "SELECT conversion FROM marts.fct_conversion_daily "
                           "WHERE store_id = ? AND local_date = ?",
                           [closure["store_id"], closure["date"]])  # fmt: skip
        assert conversion == [(None,)]
    flagged = query(built.settings, "SELECT count(*) FROM features.store_day WHERE is_closure")
    assert flagged == [(len(closures),)]
    days = query(
        built.settings, "SELECT count(*), count(DISTINCT store_id) FROM features.store_day"
    )
    assert days == [(3 * 90, 3)]


def test_late_rows_for_a_past_day_reach_that_day(built: Built) -> None:
    s = built.settings
    late_days = query(s, """
        SELECT DISTINCT store_id, local_date FROM raw.transactions
        WHERE regexp_matches(receipt_id, '^(FIX|LATE)-')""")  # fmt: skip
    assert late_days and all(str(d) < "2025-07-01" for _, d in late_days)
    for key in late_days:
        before_receipts, before_net = built.sales_after_first[key]
        now = query(s, "SELECT receipts, net_revenue FROM marts.fct_sales_daily "
                       "WHERE store_id = ? AND local_date = ?", list(key))[0]  # fmt: skip
        late = query(s, """
            SELECT count(DISTINCT receipt_id), sum(quantity * unit_price - discount)
            FROM raw.transactions WHERE store_id = ? AND local_date = ?
              AND regexp_matches(receipt_id, '^(FIX|LATE)-')""", list(key))[0]  # fmt: skip
        assert now == (before_receipts + late[0], before_net + late[1])


def test_the_incremental_run_touches_only_days_with_new_rows(built: Built) -> None:
    now = {r[:2]: r[2] for r in query(
        built.settings, "SELECT store_id, local_date, raw_loaded_at FROM marts.fct_sales_daily")}  # fmt: skip
    kept = [k for k, loaded in built.loaded_after_first.items() if now[k] == loaded]
    redone = [k for k, loaded in built.loaded_after_first.items() if now[k] != loaded]
    assert len(kept) > 150  # May and most of June: not recomputed
    assert 0 < len(redone) <= 3  # the days of the late fixes
    assert len(now) == 3 * 90 - len(built.truth["footfall"]["closures"])  # no till on closures


def test_an_incremental_run_after_a_new_drop_equals_a_full_refresh(built: Built) -> None:
    s = built.settings
    tables = INCREMENTAL + [f"marts.{m}" for m in MARTS] + ["features.store_day"]
    con = connect(s.warehouse)
    con.execute("CREATE SCHEMA IF NOT EXISTS snapshot")
    for table in tables:
        con.execute(f"CREATE OR REPLACE TABLE snapshot.{table.split('.')[1]} AS FROM {table}")
    con.close()

    refreshed = build(s, raw=False, full_refresh=True)
    assert refreshed.success
    con = connect(s.warehouse)
    try:
        for table in tables:
            snap = f"snapshot.{table.split('.')[1]}"
            count = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            assert count == con.execute(f"SELECT count(*) FROM {snap}").fetchone()[0] > 0, table
            differ = con.execute(
                f"SELECT count(*) FROM ((FROM {table} EXCEPT ALL FROM {snap}) "
                f"UNION ALL (FROM {snap} EXCEPT ALL FROM {table}))"
            ).fetchone()[0]
            assert differ == 0, table
        con.execute("DROP SCHEMA snapshot CASCADE")
    finally:
        con.close()


def test_baskets_hold_each_sale_receipt_once_with_its_distinct_skus(built: Built) -> None:
    s = built.settings
    assert query(s, """
        SELECT count(*) FROM marts.fct_baskets b
        FULL JOIN (SELECT store_id, receipt_id, list_sort(list_distinct(list(sku))) AS skus
                   FROM raw.transactions WHERE quantity > 0 GROUP BY ALL) r
          USING (store_id, receipt_id)
        WHERE b.skus IS DISTINCT FROM r.skus""") == [(0,)]  # fmt: skip
    for pair in built.truth["basket_pairs"]:
        both = query(s, "SELECT count(*) FROM marts.fct_baskets WHERE list_contains(skus, ?) AND "
                        "list_contains(skus, ?) AND regexp_matches(receipt_id, '^S\\d+-')",
                     [pair["antecedent"]["sku"], pair["consequent"]["sku"]])[0][0]  # fmt: skip
        assert both == pair["receipts_with_both"]


def test_dim_customer_describes_members_without_personal_data(built: Built) -> None:
    s = built.settings
    columns = {r[0] for r in query(s, """
        SELECT column_name FROM information_schema.columns
        WHERE table_schema IN ('staging', 'intermediate', 'marts', 'features')""")}  # fmt: skip
    assert not columns & {"member_id", "full_name", "email", "phone", "birth_date"}
    as_of = query(s, "SELECT DISTINCT as_of_date FROM marts.dim_customer")
    assert [str(d) for (d,) in as_of] == [built.truth["generator"]["end"]]
    members = built.truth["members"]["member_segment"]
    segment = dict(zip(member_keys(PII_KEY.encode(), list(members)), members.values(), strict=True))
    rows = query(s, "SELECT member_key, frequency, monetary, recency_days FROM marts.dim_customer")
    assert len(rows) == len(segment)
    by_segment: dict[str, list[tuple]] = {}
    for key, frequency, monetary, recency in rows:
        by_segment.setdefault(segment[key], []).append((frequency, monetary, recency))

    def mean(seg: str, i: int) -> float:
        values = [r[i] for r in by_segment[seg] if r[i] is not None]
        return sum(values) / len(values)

    assert mean("vip", 0) > 2 * mean("regular", 0)  # planted receipt rates 8 vs 2
    assert mean("lapsed", 2) > 2 * mean("regular", 2)  # lapsed members stopped buying
    frequency, monetary = query(s, "SELECT sum(frequency), sum(monetary) FROM marts.dim_customer")[
        0
    ]
    raw = query(s, """
        SELECT count(DISTINCT (store_id, receipt_id)) FILTER (WHERE quantity > 0),
               sum(quantity * unit_price - sign(quantity) * discount)::DOUBLE
        FROM raw.transactions WHERE member_key IS NOT NULL""")[0]  # fmt: skip
    assert frequency == raw[0]
    assert monetary == pytest.approx(raw[1], rel=1e-9)


def test_the_dbt_models_join_the_asset_graph_as_designed(home: Settings) -> None:
    resources = {"warehouse": FootfallWarehouse.from_settings(home), "dbt": dbt_resource(home)}
    defs = dg.Definitions(assets=[*RAW_ASSETS, *TRANSFORM_ASSETS], resources=resources)
    graph = defs.resolve_asset_graph()
    key = dg.AssetKey
    groups = {"staging": "stg_transactions", "intermediate": "int_tag_visits",
              "marts": "fct_sales_daily", "features": "store_day"}  # fmt: skip
    for group, name in groups.items():
        node = graph.get(key([group, name]))
        assert node.group_name == group
        assert {"dbt", "duckdb"} <= node.kinds
        assert node.description and "Raw SQL" not in node.description
    assert graph.get(key(["staging", "stg_transactions"])).parent_keys == {
        key(["raw", "transactions"])
    }
    assert (
        key(["marts", "fct_footfall_daily"])
        in graph.get(key(["features", "store_day"])).parent_keys
    )
    specs = {c.name: c for c in TRANSFORM_ASSETS[0].check_specs}
    assert specs["unique_dim_customer_member_key"].blocking
    warn = "relationships_stg_transactions_sku__sku__ref_stg_products_"
    assert not specs[warn].blocking  # reported, never blocking
    assert TRANSFORM_ASSETS[0].op.pool == WRITER_POOL
    assert DBT_PROJECT.manifest_path.exists()


def test_docs_generate_describes_every_model_and_column_in_the_warehouse(
    built: Built, tmp_path: Path
) -> None:
    # the catalog lists the columns as built; the manifest holds the YAML descriptions
    docs = ["docs", "generate", "--no-compile"]
    invocation = dbt_resource(built.settings).cli(docs, target_path=tmp_path)
    assert invocation.wait().is_successful()
    assert (tmp_path / "index.html").exists()
    catalog = invocation.get_artifact("catalog.json")["nodes"]
    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())["nodes"]
    models = {k: n for k, n in manifest.items() if n["resource_type"] == "model"}
    assert len(models) == 28 and set(models) <= set(catalog)
    undocumented = [
        f"{n['name']}.{column}"
        for key, n in models.items()
        for column in catalog[key]["columns"]
        if not n["columns"].get(column.lower(), {}).get("description")
    ]
    described_but_absent = [
        f"{n['name']}.{column}"
        for key, n in models.items()
        for column in n["columns"]
        if column not in {c.lower() for c in catalog[key]["columns"]}
    ]
    assert [n["name"] for n in models.values() if not n["description"]] == []
    assert undocumented == []
    assert described_but_absent == []


AGREED_COLUMNS = {  # the columns the mining and forecasting teams read (names and types)
    "marts.dim_customer": "member_key birth_year age_band gender city joined_on tenure_days "
    "first_purchase_date last_purchase_date recency_days frequency monetary:DOUBLE "
    "avg_basket_value units return_rate distinct_categories weekend_share preferred_store_id "
    "preferred_hour preferred_weekday as_of_date",
    "marts.fct_footfall_daily": "store_id local_date entries exits cameras_reporting",
    "marts.fct_footfall_hourly": "store_id local_date local_hour entries exits",
    "marts.fct_sales_daily": "store_id local_date receipts return_receipts units gross_revenue "
    "returns_value discount net_revenue member_receipts member_share",
    "marts.fct_conversion_daily": "store_id local_date entries receipts conversion "
    "avg_basket_value sales_per_visitor",
    "marts.fct_baskets": "receipt_id store_id local_date member_key skus:VARCHAR[]",
    "features.store_day": "store_id date weekday footfall receipts net_sales:DOUBLE is_holiday "
    "is_promotion is_closure",
}


def test_the_marts_have_the_columns_agreed_with_the_other_teams(built: Built) -> None:
    for table, spec in AGREED_COLUMNS.items():
        schema, name = table.split(".")
        types = dict(query(built.settings, "SELECT column_name, data_type FROM "
                           "information_schema.columns WHERE table_schema = ? AND table_name = ?",
                           [schema, name]))  # fmt: skip
        for column in spec.split():
            column, _, sql_type = column.partition(":")
            assert column in types, f"{table}.{column}"
            assert not sql_type or types[column] == sql_type, f"{table}.{column}: {types[column]}"


def test_old_dbt_run_folders_are_pruned(tmp_path: Path) -> None:
    for i in range(5):
        run = tmp_path / f"run{i}"
        run.mkdir()
        (run / "dbt.log").write_text("log")
        os.utime(run, (1_000 + i, 1_000 + i))
    prune_artifacts(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run3", "run4"]
