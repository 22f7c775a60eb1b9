"""The demo world's planted member tastes and product launches, recomputed from the written files.

The recommender's targets rest on these truths (test_recommend.py), so they are checked here
against the files, not the generator's memory: tastes show in what members buy, launched
products arrive in the catalogue update and sell only from their launch day, only to their fans.
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import polars as pl
import pytest

from footfall_platform.demo import generate_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("tastes")
    return out, generate_world(out, scale="small", seed=7, bad_inputs=False)


def read(root: Path, rel: str) -> pl.DataFrame:
    data = (root / "landing" / rel).read_bytes()
    return pl.read_csv(gzip.decompress(data) if rel.endswith(".gz") else data, infer_schema=False)


def sale_lines(root: Path, truth: dict) -> pl.DataFrame:
    files = [r for r, f in truth["files"].items() if f["source"] == "transactions"]
    return (
        pl.concat([read(root, r) for r in files])
        .filter(pl.col("quantity").cast(pl.Int64) > 0)
        .with_columns(day=pl.col("sold_at").str.slice(0, 10))
    )


def products(root: Path, truth: dict) -> pl.DataFrame:
    return pl.concat(
        [read(root, "products/products.csv"), read(root, truth["products"]["update_file"])]
    )


def test_every_member_has_a_taste_that_shows_in_their_lines(world) -> None:
    out, truth = world
    tastes = truth["tastes"]
    assert set(tastes["member_taste"]) == set(truth["members"]["member_segment"])
    catalogue = products(out, truth).unique("sku", keep="last")
    taste_of = {m: f"{t['category']}/{t['brand']}" for m, t in tastes["member_taste"].items()}
    lines = (
        sale_lines(out, truth)
        .filter(pl.col("member_id").is_not_null())
        .join(catalogue.select("sku", "category", "brand"), on="sku")
        .with_columns(
            product_taste=pl.concat_str("category", "brand", separator="/"),
            member_taste=pl.col("member_id").replace_strict(taste_of),
        )
    )
    share = (lines["product_taste"] == lines["member_taste"]).mean()
    assert share == pytest.approx(tastes["realized"]["taste_share"], abs=1e-6)
    assert lines.height == tastes["realized"]["member_sale_lines"]
    assert 0.4 < share < 0.6  # planted: half of the lines
    # without tastes, a member's lines would land in their taste about as often as anyone's
    by_taste = lines.group_by("product_taste").len().with_columns(p=pl.col("len") / lines.height)
    assert share > 5 * by_taste["p"].max()
    counts = pl.Series(list(taste_of.values())).value_counts()
    assert dict(counts.iter_rows()) == tastes["members_per_taste"]


def test_launches_arrive_with_the_update_and_sell_only_to_their_fans_after_launch(world) -> None:
    out, truth = world
    launches = truth["products"]["launches"]
    assert len(launches) == 4
    first = set(read(out, "products/products.csv")["sku"])
    update = read(out, truth["products"]["update_file"])
    lines = sale_lines(out, truth)
    taste_of = {m: (t["category"], t["brand"]) for m, t in truth["tastes"]["member_taste"].items()}
    start = dt.date.fromisoformat(truth["generator"]["start"])
    for launch in launches:
        assert launch["sku"] not in first and launch["sku"] in set(update["sku"])
        assert launch["launch_date"] > truth["products"]["update_effective"]
        assert dt.date.fromisoformat(launch["launch_date"]) > start
        sold = lines.filter(pl.col("sku") == launch["sku"])
        assert sold.height == launch["sale_lines"] > 10
        assert sold["day"].min() >= launch["launch_date"]
        buyers = set(sold["member_id"])
        assert None not in buyers  # only members (with the matching taste) buy them
        assert {taste_of[m] for m in buyers} == {(launch["category"], launch["brand"])}
    announced = set(truth["products"]["announced_not_sold"])
    assert announced <= set(update["sku"]) and not announced & set(lines["sku"])


def test_tastes_are_deterministic_per_seed(tmp_path: Path) -> None:
    a = generate_world(tmp_path / "a", scale="small", days=20, members=50, seed=3)
    b = generate_world(tmp_path / "b", scale="small", days=20, members=50, seed=3)
    c = generate_world(tmp_path / "c", scale="small", days=20, members=50, seed=4)
    assert a["tastes"] == b["tastes"] and a["products"] == b["products"]
    assert a["tastes"]["member_taste"] != c["tastes"]["member_taste"]
