"""Recommendations on the small demo world: the targets against the baselines, the planted tastes
and launches found, the published tables well-formed, and the Dagster asset end to end.

The marts are not built yet (dbt, another issue), so ``STANDIN_MARTS`` below builds the inputs
the asset reads (``staging.stg_transactions``, ``marts.dim_product``, ``marts.dim_store``) from
the raw tables, and ``marts.dim_customer`` comes from test_segments' stand-in. They are a
STAND-IN FOR THE MARTS, for these tests only, with the agreed column names.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.recommend import RECOMMEND_ASSETS, RECOMMENDATIONS, SIMILAR_PRODUCTS
from footfall_platform.orchestration.resources import WRITER_POOL, FootfallWarehouse
from footfall_platform.recommend import RecommendConfig, run_recommender
from footfall_platform.recommend.pipeline import SOURCES
from footfall_platform.warehouse.connection import connect
from tests.conftest import PII_KEY
from tests.test_segments import STANDIN_DIM_CUSTOMER, build_world

# --- STAND-IN FOR THE MARTS (tests only) ------------------------------------------------------

STANDIN_MARTS = """
CREATE SCHEMA IF NOT EXISTS staging;
CREATE OR REPLACE VIEW staging.stg_transactions AS
SELECT receipt_id, store_id, sold_at, local_date, local_hour, member_key, sku, quantity,
       unit_price, discount
FROM raw.transactions;
CREATE OR REPLACE TABLE marts.dim_product AS
SELECT sku, arg_max(name, (loaded_at, source_line)) AS product_name,
       arg_max(category, (loaded_at, source_line)) AS category,
       arg_max(brand, (loaded_at, source_line)) AS brand,
       arg_max(unit_price, (loaded_at, source_line)) AS unit_price,
       arg_max(description, (loaded_at, source_line)) AS description
FROM raw.products GROUP BY sku;
CREATE OR REPLACE TABLE marts.dim_store AS
SELECT store_id, name AS store_name, city, timezone FROM raw.stores;
"""
LINES_SQL = "SELECT member_key, sku, store_id, local_date, quantity FROM staging.stg_transactions"


def member_key(member_id: str) -> str:
    return hmac.new(PII_KEY.encode(), member_id.encode(), hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict, dict]]:
    """The small world's warehouse (closed: each test opens what it needs), truth, frames."""
    root = tmp_path_factory.mktemp("recommend")
    gen = build_world(root, [STANDIN_DIM_CUSTOMER, STANDIN_MARTS])
    con, truth = next(gen)
    frames = {
        "lines": con.execute(LINES_SQL).pl(),
        "products": con.execute("SELECT * FROM marts.dim_product").pl(),
        "customers": con.execute("SELECT * FROM marts.dim_customer").pl(),
        "stores": con.execute("SELECT * FROM marts.dim_store").pl(),
    }
    gen.close()  # closes the connection
    yield root / "warehouse.duckdb", truth, frames


@pytest.fixture(scope="module")
def result(world):
    _, _, f = world
    return run_recommender(f["lines"], f["products"], f["customers"], f["stores"])


def metric(result, model: str, name: str, segment: str = "members_with_history") -> float:
    rows = result.evaluation.filter(
        (pl.col("model") == model) & (pl.col("metric") == name) & (pl.col("segment") == segment)
    )
    assert rows.height == 1, (model, name, segment)
    return rows["value"][0]


# --- the targets ------------------------------------------------------------------------------


def test_hybrid_beats_popularity_and_als_on_members_with_history(result) -> None:
    hybrid = metric(result, "hybrid", "precision@10")
    assert hybrid >= 1.5 * metric(result, "popularity", "precision@10")
    assert hybrid >= 1.5 * metric(result, "store_popularity", "precision@10")
    assert hybrid >= metric(result, "als", "precision@10")
    assert hybrid >= metric(result, "content", "precision@10")
    for name in ("recall@10", "ndcg@10", "map@10"):
        assert metric(result, "hybrid", name) > metric(result, "popularity", name), name
    assert metric(result, "hybrid", "members") >= 200  # enough members for the figures to mean it


def test_launched_products_reach_the_members_whose_taste_they_match(world, result) -> None:
    """Products with no sales before the test period appear in >= 5 % of the (top-20) lists
    of members whose planted taste they match, and in their top 10 far more often than in the
    other members' top 10."""
    _, truth, f = world
    span = result.periods
    launches = truth["products"]["launches"]
    assert {x["launch_date"] for x in launches} == {span.test_start.isoformat()}
    sold_before = f["lines"].filter(
        pl.col("sku").is_in([x["sku"] for x in launches]) & (pl.col("local_date") < span.test_start)
    )
    assert sold_before.height == 0  # truly new when the evaluated lists were made
    lists = result.evaluated_lists["hybrid"]
    taste = {
        member_key(m): (t["category"], t["brand"])
        for m, t in truth["tastes"]["member_taste"].items()
    }
    listed = lists.with_columns(
        taste=pl.col("member_key").replace_strict(
            {k: f"{c}/{b}" for k, (c, b) in taste.items()}, default=None
        )
    )
    for launch in launches:
        fans = listed.filter(pl.col("taste") == f"{launch['category']}/{launch['brand']}")
        others = listed.filter(pl.col("taste") != f"{launch['category']}/{launch['brand']}")
        share = fans.group_by("member_key").agg((pl.col("sku") == launch["sku"]).any())
        assert share.height >= 5, launch
        assert share["sku"].mean() >= 0.05, (launch, share["sku"].mean())
        top10 = [
            part.filter(pl.col("rank") <= 10)
            .group_by("member_key")
            .agg((pl.col("sku") == launch["sku"]).any())["sku"]
            .mean()
            for part in (fans, others)
        ]
        assert top10[0] > 3 * top10[1], (launch, top10)


