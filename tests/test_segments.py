"""Customer segments on the small demo world: planted segments recovered, stable labels, bad input.

The segments are found in ``marts.dim_customer`` as dbt builds it from the loaded world. Other
test modules (test_comparison.py, test_recommend.py, test_anomalies.py) reuse the world builder
with ``STANDIN_DIM_CUSTOMER``, the same table computed straight from the raw tables without a
dbt run; a test here keeps the stand-in equal to the dbt model.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from matplotlib.image import imread
from polars.testing import assert_frame_equal
from sklearn.metrics import adjusted_rand_score

from footfall_platform.demo import generate_world
from footfall_platform.ingest.loader import SourceLoader
from footfall_platform.landing.contract import LOAD_ORDER
from footfall_platform.mining.segments import (
    FEATURES,
    NO_PURCHASES,
    PROFILE_FEATURES,
    SEGMENT_SCHEMA,
    SegmentationError,
    segment_chart,
    segment_customers,
)
from footfall_platform.warehouse.connection import connect
from tests.conftest import PII_KEY

WORLD_SEED = 11

# --- STAND-IN FOR THE MART (tests only): marts.dim_customer from the raw tables -----------------

STANDIN_DIM_CUSTOMER_SELECT = """
WITH members AS (
    SELECT * EXCLUDE (rn) FROM (
        SELECT member_key, birth_year, gender, city, joined_on, row_number() OVER (
            PARTITION BY member_key ORDER BY loaded_at DESC, source_line DESC) AS rn
        FROM raw.members) WHERE rn = 1),
as_of AS (SELECT max(local_date) AS as_of_date FROM raw.transactions),
categories AS (
    SELECT sku, arg_max(category, (loaded_at, source_line)) AS category
    FROM raw.products GROUP BY sku),
lines AS (
    SELECT t.*, c.category, quantity * unit_price AS gross,
           quantity * unit_price - discount AS net
    FROM raw.transactions t LEFT JOIN categories c USING (sku)
    WHERE member_key IS NOT NULL),
category_prices AS (
    SELECT category, median(unit_price::DOUBLE) AS median_price
    FROM raw.transactions JOIN categories USING (sku)
    WHERE quantity > 0 AND unit_price > 0 GROUP BY category),
promotions AS (
    SELECT DISTINCT date, nullif(upper(trim(store_id)), '') AS store_id
    FROM raw.calendar WHERE lower(trim(kind)) = 'promotion'),
receipts AS (
    SELECT member_key, receipt_id, any_value(store_id) AS store_id,
           min(local_date) AS local_date, min(local_hour) AS local_hour,
           bool_or(quantity > 0) AS is_sale, sum(gross) FILTER (WHERE quantity > 0) AS gross
    FROM lines GROUP BY member_key, receipt_id),
per_receipt AS (
    SELECT member_key,
        min(local_date) FILTER (WHERE is_sale) AS first_purchase_date,
        max(local_date) FILTER (WHERE is_sale) AS last_purchase_date,
        count(*) FILTER (WHERE is_sale) AS frequency,
        sum(gross) FILTER (WHERE is_sale)
            / nullif(count(*) FILTER (WHERE is_sale), 0) AS avg_basket_value,
        avg(CASE WHEN isodow(local_date) >= 6 THEN 1.0 ELSE 0.0 END)
            FILTER (WHERE is_sale) AS weekend_share,
        mode(store_id) FILTER (WHERE is_sale) AS preferred_store_id,
        mode(local_hour) FILTER (WHERE is_sale) AS preferred_hour,
        mode(isodow(local_date)) FILTER (WHERE is_sale) AS preferred_weekday,
        avg(CASE WHEN EXISTS (
                SELECT 1 FROM promotions p WHERE p.date = receipts.local_date
                AND (p.store_id IS NULL OR p.store_id = receipts.store_id)) THEN 1.0 ELSE 0.0 END)
            FILTER (WHERE is_sale) AS promotion_share
    FROM receipts GROUP BY member_key),
per_line AS (
    SELECT member_key, sum(net)::DOUBLE AS monetary,
        sum(quantity) FILTER (WHERE quantity > 0) AS units,
        -sum(quantity) FILTER (WHERE quantity < 0) AS returned_units,
        count(DISTINCT category) FILTER (WHERE quantity > 0) AS distinct_categories,
        count(*) FILTER (WHERE quantity > 0) AS sale_lines,
        exp(avg(ln(unit_price / median_price)) FILTER (WHERE quantity > 0 AND unit_price > 0))
            AS price_index
    FROM lines LEFT JOIN category_prices USING (category) GROUP BY member_key)
