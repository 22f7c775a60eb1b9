"""Awkward inputs the recommender must survive with documented behaviour (docs/recommend.md).

Each listed bad input of issue 7 has its own test on small hand-made frames: a catalogue with
empty or duplicate descriptions, products never sold, members with only returns, a
single-product store (and a single-product catalogue), a matrix with one member. Missing columns
and an empty catalogue are refused with a clear error.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from footfall_platform.recommend import RecommendConfig, RecommendInputError, run_recommender
from footfall_platform.recommend.als import AlsParams

START = dt.date(2025, 3, 1)
# Small grid: these tests are about behaviour, not about the best settings.
FAST = RecommendConfig(grid=(AlsParams(8, 0.1, 5),), blends=(0.0, 0.5, 1.0))


def catalogue(rows: list[tuple[str, str, str, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema=["sku", "product_name", "category", "brand", "description"],
        orient="row",
    )


BASE_PRODUCTS = [
    (f"{cat[:3].upper()}-{k}", f"{adj} {noun}", cat, brand, f"{adj} {noun.lower()} by {brand}.")
    for cat, noun, brand in (("grocery", "Tea", "Green Valley"), ("home", "Mug", "Hearth"),
                             ("beauty", "Soap", "Pure Bloom"))
    for k, adj in enumerate(("Organic", "Classic", "Rustic", "Scented"))
]  # fmt: skip


def shopping(
    members: int, products: pl.DataFrame, days: int = 60, seed: int = 1, store: str = "S1"
) -> pl.DataFrame:
    """Member lines: each member buys mostly within one category, a line every other day."""
    rng = np.random.default_rng(seed)
    skus = products["sku"].to_list()
    cats = products["category"].to_list()
    rows = []
    for m in range(members):
        mine = [s for s, c in zip(skus, cats, strict=True) if c == cats[(m * 5) % len(cats)]]
        for d in range(0, days, 2):
            pool = mine if rng.random() < 0.8 else skus
            rows.append((f"m{m:03d}", str(rng.choice(pool)), store, START + dt.timedelta(d), 1))
    return lines(rows)


def lines(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"member_key": pl.Utf8, "sku": pl.Utf8, "store_id": pl.Utf8,
                "local_date": pl.Date, "quantity": pl.Int64},
        orient="row",
    )  # fmt: skip


def customers(keys: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {"member_key": keys, "city": ["Paris"] * len(keys), "age_band": ["25-34"] * len(keys)}
    )


STORES = pl.DataFrame({"store_id": ["S1", "S9"], "city": ["Paris", "Lyon"]})


def run(lines_: pl.DataFrame, products: pl.DataFrame, keys: list[str] | None = None, **kw):
    keys = keys or sorted(set(lines_["member_key"].drop_nulls()))
    return run_recommender(lines_, products, customers(keys), STORES, config=kw.get("config", FAST))


def well_formed(recs: pl.DataFrame, products: pl.DataFrame) -> None:
    assert not recs.select("member_key", "sku").is_duplicated().any()
    assert recs["sku"].is_in(products["sku"].implode()).all()
    assert recs["score"].is_finite().all()
    for ranks in recs.group_by("member_key").agg(pl.col("rank").sort())["rank"].to_list():
        assert ranks == list(range(1, len(ranks) + 1))


def test_empty_and_duplicate_descriptions() -> None:
    products = catalogue(
        BASE_PRODUCTS
        + [
            ("DUP-1", "Lavender Candle", "home", "Hearth", "A candle, gift boxed."),
            ("DUP-2", "Lavender Candle", "home", "Hearth", "A candle, gift boxed."),
            ("EMP-1", "Cedar Candle", "home", "Hearth", ""),
            ("EMP-2", "Citrus Candle", "home", "Hearth", None),
            ("BLANK", "", "", None, None),  # nothing at all to describe it
            ("DUP-1", "Lavender Candle", "home", "Hearth", "Sent twice: the first row counts."),
            (None, "No SKU", "home", "Hearth", "A row without a SKU is left out."),
        ]
    )
    result = run(shopping(20, products.head(12)), products)
    assert result.similar_products["sku"].null_count() == 0
    similar = result.similar_products
    top = dict(similar.filter(pl.col("rank") == 1).select("sku", "similar_sku").iter_rows())
    assert top["DUP-1"] == "DUP-2" and top["DUP-2"] == "DUP-1"  # identical text: most similar
    score = similar.filter((pl.col("sku") == "DUP-1") & (pl.col("rank") == 1))["score"][0]
    assert score == pytest.approx(1.0, abs=1e-5)
    # an empty description still leaves name, category and brand to compare
    assert {"EMP-1", "EMP-2"} <= set(similar["sku"])
    assert top["EMP-1"] in {"EMP-2", "DUP-1", "DUP-2"}
    # a product with no text has no similar products and is nobody's similar product
    assert "BLANK" not in set(similar["sku"]) | set(similar["similar_sku"])
    well_formed(result.recommendations, products)


def test_products_never_sold_are_recommended_through_content_only() -> None:
    products = catalogue(
        BASE_PRODUCTS
        + [
            (
                "NEW-1",
                "Organic Tea Blend",
                "grocery",
                "Green Valley",
                "Organic tea blend by Green Valley.",
            )
        ]  # fmt: skip
    )
    sold = shopping(20, products.head(12))
    assert "NEW-1" not in set(sold["sku"])
    result = run(sold, products)
    recs = result.recommendations
    new = recs.filter(pl.col("sku") == "NEW-1")
    assert new.height > 0 and set(new["source"]) == {"content"}  # reached through its text
    main = (
        sold.with_columns(cat=pl.col("sku").str.slice(0, 3))
        .group_by("member_key")
        .agg(pl.col("cat").mode().first())
    )
    tea_fans = set(main.filter(pl.col("cat") == "GRO")["member_key"])
    reached = set(new.filter(pl.col("rank") <= 5)["member_key"])
    assert tea_fans and reached and reached <= tea_fans  # to those who buy what it resembles
    assert "NEW-1" in set(result.similar_products["sku"])
    # best-seller lists never hold a product nobody bought
    cold = run(sold, products, keys=[*sorted(set(sold["member_key"])), "nobody"])
    popular = cold.recommendations.filter(pl.col("source") == "popular")
    assert popular.height > 0 and "NEW-1" not in set(popular["sku"])


def test_members_with_only_returns_are_cold_start() -> None:
    products = catalogue(BASE_PRODUCTS)
    sold = shopping(20, products)
    returns_only = lines([("ret", "GRO-0", "S1", START + dt.timedelta(5), -1),
                          ("ret", "HOM-1", "S1", START + dt.timedelta(9), -2)])  # fmt: skip
    # bought once and returned it: nothing kept, so no taste either
    cancelled = lines([("back", "BEA-2", "S1", START + dt.timedelta(3), 1),
                       ("back", "BEA-2", "S1", START + dt.timedelta(4), -1)])  # fmt: skip
    result = run(pl.concat([sold, returns_only, cancelled]), products)
    recs = result.recommendations
    for key in ("ret", "back"):
        mine = recs.filter(pl.col("member_key") == key)
        assert mine.height == 12 and set(mine["source"]) == {"popular"}
    well_formed(recs, products)


def test_a_single_product_store_and_a_single_product_catalogue() -> None:
    products = catalogue(BASE_PRODUCTS)
    one_store = lines([(f"s9-{m}", "HOM-2", "S9", START + dt.timedelta(d), 1)
                       for m in range(3) for d in range(0, 60, 3)])  # fmt: skip
    result = run(pl.concat([shopping(20, products), one_store]), products)
    mine = result.recommendations.filter(pl.col("member_key").str.starts_with("s9-"))
    assert mine.group_by("member_key").len()["len"].to_list() == [12] * 3
    assert mine.filter(pl.col("rank") == 1)["sku"].to_list() == ["HOM-2"] * 3
    well_formed(result.recommendations, products)

    single = catalogue([BASE_PRODUCTS[0]])
    result = run(shopping(5, single), single)
    assert result.similar_products.is_empty()  # nothing to be similar to
    assert set(result.recommendations["sku"]) == {"GRO-0"}
    assert result.recommendations.group_by("member_key").len()["len"].max() == 1


def test_a_matrix_with_one_member() -> None:
    products = catalogue(BASE_PRODUCTS)
    alone = shopping(1, products)
    result = run(alone, products, keys=["m000", "newcomer"])
    recs = result.recommendations
    assert set(recs["member_key"]) == {"m000", "newcomer"}
    assert (
        recs.filter(pl.col("member_key") == "m000")["source"]
        .is_in(["als", "content", "hybrid"])
        .all()
    )
    assert set(recs.filter(pl.col("member_key") == "newcomer")["source"]) == {"popular"}
    well_formed(recs, products)
    assert result.evaluation["value"].is_finite().all()


def test_history_too_short_to_evaluate_still_recommends() -> None:
    products = catalogue(BASE_PRODUCTS)
    one_day = shopping(10, products, days=1)
    result = run(one_day, products)
    assert result.evaluation.is_empty() and result.periods is None
    assert "too short" in result.notes[0]
    assert result.recommendations["member_key"].n_unique() == 10


def test_only_anonymous_sales_give_best_sellers_to_everybody() -> None:
    products = catalogue(BASE_PRODUCTS)
    anonymous = shopping(5, products).with_columns(member_key=pl.lit(None, pl.Utf8))
    result = run_recommender(anonymous, products, customers(["a", "b"]), STORES, config=FAST)
    recs = result.recommendations
    assert set(recs["member_key"]) == {"a", "b"} and set(recs["source"]) == {"popular"}


def test_missing_columns_and_an_empty_catalogue_are_refused() -> None:
    products = catalogue(BASE_PRODUCTS)
    sold = shopping(3, products)
    with pytest.raises(RecommendInputError, match="quantity"):
        run(sold.drop("quantity"), products)
    with pytest.raises(RecommendInputError, match="description"):
        run(sold, products.drop("description"))
    with pytest.raises(RecommendInputError, match="catalogue is empty"):
        run(sold, products.clear())
    with pytest.raises(RecommendInputError, match="city"):
        run_recommender(sold, products, customers(["m000"]).drop("city"), STORES, config=FAST)