def test_lists_follow_the_planted_tastes(world, result) -> None:
    """Half of a member's lines come from their taste: their hybrid top 10 should lean on it
    far more than the catalogue does."""
    _, truth, f = world
    taste = {member_key(m): f"{t['category']}/{t['brand']}"
             for m, t in truth["tastes"]["member_taste"].items()}  # fmt: skip
    product_taste = f["products"].select(
        "sku", taste=pl.concat_str("category", "brand", separator="/")
    )
    top10 = (
        result.recommendations.filter(pl.col("rank") <= 10)
        .join(product_taste, on="sku")
        .with_columns(member_taste=pl.col("member_key").replace_strict(taste, default=None))
    )
    in_taste = (top10["taste"] == top10["member_taste"]).mean()
    catalogue_share = 1 / product_taste["taste"].n_unique()
    assert in_taste > 5 * catalogue_share, (in_taste, catalogue_share)


def test_every_choice_is_the_best_on_validation(result) -> None:
    trials = result.trials
    assert set(trials["step"]) == {"weighting", "als", "blend", "cold_start"}
    assert set(trials.filter(pl.col("step") == "weighting")["weighting"]) == {
        "none",
        "bm25",
        "tfidf",
    }
    assert set(trials["exclude_bought"].drop_nulls()) == {True, False}
    best_blend = (
        trials.filter(pl.col("step") == "blend")
        .sort(["precision@10", "ndcg@10"], descending=True)
        .row(0, named=True)
    )
    p = result.params
    assert (p.blend, p.exclude_bought) == (best_blend["blend"], best_blend["exclude_bought"])
    assert (p.als.factors, p.als.regularization, p.als.iterations, p.weighting) == (
        best_blend["factors"], best_blend["regularization"], best_blend["iterations"],
        best_blend["weighting"],
    )  # fmt: skip
    best_als = trials.filter(pl.col("step") == "als")["precision@10"].max()
    assert trials.filter(
        (pl.col("step") == "als") & (pl.col("factors") == p.als.factors)
        & (pl.col("regularization") == p.als.regularization)
        & (pl.col("iterations") == p.als.iterations)
    )["precision@10"].max() == best_als  # fmt: skip
    assert 0 < p.blend < 1  # both models earn a share on this world
    cold = trials.filter(pl.col("step") == "cold_start").sort(
        ["precision@10", "ndcg@10"], descending=True, maintain_order=True
    )
    assert cold.height == 5 and p.popularity_prior == cold["popularity_prior"][0]


# --- the published tables ---------------------------------------------------------------------


def test_recommendations_are_well_formed(world, result) -> None:
    _, _, f = world
    recs = result.recommendations
    assert recs.columns == ["member_key", "rank", "sku", "score", "source", "generated_at"]
    assert set(recs["member_key"]) == set(f["customers"]["member_key"])
    assert not recs.select("member_key", "sku").is_duplicated().any()
    ranks = recs.group_by("member_key").agg(pl.col("rank").sort(), pl.len())
    assert (ranks["len"] <= 20).all() and (ranks["len"] == 20).mean() > 0.95
    assert all(r == list(range(1, len(r) + 1)) for r in ranks["rank"].to_list())
    assert recs["sku"].is_in(f["products"]["sku"].implode()).all()
    assert recs["score"].is_finite().all()
    assert set(recs["source"]) <= set(SOURCES)
    # within a list, scores never increase with rank
    assert (recs.sort("member_key", "rank").group_by("member_key", maintain_order=True)
            .agg(pl.col("score").diff().max())["score"].drop_nulls() <= 1e-12).all()  # fmt: skip


def test_similar_products_cover_every_product(world, result) -> None:
    _, _, f = world
    similar = result.similar_products
    assert set(similar["sku"]) == set(f["products"]["sku"])
    assert (similar["sku"] != similar["similar_sku"]).all()
    assert similar.group_by("sku").len()["len"].max() == 20
    assert ((similar["score"] > 0) & (similar["score"] <= 1 + 1e-6)).all()
    products = f["products"].select("sku", "category", "brand")
    first = (
        similar.filter(pl.col("rank") == 1)
        .join(products, on="sku")
        .join(products.rename(lambda c: f"similar_{c}"), on="similar_sku")
    )
    alike = (first["category"] == first["similar_category"]) | (
        first["brand"] == first["similar_brand"]
    )
    assert alike.mean() > 0.95  # the most similar product shares its category or its brand