SELECT m.member_key, m.birth_year,
    CASE WHEN m.birth_year IS NULL THEN 'unknown'
         WHEN year(a.as_of_date) - m.birth_year < 25 THEN '<25'
         WHEN year(a.as_of_date) - m.birth_year < 35 THEN '25-34'
         WHEN year(a.as_of_date) - m.birth_year < 45 THEN '35-44'
         WHEN year(a.as_of_date) - m.birth_year < 55 THEN '45-54'
         WHEN year(a.as_of_date) - m.birth_year < 65 THEN '55-64' ELSE '65+' END AS age_band,
    m.gender, m.city, m.joined_on, date_diff('day', m.joined_on, a.as_of_date) AS tenure_days,
    r.first_purchase_date, r.last_purchase_date,
    date_diff('day', r.last_purchase_date, a.as_of_date) AS recency_days,
    coalesce(r.frequency, 0) AS frequency, coalesce(l.monetary, 0.0) AS monetary,
    r.avg_basket_value::DOUBLE AS avg_basket_value, coalesce(l.units, 0)::BIGINT AS units,
    (coalesce(l.returned_units, 0) / nullif(l.units, 0))::DOUBLE AS return_rate,
    coalesce(l.distinct_categories, 0) AS distinct_categories,
    r.weekend_share::DOUBLE AS weekend_share,
    (l.sale_lines / nullif(r.frequency, 0))::DOUBLE AS avg_basket_items,
    l.price_index::DOUBLE AS price_index, r.promotion_share::DOUBLE AS promotion_share,
    r.preferred_store_id, r.preferred_hour, r.preferred_weekday, a.as_of_date
FROM members m CROSS JOIN as_of a
LEFT JOIN per_receipt r USING (member_key) LEFT JOIN per_line l USING (member_key)
"""
STANDIN_DIM_CUSTOMER = f"""
CREATE SCHEMA IF NOT EXISTS marts;
CREATE OR REPLACE TABLE marts.dim_customer AS {STANDIN_DIM_CUSTOMER_SELECT};
"""

# --- the world, built once per module that asks for it ----------------------------------------


def build_world(
    root: Path,
    standin_sql: list[str],
    *,
    dbt_select: str | None = None,
    scale: str = "small",
    seed: int = WORLD_SEED,
) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict]]:
    """Generate a demo world, load its raw layer, build the dbt models of `dbt_select` (if
    given) and run the stand-in SQL; yield a connection to the warehouse and the truth."""
    truth = generate_world(root, scale=scale, seed=seed)
    warehouse = root / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FOOTFALL_PII_KEY", PII_KEY)
        con = connect(warehouse)
        loader = SourceLoader(con, root / "landing", pii_key_file=root / "pii.key")
        for source in LOAD_ORDER:
            assert not loader.load_source(source).errors
    if dbt_select:
        con.close()  # dbt writes from its own process, and DuckDB allows one writer
        run_dbt(warehouse, root / "dbt", dbt_select)
        con = connect(warehouse)
    try:
        for sql in standin_sql:
            con.execute(sql)
        yield con, truth
    finally:
        con.close()


def run_dbt(warehouse: Path, artifacts: Path, select: str) -> None:
    """`dbt run --select <select>` on this warehouse, as the platform's dbt resource runs it."""
    # Imported here: loading the dbt project (and dagster-dbt) is only for callers that ask.
    from assets.transform import DBT_EXECUTABLE, DBT_PROJECT, FootfallDbt

    dbt = FootfallDbt(
        project_dir=DBT_PROJECT,
        dbt_executable=DBT_EXECUTABLE,
        warehouse_path=str(warehouse),
        artifacts_dir=str(artifacts),
    )
    dbt.cli(["run", "--select", select]).wait()


