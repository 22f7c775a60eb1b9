"""Purchase propensity on synthetic members whose habits are planted: active members keep
buying, churners stop on a known day. The model must tell them apart on a later period, never
look past its cutoff, and refuse inputs it cannot learn or validate from with a clear error.
The demo-world figure (AUC >= 0.75, planted segments) is in test_forecast_platform.py.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from footfall_platform.forecast.propensity import (
    FEATURES,
    PropensityInputError,
    labels,
    member_features,
    purchase_propensity,
)

START = dt.date(2025, 1, 1)
DAYS = 120


def members(n: int = 300, seed: int = 1) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
    """Baskets and customers: a third churn between day 20 and 80, the rest buy all along."""
    rng = np.random.default_rng(seed)
    rows, customers, kind = [], [], {}
    for i in range(n):
        key = f"{i:064x}"
        churner = i % 3 == 0
        stop = int(rng.integers(20, 80)) if churner else DAYS
        rate = rng.uniform(0.05, 0.3)
        kind[key] = "churner" if churner else "active"
        for d in np.flatnonzero(rng.random(DAYS) < rate):
            if d < stop:
                rows.append((f"R{i}-{d}", "S1", START + dt.timedelta(days=int(d)), key, ["a"]))
        customers.append((key, int(rng.integers(1950, 2005)), "F" if i % 2 else "M",
                          START - dt.timedelta(days=int(rng.integers(10, 900)))))  # fmt: skip
    baskets = pl.DataFrame(
        rows, schema=["receipt_id", "store_id", "local_date", "member_key", "skus"], orient="row"
    )
    people = pl.DataFrame(
        customers, schema=["member_key", "birth_year", "gender", "joined_on"], orient="row"
    )
    return baskets, people, kind


@pytest.fixture(scope="module")
def world() -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
    return members()


def test_planted_churners_are_told_apart_on_a_later_period(world) -> None:
    baskets, people, kind = world
    result = purchase_propensity(baskets, people)
    figures = dict(result.evaluation.filter(pl.col("segment") == "all").select(
        "metric", "value").iter_rows())  # fmt: skip
    assert figures["auc"] >= 0.75
    assert result.validation_cutoff == baskets["local_date"].max() - dt.timedelta(days=30)
    assert max(result.train_cutoffs) <= result.validation_cutoff - dt.timedelta(days=30)
    scores = result.scores
    assert scores["member_key"].n_unique() == scores.height == len(kind)
    assert scores["probability"].is_between(0, 1).all()
    assert sorted(scores["decile"].unique()) == list(range(1, 11))
    top = scores.filter(pl.col("decile") == 1)["probability"].min()
    assert top >= scores.filter(pl.col("decile") == 10)["probability"].max()
    churned = [k for k, v in kind.items() if v == "churner"]
    by_kind = scores.with_columns(pl.col("member_key").is_in(churned).alias("churned"))
    means = dict(by_kind.group_by("churned").agg(pl.col("probability").mean()).iter_rows())
    assert means[True] < 0.5 < means[False]


def test_calibration_by_decile_accounts_for_every_validation_member(world) -> None:
    baskets, people, _ = world
    evaluation = purchase_propensity(baskets, people).evaluation
    deciles = evaluation.filter(pl.col("segment").str.starts_with("decile_"))
    members_total = deciles.filter(pl.col("metric") == "members")["value"].sum()
    validated = evaluation.filter(pl.col("segment") == "all", pl.col("metric") == "members")
    assert members_total == validated["value"][0]
    predicted = deciles.filter(pl.col("metric") == "mean_predicted").sort(
        pl.col("segment").str.split("_").list.last().cast(pl.Int32)
    )["value"]
    assert predicted.is_sorted(descending=True)


def test_features_never_look_past_the_cutoff(world) -> None:
    baskets, people, _ = world
    cutoff = START + dt.timedelta(days=50)
    before = member_features(baskets, people, cutoff)
    later = baskets.filter(pl.col("local_date") > cutoff).with_columns(
        pl.col("local_date") - dt.timedelta(days=1)  # move every later receipt
    )
    shifted = pl.concat([baskets.filter(pl.col("local_date") <= cutoff), later.filter(
        pl.col("local_date") > cutoff)])  # fmt: skip
    assert (
        member_features(shifted, people, cutoff)
        .sort("member_key")
        .equals(before.sort("member_key"))
    )
    assert before.columns == ["member_key", *FEATURES]
    bought = labels(baskets, cutoff, 30)
    assert bought["bought"].sum() == bought.height > 0


def test_no_member_receipts_is_a_clear_error(world) -> None:
    baskets, people, _ = world
    with pytest.raises(PropensityInputError, match="no member receipts"):
        purchase_propensity(baskets.head(0), people)
    anonymous = baskets.with_columns(pl.lit(None, dtype=pl.Utf8).alias("member_key"))
    with pytest.raises(PropensityInputError, match="no member receipts"):
        purchase_propensity(anonymous, people)


def test_a_history_too_short_for_two_windows_is_a_clear_error(world) -> None:
    baskets, people, _ = world
    short = baskets.filter(pl.col("local_date") < START + dt.timedelta(days=60))
    with pytest.raises(PropensityInputError, match="60 days of receipts: at least 74 are needed"):
        purchase_propensity(short, people)
    with pytest.raises(PropensityInputError, match="at least 1 day"):
        purchase_propensity(baskets, people, window=0)


def test_members_who_all_behave_alike_cannot_be_told_apart(world) -> None:
    _, people, _ = world
    keys = people["member_key"].to_list()
    everyday = pl.DataFrame(
        [(f"R{k}-{d}", "S1", START + dt.timedelta(days=d), k, ["a"])
         for k in keys[:40] for d in range(DAYS)],
        schema=["receipt_id", "store_id", "local_date", "member_key", "skus"], orient="row",
    )  # fmt: skip
    with pytest.raises(PropensityInputError, match="nothing to tell apart"):
        purchase_propensity(everyday, people.head(40))
