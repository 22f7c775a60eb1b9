"""Segment and store comparisons on the small demo world, the test statistic against scipy, and the
mining assets materialized for real on a warehouse holding stand-in marts.

``STANDIN_SALES_SQL`` adds ``marts.fct_conversion_daily``, ``marts.fct_baskets`` and
``marts.dim_product`` to the
stand-ins of test_segments.py and test_anomalies.py. They are a STAND-IN FOR THE MARTS (dbt,
another issue), for these tests only.
"""

from __future__ import annotations

import dagster as dg
import numpy as np
import polars as pl
import pytest
from scipy.stats import mannwhitneyu

from assets.mining import MINING_ASSETS
from assets.raw import RAW_ASSETS
from footfall_platform.mining.anomalies import ANOMALY_SCHEMA
from footfall_platform.mining.comparison import (
    COMPARISON_COLUMNS,
    ComparisonInputError,
    compare_groups,
    segment_comparison,
    store_comparison,
)
from footfall_platform.mining.rules import RULE_SCHEMA
from footfall_platform.mining.segments import SEGMENT_SCHEMA, segment_customers
from footfall_platform.orchestration.resources import FootfallWarehouse
from footfall_platform.warehouse.frames import MissingTable, read_table
from tests.test_anomalies import STANDIN_FOOTFALL_SQL, planted_days
from tests.test_segments import STANDIN_DIM_CUSTOMER, build_world

# --- STAND-IN FOR THE MARTS (tests only): conversion and baskets ---------------------------------