def planted_segments(truth: dict) -> pl.DataFrame:
    """The planted segment of every member, keyed as the warehouse keys them."""
    key = PII_KEY.encode()
    ids = list(truth["members"]["member_segment"])
    return pl.DataFrame(
        {
            "member_key": [hmac.new(key, m.encode(), hashlib.sha256).hexdigest() for m in ids],
            "planted": [truth["members"]["member_segment"][m] for m in ids],
        }
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    yield from build_world(tmp_path_factory.mktemp("segments"), [], dbt_select="+dim_customer")


@pytest.fixture(scope="module")
def customers(world) -> pl.DataFrame:
    con, _ = world
    return con.execute("SELECT * FROM marts.dim_customer").pl()


@pytest.fixture(scope="module")
def result(customers):
    return segment_customers(customers)


# --- recovering the planted segments ----------------------------------------------------------


def test_planted_segments_are_recovered(world, customers, result) -> None:
    _, truth = world
    joined = result.customer_segments.join(planted_segments(truth), on="member_key")
    assert joined.height == customers.height == truth["generator"]["members"]
    ari = adjusted_rand_score(joined["planted"], joined["segment_id"])
    assert ari >= 0.8, f"adjusted Rand index {ari:.3f}"
    assert result.k == 5 == len(truth["members"]["segments"])
    # Each segment is named for the planted habit of most of its members.
    majority = dict(joined.group_by("segment").agg(pl.col("planted").mode().first()).iter_rows())
    assert majority == {
        "frequent high spenders": "vip",
        "regulars": "regular",
        "bargain hunters": "bargain",
        "lapsed": "lapsed",
        "new members": "new",
    }


def test_bargain_hunters_are_found_whatever_their_taste(world, result) -> None:
    """Basket value mixes a habit (cheap picks) with taste (the category): a bargain hunter of
    shoes spends more per basket than a regular of groceries. The price position within the
    category does not; planted bargain hunters with a dear taste must not be lost."""
    _, truth = world
    key = PII_KEY.encode()
    dear = {"electronics", "shoes", "womenswear", "menswear"}  # median price 48 to 165
    tastes = truth["tastes"]["member_taste"]
    dear_bargain = {
        hmac.new(key, m.encode(), hashlib.sha256).hexdigest()
        for m, segment in truth["members"]["member_segment"].items()
        if segment == "bargain" and tastes[m]["category"] in dear
    }
    found = result.customer_segments.filter(pl.col("member_key").is_in(dear_bargain))
    assert found.height >= 20
    assert (found["segment"] == "bargain hunters").mean() >= 0.9


def test_k_is_the_lowest_davies_bouldin_and_every_k_was_tried(result) -> None:
    assert sorted(result.davies_bouldin) == sorted(result.silhouettes) == list(range(2, 9))
    assert result.davies_bouldin[result.k] == min(result.davies_bouldin.values())
    assert result.features == FEATURES and result.constant_features == ()


def test_the_standin_computes_the_dbt_model(world, customers) -> None:
    """The stand-in other test modules segment must stay the table dbt builds."""
    con, _ = world
    standin = con.execute(STANDIN_DIM_CUSTOMER_SELECT).pl()
    columns = ["member_key", *dict.fromkeys([*FEATURES, *PROFILE_FEATURES, "promotion_share"])]
    assert_frame_equal(
        standin.select(columns).sort("member_key"),
        customers.select(columns).sort("member_key"),
        check_dtypes=False,
    )


def test_segments_are_numbered_by_revenue_per_member(customers, result) -> None:
    profiles = result.profiles
    assert profiles["segment_id"].to_list() == list(range(result.k))
    per_member = (profiles["revenue"] / profiles["size"]).to_list()
    assert per_member == sorted(per_member, reverse=True)
    assert profiles["size"].sum() == customers.height
    assert profiles["revenue_share"].sum() == pytest.approx(1.0)
    assert profiles["member_share"].sum() == pytest.approx(1.0)
    lapsed = profiles.row(by_predicate=pl.col("segment") == "lapsed", named=True)
    members = result.customer_segments.filter(pl.col("segment") == "lapsed").join(
        customers, on="member_key"
    )
    assert lapsed["size"] == members.height
    assert lapsed["mean_recency_days"] == pytest.approx(members["recency_days"].mean())
    assert lapsed["mean_recency_days"] > 3 * profiles["mean_recency_days"].median()


def test_labels_are_stable_across_runs_and_row_order(customers, result) -> None:
    again = segment_customers(customers)
    shuffled = segment_customers(customers.sample(fraction=1.0, shuffle=True, seed=3))
    for other in (again, shuffled):
        assert other.customer_segments.equals(result.customer_segments)
        assert other.profiles.equals(result.profiles)
    assert result.customer_segments.schema == pl.Schema(SEGMENT_SCHEMA)


def test_sampled_silhouette_is_seeded(customers) -> None:
    first = segment_customers(customers, silhouette_sample=150, k_range=range(3, 7))
    second = segment_customers(customers, silhouette_sample=150, k_range=range(3, 7))
    assert first.silhouettes == second.silhouettes
    assert first.customer_segments.equals(second.customer_segments)
    full = segment_customers(customers, k_range=range(3, 7))
    assert first.silhouettes != full.silhouettes  # the sample really was a sample


def test_members_without_purchases_get_their_own_segment(customers, result) -> None:
    idle = customers.head(3).with_columns(
        pl.format("idle-{}", pl.int_range(3)).alias("member_key"),
        frequency=pl.lit(0, customers["frequency"].dtype),
        monetary=pl.lit(0.0),
        recency_days=pl.lit(None, customers["recency_days"].dtype),
        avg_basket_value=pl.lit(None, pl.Float64),
    )
    mixed = segment_customers(pl.concat([customers, idle]))
    assigned = mixed.customer_segments
    assert (
        assigned.filter(pl.col("member_key").str.starts_with("idle-"))["segment"].to_list()
        == [NO_PURCHASES] * 3
    )
    assert set(assigned.filter(pl.col("segment") == NO_PURCHASES)["segment_id"]) == {mixed.k}
    buyers = assigned.filter(pl.col("segment") != NO_PURCHASES)
    assert buyers.equals(result.customer_segments)
    assert mixed.profiles.filter(pl.col("segment") == NO_PURCHASES)["size"].item() == 3


def test_chart_is_a_png_of_the_segments(customers, result) -> None:
    png = segment_chart(customers, result)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(io.BytesIO(png), format="png")
    assert image.shape[0] >= 400 and image.shape[1] >= 1000
    assert image[..., :3].std() > 0.05  # something is drawn


def test_no_personal_data_in_the_outputs(result) -> None:
    assert result.customer_segments.columns == ["member_key", "segment", "segment_id"]
    assert "member_key" not in result.profiles.columns
    assert all(len(k) == 64 for k in result.customer_segments["member_key"])  # HMAC hex


# --- bad input -------------------------------------------------------------------------------


def test_empty_input_is_refused(customers) -> None:
    with pytest.raises(SegmentationError, match="empty"):
        segment_customers(customers.head(0))


def test_too_few_members_for_the_smallest_k(customers) -> None:
    with pytest.raises(SegmentationError, match=r"2 member\(s\) with a purchase: at least 4"):
        segment_customers(customers.head(2), k_range=range(3, 6))
    small = segment_customers(customers.head(4), k_range=range(3, 6))
    assert small.k == 3  # k above n - 1 is skipped, not an error


def test_a_constant_feature_is_left_out(customers) -> None:
    flat = customers.with_columns(tenure_days=pl.lit(400, customers["tenure_days"].dtype))
    outcome = segment_customers(flat)
    assert outcome.constant_features == ("tenure_days",)
    assert "tenure_days" not in outcome.features
    assert outcome.customer_segments.height == customers.height


def test_a_feature_nobody_has_is_left_out(customers) -> None:
    """No catalogue yet: no line has a category, so nobody has a price position."""
    unpriced = customers.with_columns(price_index=pl.lit(None, pl.Float64))
    outcome = segment_customers(unpriced)
    assert outcome.constant_features == ("price_index",)
    assert outcome.customer_segments.height == customers.height


def test_all_constant_features_are_refused(customers) -> None:
    same = customers.with_columns(
        *[pl.lit(7, customers[f].dtype).alias(f) for f in FEATURES if f != "monetary"],
        monetary=pl.lit(100.0),
    )
    with pytest.raises(SegmentationError, match="every feature is constant"):
        segment_customers(same)


def test_repeated_or_missing_keys_and_columns_are_refused(customers) -> None:
    with pytest.raises(SegmentationError, match="not unique"):
        segment_customers(pl.concat([customers, customers.head(1)]))
    with pytest.raises(SegmentationError, match="no member_key"):
        segment_customers(customers.with_columns(member_key=pl.lit(None, pl.String)))
    with pytest.raises(SegmentationError, match="lacks columns"):
        segment_customers(customers.drop("recency_days"))
    with pytest.raises(SegmentationError, match="at least 2"):
        segment_customers(customers, k_range=[1, 2])


def test_few_distinct_profiles_limit_k(customers) -> None:
    two = pl.concat([customers.head(1)] * 5 + [customers.slice(1, 1)] * 5).with_columns(
        member_key=pl.format("m{}", pl.int_range(10))
    )
    outcome = segment_customers(two)
    assert outcome.k == 2
    assert np.unique(outcome.customer_segments["segment_id"]).tolist() == [0, 1]
