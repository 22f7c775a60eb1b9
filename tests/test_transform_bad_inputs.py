"""Bad inputs through the dbt layer: each is kept, reported where the issue says, never blocks.

A tiny demo world (2 stores, 10 days) plus hand-made deliveries: a till line for a SKU the
catalogue does not have yet (the product arrives in a second drop), RFID reads of a tag missing
from the register, a store with cameras but no till and one with a till but no cameras, and
camera periods across an hour and over a whole day. Last, a tampered raw row breaks an ERROR
test and must stop everything built on it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from footfall_platform.demo import generate_world
from footfall_platform.settings import Settings
from footfall_platform.warehouse.connection import connect
from tests.conftest import land
from tests.test_transform import build, checks, deliver, failure, footfall_home, query

DAY = "2025-05-03"  # a Saturday of the tiny world
NEW_SKU = "NEW-0001"
UNREGISTERED = "DEADBEEF00000000000000AA"
SKU_CHECK = "relationships_stg_transactions_sku__sku__ref_stg_products_"
EPC_CHECK = "relationships_stg_rfid_reads_epc__epc__ref_stg_rfid_tags_"

CAMERA_ONLY = (  # S900 has door cameras but no till feed
    "store_id,camera_id,period_start,period_end,entries,exits\n"
    f"S900,door_main,{DAY}T09:00:00,{DAY}T09:15:00,4,1\n"
    f"S900,door_main,{DAY}T09:15:00,{DAY}T09:30:00,3,2\n"
    f"S900,door_main,{DAY}T09:30:00,{DAY}T09:45:00,5,3\n"
    f"S900,door_main,{DAY}T09:45:00,{DAY}T10:30:00,8,8\n"  # 15 min in hour 9, 30 in hour 10
    f"S900,door_side,{DAY}T00:00:00,2025-05-04T00:00:00,40,40\n"  # a whole-day count
)
TILL_ONLY = (  # S901 has a till but no cameras
    "receipt_id,store_id,sold_at,member_id,sku,quantity,unit_price,discount\n"
    f"T901-1,S901,{DAY}T11:00:00,,{{sku}},1,30.00,0\n"
    f"T901-2,S901,{DAY}T12:00:00,,{{sku}},2,30.00,10.00\n"
)
NEW_PRODUCT_SALE = (
    "receipt_id,store_id,sold_at,member_id,sku,quantity,unit_price,discount\n"
    f"NEW-S001-1,S001,{DAY}T15:00:00,,{NEW_SKU},1,19.99,0\n"
    f"NEW-S001-1,S001,{DAY}T15:00:00,,{{sku}},1,30.00,0\n"
)
UNREGISTERED_READS = "read_at,store_id,reader_id,zone,epc,rssi\n" + "".join(
    f"{DAY}T{t}.000,S001,S001-{zone.upper().replace('_', '-')}-R1,{zone},{UNREGISTERED},-60.0\n"
    for t, zone in [("11:00:00", "shelf_womenswear"), ("11:00:10", "shelf_womenswear"),
                    ("11:00:20", "shelf_womenswear"), ("11:01:30", "fitting_room"),
                    ("11:02:30", "fitting_room")]
)  # fmt: skip


@dataclass
class Drops:
    settings: Settings
    first: dg.ExecuteInProcessResult
    second: dg.ExecuteInProcessResult
    new_sku_lines_before: list[tuple]
    dim_product_before: list[tuple]


@pytest.fixture(scope="module")
def drops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drops]:
    root = tmp_path_factory.mktemp("transform_bad")
    with footfall_home(root) as s:
        generate_world(root / "world", scale="small", stores=2, days=10, members=40, seed=3,
                       bad_inputs=False)  # fmt: skip
        deliver(root / "world", s, lambda rel: True)
        known = query_landing_sku(s)
        land(s, "stores/stores_extra.csv", "store_id,name,city,timezone,opened_on\n"
             "S900,Gare du Nord,Paris,Europe/Paris,2020-01-01\n"
             "S901,Pop-up Bastille,Paris,Europe/Paris,2020-01-01\n")  # fmt: skip
        land(s, "camera_counts/extra/S900.csv", CAMERA_ONLY)
        land(s, "transactions/extra/S901.csv", TILL_ONLY.format(sku=known))
        land(s, "transactions/extra/S001_new_product.csv", NEW_PRODUCT_SALE.format(sku=known))
        land(s, "rfid_reads/extra/S001_unregistered.csv", UNREGISTERED_READS)
        first = build(s)
        assert first.success, failure(first)
        lines = query(s, "SELECT category, is_catalogued FROM intermediate.int_sales_lines "
                         "WHERE sku = ?", [NEW_SKU])  # fmt: skip
        dim = query(s, "SELECT sku FROM marts.dim_product WHERE sku = ?", [NEW_SKU])
        land(s, "products/products_late.csv", "sku,name,category,brand,unit_price,description\n"
             f"{NEW_SKU},Linen Napkins,homeware,Maison,19.99,Set of four\n")  # fmt: skip
        second = build(s)
        assert second.success, failure(second)
        yield Drops(s, first, second, lines, dim)


def query_landing_sku(s: Settings) -> str:
    """A SKU of the generated catalogue (the first data line of products.csv)."""
    return (s.landing / "products" / "products.csv").read_text().splitlines()[1].split(",")[0]


def test_warn_checks_report_without_blocking(drops: Drops) -> None:
    assert drops.first.success and drops.second.success
    first = checks(drops.first)
    for name in (SKU_CHECK, EPC_CHECK):
        assert not first[name].passed
        assert first[name].severity == dg.AssetCheckSeverity.WARN
    errors = [
        n for n, e in first.items() if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    assert errors == []
    assert checks(drops.second)[SKU_CHECK].passed  # the product arrived
    assert not checks(drops.second)[EPC_CHECK].passed  # the tag is still unregistered


def test_a_sale_of_a_product_not_yet_in_the_catalogue_is_kept_then_joined(drops: Drops) -> None:
    s = drops.settings
    assert drops.new_sku_lines_before == [(None, False)]
    assert drops.dim_product_before == []
    assert query(s, "SELECT category, is_catalogued FROM intermediate.int_sales_lines "
                    "WHERE sku = ?", [NEW_SKU]) == [("homeware", True)]  # fmt: skip
    assert query(s, "SELECT product_name, unit_price FROM marts.dim_product WHERE sku = ?",
                 [NEW_SKU])[0][0] == "Linen Napkins"  # fmt: skip
    baskets = query(s, "SELECT skus FROM marts.fct_baskets WHERE receipt_id = 'NEW-S001-1'")
    assert len(baskets) == 1 and NEW_SKU in baskets[0][0] and len(baskets[0][0]) == 2
    day = query(s, "SELECT net_revenue FROM marts.fct_sales_daily WHERE store_id = 'S001' "
                   "AND local_date = ?", [DAY])[0][0]  # fmt: skip
    raw = query(s, "SELECT sum(quantity * unit_price - discount) FROM raw.transactions "
                   "WHERE store_id = 'S001' AND local_date = ?", [DAY])[0][0]  # fmt: skip
    assert day == raw


def test_reads_of_an_unregistered_tag_are_kept_and_counted(drops: Drops) -> None:
    s = drops.settings
    visits = query(s, "SELECT zone, dwell_seconds, read_count FROM intermediate.int_tag_visits "
                      "WHERE epc = ? ORDER BY first_seen", [UNREGISTERED])  # fmt: skip
    assert [(z, float(d), n) for z, d, n in visits] == [
        ("shelf_womenswear", 20.0, 3), ("fitting_room", 60.0, 2)]  # fmt: skip
    journey = query(s, "SELECT is_registered, sku, picked_up, tried_on, purchased "
                       "FROM intermediate.int_tag_journeys WHERE epc = ?", [UNREGISTERED])  # fmt: skip
    assert journey == [(False, None, True, True, False)]
    counted = query(s, "SELECT sum(unregistered_visits) FROM marts.fct_zone_dwell "
                       "WHERE store_id = 'S001' AND local_date = ?", [DAY])  # fmt: skip
    assert counted == [(2,)]
    assert query(s, "SELECT count(*) FROM marts.fct_product_funnel WHERE sku IS NULL") == [(0,)]


def test_stores_with_only_cameras_or_only_a_till_have_no_conversion(drops: Drops) -> None:
    rows = {r[0]: r[1:] for r in query(drops.settings, """
        SELECT store_id, entries, receipts, conversion, avg_basket_value, sales_per_visitor
        FROM marts.fct_conversion_daily WHERE store_id IN ('S900', 'S901')""")}  # fmt: skip
    assert rows["S900"] == (60, None, None, None, None)
    assert rows["S901"] == (None, 2, None, pytest.approx(45.0), None)  # (30 + 60) / 2 receipts
    day = {r[0]: r[1:] for r in query(drops.settings, """
        SELECT store_id, footfall, receipts, net_sales FROM features.store_day
        WHERE store_id IN ('S900', 'S901') AND date = ?""", [DAY])}  # fmt: skip
    assert day == {"S900": (60, None, None), "S901": (None, 2, 80.0)}
    infinite = query(drops.settings, "SELECT count(*) FROM marts.fct_conversion_daily "
                     "WHERE isinf(conversion) OR isinf(sales_per_visitor)")  # fmt: skip
    assert infinite == [(0,)]


def test_camera_periods_are_spread_over_hours_and_whole_days_stay_daily(drops: Drops) -> None:
    hourly = query(drops.settings, "SELECT local_hour, entries, exits FROM marts.fct_footfall_hourly "
                   "WHERE store_id = 'S900' ORDER BY local_hour NULLS LAST")  # fmt: skip
    # 8 people over 9:45-10:30: a third of the period in hour 9 -> 2.67 -> 3, two thirds -> 5
    assert hourly == [(9, 4 + 3 + 5 + 3, 1 + 2 + 3 + 3), (10, 5, 5), (None, 40, 40)]
    daily = query(drops.settings, "SELECT entries, exits, cameras_reporting, whole_day_entries "
                  "FROM marts.fct_footfall_daily WHERE store_id = 'S900'")  # fmt: skip
    assert daily == [(60, 54, 2, 40)]


def test_an_error_test_failing_blocks_everything_built_on_the_model(
    drops: Drops, tmp_path: Path
) -> None:
    copy = tmp_path / "tampered.duckdb"
    shutil.copy(drops.settings.warehouse, copy)
    con = connect(copy)
    con.execute("""
        INSERT INTO raw.camera_counts BY NAME
        SELECT 'S001' AS store_id, 'door_main' AS camera_id,
               TIMESTAMPTZ '2025-05-02 08:00:00+00' AS period_start, DATE '2025-05-02' AS local_date,
               10 AS local_hour, TIMESTAMPTZ '2025-05-02 08:15:00+00' AS period_end,
               -5 AS entries, 0 AS exits, 15.0 AS period_minutes, 'tampered' AS source_sha256,
               2 AS source_line, now() AS loaded_at""")  # fmt: skip
    before = con.execute("SELECT sum(entries) FROM marts.fct_footfall_daily").fetchone()
    con.close()

    selection = dg.AssetSelection.assets(dg.AssetKey(["staging", "stg_camera_counts"])).downstream()
    result = build(drops.settings, raw=False, selection=selection, warehouse=copy)
    assert not result.success
    failed = checks(result)["accepted_range_stg_camera_counts_entries__0"]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
    built = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "staging/stg_camera_counts" in built
    assert not built & {"marts/fct_footfall_daily", "marts/fct_footfall_hourly",
                        "marts/fct_conversion_daily", "features/store_day"}  # fmt: skip
    con = connect(copy, read_only=True)
    assert con.execute("SELECT sum(entries) FROM marts.fct_footfall_daily").fetchone() == before
    con.close()