STANDIN_SALES_SQL = """
CREATE OR REPLACE TABLE marts.fct_conversion_daily AS
SELECT coalesce(f.store_id, s.store_id) AS store_id,
    coalesce(f.local_date, s.local_date) AS local_date,
    coalesce(f.entries, 0) AS entries, coalesce(s.receipts, 0) AS receipts,
    s.receipts / nullif(f.entries, 0) AS conversion,
    s.gross_revenue / nullif(s.receipts, 0) AS avg_basket_value,
    s.net_revenue / nullif(f.entries, 0) AS sales_per_visitor
FROM marts.fct_footfall_daily f FULL JOIN marts.fct_sales_daily s
    ON f.store_id = s.store_id AND f.local_date = s.local_date;
CREATE OR REPLACE TABLE marts.fct_baskets AS
SELECT receipt_id, any_value(store_id) AS store_id, min(local_date) AS local_date,
    any_value(member_key) AS member_key, list(DISTINCT sku ORDER BY sku) AS skus
FROM raw.transactions GROUP BY receipt_id HAVING bool_or(quantity > 0);
CREATE OR REPLACE TABLE marts.dim_product AS
SELECT sku, arg_max(category, (loaded_at, source_line)) AS category
FROM raw.products GROUP BY sku;
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    sql = [STANDIN_DIM_CUSTOMER, STANDIN_FOOTFALL_SQL, STANDIN_SALES_SQL]
    root = tmp_path_factory.mktemp("comparison")
    for con, truth in build_world(root, sql):
        yield con, truth, root


@pytest.fixture(scope="module")
def marts(world) -> dict[str, pl.DataFrame]:
    con, _, _ = world
    tables = ["marts.dim_customer", "marts.fct_baskets", "marts.fct_conversion_daily",
              "marts.fct_footfall_hourly"]  # fmt: skip
    out = {name.split(".")[1]: read_table(con, name) for name in tables}
    out["products"] = read_table(con, "marts.dim_product")
    out["segments"] = segment_customers(out["dim_customer"]).customer_segments
    return out


@pytest.fixture(scope="module")
def by_segment(marts) -> pl.DataFrame:
    return segment_comparison(
        marts["dim_customer"], marts["segments"], marts["fct_baskets"], marts["products"]
    )


@pytest.fixture(scope="module")
def by_store(marts) -> pl.DataFrame:
    return store_comparison(
        marts["fct_conversion_daily"], marts["fct_footfall_hourly"], marts["fct_baskets"],
        marts["products"],
    )  # fmt: skip


def cell(table: pl.DataFrame, group: str, name: str, kpi: str, level: str | None = None) -> dict:
    level_is = pl.col("level").is_null() if level is None else pl.col("level") == level
    return table.row(
        by_predicate=(pl.col(group) == name) & (pl.col("kpi") == kpi) & level_is, named=True
    )


# --- the test statistic -----------------------------------------------------------------------


def test_mann_whitney_matches_scipy_for_every_group() -> None:
    rng = np.random.default_rng(8)
    sizes = {"a": 5, "b": 40, "c": 300, "d": 1}
    groups = np.repeat(list(sizes), list(sizes.values()))
    values = np.round(rng.gamma(2.0, 3.0, len(groups)) + (groups == "b") * 2.0)  # many ties
    table = compare_groups(
        pl.DataFrame({"g": groups, "kpi": "x", "level": None, "value": values}), "g", "unit"
    )
    for row in table.iter_rows(named=True):
        inside = values[groups == row["g"]]
        outside = values[groups != row["g"]]
        assert row["n"] == len(inside)
        assert row["value"] == pytest.approx(inside.mean())
        assert row["rest"] == pytest.approx(outside.mean())
        assert row["whole"] == pytest.approx(values.mean())
        if len(inside) < 2:
            assert row["p_value"] is None and row["test"] is None  # one unit: no test
            continue
        expected = mannwhitneyu(inside, outside, method="asymptotic", use_continuity=True)
        assert row["prob_superiority"] * len(inside) * len(outside) == pytest.approx(
            expected.statistic
        )
        assert row["p_value"] == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    assert cell(table, "g", "b", "x")["significant"]


def test_shuffled_labels_show_no_difference_after_correction(marts) -> None:
    """With segments assigned at random, the ~100 tests of the table should almost all pass as
    'no difference': that is what the multiple-testing correction is for."""
    shuffled = marts["segments"].with_columns(
        pl.col("segment").shuffle(seed=1), pl.col("segment_id").shuffle(seed=1)
    )
    table = segment_comparison(
        marts["dim_customer"], shuffled, marts["fct_baskets"], marts["products"]
    )
    tested = table.filter(pl.col("p_value").is_not_null())
    assert tested.height > 80
    assert tested["significant"].sum() <= 2
    assert (tested["p_adjusted"] >= tested["p_value"] - 1e-15).all()


# --- segments ---------------------------------------------------------------------------------


def test_segments_differ_where_they_were_planted_to(by_segment) -> None:
    assert by_segment.columns == ["segment", *COMPARISON_COLUMNS]
    vip = cell(by_segment, "segment", "frequent high spenders", "visit_frequency")
    assert vip["significant"] and vip["relative_difference"] > 1.0
    assert cell(by_segment, "segment", "frequent high spenders", "basket_value")["difference"] > 0
    bargain = cell(by_segment, "segment", "bargain hunters", "basket_value")
    assert bargain["significant"] and bargain["relative_difference"] < -0.5
    lapsed = cell(by_segment, "segment", "lapsed", "recency_days")
    assert lapsed["significant"] and lapsed["value"] > 3 * lapsed["whole"]
    # Cheap products are the bargain hunters' planted habit: groceries are the cheapest here.
    grocery = cell(by_segment, "segment", "bargain hunters", "category_share", "grocery")
    assert grocery["significant"] and grocery["difference"] > 0.05  # planted: 0.083


def test_segment_figures_add_up_to_the_whole(by_segment, marts) -> None:
    for (kpi, level), part in by_segment.group_by("kpi", "level"):
        total = (part["n"] * part["value"]).sum() / part["n"].sum()
        assert total == pytest.approx(part["whole"][0], rel=1e-9), (kpi, level)
    mix = by_segment.filter(pl.col("kpi") == "category_share")
    sums = mix.group_by("segment").agg(pl.col("value").sum())["value"]
    assert np.allclose(sums.to_numpy(), 1.0)
    hours = by_segment.filter(pl.col("kpi") == "hour_share")
    assert np.allclose(hours.group_by("segment").agg(pl.col("value").sum())["value"], 1.0)
    members = marts["dim_customer"].height
    assert cell(by_segment, "segment", "regulars", "monetary")["n"] < members
    assert by_segment.filter(pl.col("kpi") == "visit_frequency")["n"].sum() == members
    assert "conversion" not in set(by_segment["kpi"])  # footfall is not tied to members


# --- stores -----------------------------------------------------------------------------------


def test_stores_differ_by_their_planted_conversion(world, by_store) -> None:
    _, truth, _ = world
    rates = {s["store_id"]: s["conversion_rate"] for s in truth["stores"]}
    high, low = max(rates, key=rates.get), min(rates, key=rates.get)
    top = cell(by_store, "store_id", high, "conversion")
    bottom = cell(by_store, "store_id", low, "conversion")
    assert top["significant"] and top["difference"] > 0
    assert bottom["significant"] and bottom["difference"] < 0
    for store, rate in rates.items():
        measured = cell(by_store, "store_id", store, "conversion")["value"]
        assert measured == pytest.approx(rate, abs=0.02)


def test_store_hour_profiles_and_category_mix_are_shares(by_store) -> None:
    for kpi in ("hour_share", "category_share"):
        part = by_store.filter(pl.col("kpi") == kpi)
        sums = part.group_by("store_id").agg(pl.col("value").sum())["value"]
        assert np.allclose(sums.to_numpy(), 1.0), kpi
    hours = by_store.filter(pl.col("kpi") == "hour_share")["level"].unique().to_list()
    assert all(len(h) == 2 and 0 <= int(h) <= 23 for h in hours)
    assert set(by_store["unit"]) == {"store-day"}
    assert by_store.filter(pl.col("kpi") == "entries")["n"].min() >= 89  # closed days left out


# --- bad input -------------------------------------------------------------------------------


def test_bad_comparison_inputs_are_refused(marts) -> None:
    customers, segments = marts["dim_customer"], marts["segments"]
    with pytest.raises(ComparisonInputError, match="lacks columns"):
        segment_comparison(customers.drop("frequency"), segments)
    with pytest.raises(ComparisonInputError, match="no member of customer_segments"):
        segment_comparison(customers, segments.with_columns(member_key=pl.lit("nobody")))
    conversion = marts["fct_conversion_daily"]
    with pytest.raises(ComparisonInputError, match="no trading store-day"):
        store_comparison(conversion.with_columns(entries=pl.lit(0), receipts=pl.lit(0)))
    with pytest.raises(ComparisonInputError, match="lacks columns"):
        store_comparison(conversion, marts["fct_footfall_hourly"].drop("local_hour"))
    one_store = store_comparison(conversion.filter(pl.col("store_id") == "S001"))
    assert one_store["p_value"].null_count() == one_store.height  # nothing to compare against


# --- the assets, materialized on the stand-in marts -------------------------------------------


def test_mining_assets_materialize_on_the_marts(world) -> None:
    con, truth, root = world
    warehouse = FootfallWarehouse(
        warehouse_path=str(root / "warehouse.duckdb"), landing_path=str(root / "landing"),
        pii_key_file=str(root / "pii.key"), settle_seconds=0,
    )  # fmt: skip
    defs = dg.Definitions(assets=[*RAW_ASSETS, *MINING_ASSETS], resources={"warehouse": warehouse})
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    mining = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "mining"}
    assert {k.to_user_string() for k in mining} == {
        f"ml/{t}" for t in ("customer_segments", "segment_profiles", "segment_comparison",
                            "store_comparison", "anomalies", "association_rules")
    }  # fmt: skip
    assert (
        dg.AssetKey(["raw", "rfid_reads"])
        in graph.get(dg.AssetKey(["ml", "anomalies"])).parent_keys
    )

    result = dg.materialize(MINING_ASSETS, resources={"warehouse": warehouse})
    assert result.success
    events = {e.asset_key.to_user_string(): e for e in result.get_asset_materialization_events()}
    assert set(events) == {k.to_user_string() for k in mining}
    chart = events["ml/customer_segments"].materialization.metadata["chart"].value
    assert chart.startswith("![segments](data:image/png;base64,")
    assert "data:image/png" in events["ml/anomalies"].materialization.metadata["chart"].value
    rules_chart = events["ml/association_rules"].materialization.metadata["chart"].value
    assert rules_chart.startswith("![rules](data:image/png;base64,")

    def table(name: str) -> pl.DataFrame:
        return con.execute(f"SELECT * FROM ml.{name}").pl()

    assert table("customer_segments").schema == pl.Schema(SEGMENT_SCHEMA)
    assert table("customer_segments").height == truth["generator"]["members"]
    assert table("anomalies").schema == pl.Schema(ANOMALY_SCHEMA)
    outages = table("anomalies").filter(pl.col("check") == "camera_missing")
    assert set(outages.select("store_id", "local_date").iter_rows()) <= planted_days(truth)
    assert table("association_rules").schema == pl.Schema(RULE_SCHEMA)
    assert table("association_rules").height > 0
    assert table("segment_comparison")["significant"].any()
    assert table("store_comparison")["significant"].any()
    assert table("segment_profiles")["size"].sum() == truth["generator"]["members"]


def test_a_missing_mart_is_named_in_the_error(world) -> None:
    con, _, _ = world
    with pytest.raises(MissingTable, match=r"marts.dim_store does not exist.*dbt"):
        read_table(con, "marts.dim_store")
    with pytest.raises(ValueError, match="schema.table"):
        read_table(con, "dim_customer; DROP TABLE x")