def test_evaluation_rows_carry_every_model_and_metric(result) -> None:
    ev = result.evaluation
    assert ev.columns == ["model_family", "model", "segment", "metric", "value", "evaluated_at"]
    assert set(ev["model_family"]) == {"recommend"}
    warm = ev.filter(pl.col("segment") == "members_with_history")
    for model in ("popularity", "als", "content", "hybrid"):
        metrics = set(warm.filter(pl.col("model") == model)["metric"])
        assert {
            "precision@10",
            "recall@10",
            "ndcg@10",
            "map@10",
            "coverage@10",
            "lists_with_new_product@10",
            "new_product_recall@10",
            "members",
        } <= metrics
    assert metric(result, "hybrid", "new_product_recall@10") > 0
    assert metric(result, "als", "lists_with_new_product@10") == 0  # plain ALS cannot see them
    assert set(ev.filter(pl.col("segment") == "cold_start_members")["model"]) == {
        "popularity",
        "hybrid",
    }
    assert ev["value"].is_finite().all()
    cov = ev.filter(pl.col("metric").str.starts_with("coverage"))["value"]
    assert ((cov >= 0) & (cov <= 1)).all()


def test_same_inputs_give_the_same_lists(world) -> None:
    _, _, f = world
    config = RecommendConfig(tune=False, evaluate=False)
    runs = [
        run_recommender(f["lines"], f["products"], f["customers"], f["stores"], config=config)
        for _ in range(2)
    ]
    a, b = (r.recommendations.drop("generated_at") for r in runs)
    assert a.equals(b)


def test_example_member_shows_history_beside_the_list(result) -> None:
    ex = result.example
    key = ex["member_key"]["member_key"][0]
    assert len(key) == 64 and ex["history"].height >= 1 and ex["recommendations"].height == 20
    assert "member_id" not in ex["history"].columns


# --- the Dagster asset ------------------------------------------------------------------------


def test_asset_publishes_the_tables_and_keeps_other_families(world) -> None:
    path, _, _ = world
    con = connect(path)
    try:  # the forecasting team's rows must survive a recommend run
        con.execute("CREATE SCHEMA IF NOT EXISTS ml")
        con.execute("CREATE TABLE IF NOT EXISTS ml.model_evaluation (model_family VARCHAR, "
                    "model VARCHAR, segment VARCHAR, metric VARCHAR, value DOUBLE, "
                    "evaluated_at TIMESTAMPTZ)")  # fmt: skip
        con.execute("INSERT INTO ml.model_evaluation VALUES ('forecast', 'prophet', 'S001', "
                    "'mape', 0.12, now()), ('recommend', 'stale', 'x', 'y', 1, now())")  # fmt: skip
    finally:
        con.close()
    warehouse = FootfallWarehouse(
        warehouse_path=str(path), landing_path=str(path.parent / "landing"),
        pii_key_file=str(path.parent / "pii.key"),
    )  # fmt: skip
    result = dg.materialize(
        RECOMMEND_ASSETS,
        resources={"warehouse": warehouse},
        run_config={"ops": {"recommendations": {"config": {"tune": False}}}},
    )
    assert result.success
    meta = {
        e.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()
    }
    assert "| segment | metric |" in meta[RECOMMENDATIONS]["evaluation"].value
    example = meta[RECOMMENDATIONS]["example_member"].value
    assert "**bought**" in example and "**recommended**" in example and "LC0" not in example
    assert meta[SIMILAR_PRODUCTS]["dagster/row_count"].value > 0
    con = connect(path, read_only=True)
    try:
        families = dict(con.execute(
            "SELECT model_family, count(*) FROM ml.model_evaluation GROUP BY 1").fetchall())  # fmt: skip
        stale = con.execute(
            "SELECT count(*) FROM ml.model_evaluation WHERE model = 'stale'").fetchone()[0]  # fmt: skip
        counts = con.execute(
            "SELECT count(*), count(DISTINCT member_key) FROM ml.recommendations").fetchone()  # fmt: skip
    finally:
        con.close()
    assert families["forecast"] == 1 and families["recommend"] > 20
    assert stale == 0
    assert counts[0] == meta[RECOMMENDATIONS]["dagster/row_count"].value and counts[1] > 300


def test_assets_load_in_definitions() -> None:
    defs = dg.Definitions(
        assets=RECOMMEND_ASSETS,
        resources={"warehouse": FootfallWarehouse(
            warehouse_path="w.duckdb", landing_path="l", pii_key_file="k")},
    )  # fmt: skip
    graph = defs.resolve_asset_graph()
    node = graph.get(RECOMMENDATIONS)
    assert node.group_name == "recommendations" and node.kinds == {"implicit", "polars", "duckdb"}
    assert {dg.AssetKey(["marts", "dim_product"]), dg.AssetKey(["marts", "dim_customer"]),
            dg.AssetKey(["staging", "stg_transactions"])} <= node.parent_keys  # fmt: skip
    assert graph.get(SIMILAR_PRODUCTS).group_name == "recommendations"
    assert RECOMMEND_ASSETS[0].op.pool == WRITER_POOL
