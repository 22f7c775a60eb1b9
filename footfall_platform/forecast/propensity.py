"""Purchase propensity: each member's probability of buying in the next 30 days.

Why this shape:

* Features are computed as of a cutoff date from the receipts before it (recency, frequency in
  several windows, basket size, stores, weekend share, gaps between visits) plus what the
  member record says (tenure, age, gender). `marts.dim_customer` describes members as of the
  last date, which would leak the future into every earlier cutoff, so only its static columns
  are used; the behaviour comes from `marts.fct_baskets` (receipt_id, store_id, local_date,
  member_key, skus).
* Label: at least one sale receipt in the `window` days after the cutoff.
* Validated on a later period: the model is trained on cutoffs whose label windows end before
  the validation cutoff (last date - window), then scored on that cutoff's members; AUC, log
  loss, Brier score and calibration by decile come from that untouched period. The model that
  scores the members is then refitted on every cutoff up to the validation one and applied as of
  the last date (its label window is the next `window` days, still unknown).
* Several weekly cutoffs are stacked for training, so a small chain still gives the trees
  enough rows; a member appears once per cutoff.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

WINDOW_DAYS = 30
TRAIN_CUTOFFS = 4  # weekly cutoffs stacked for training
MIN_HISTORY_DAYS = 14  # behaviour before the first cutoff
FEATURES = (
    "recency_days", "receipts", "receipts_7d", "receipts_30d", "receipts_90d", "mean_items",
    "stores", "weekend_share", "days_since_first", "mean_gap_days", "tenure_days", "age",
    "gender", "registered",
)  # fmt: skip
GENDER_CODES = {"F": 0, "M": 1, "X": 2, "U": 3}
PARAMS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 10,
    "feature_fraction": 0.9,
    "lambda_l2": 1.0,
    "verbose": -1,
    "deterministic": True,
    "force_col_wise": True,
    "num_threads": 1,  # small data: OpenMP spin-waiting costs more than it saves
}
ROUNDS = 200


class PropensityInputError(ValueError):
    """The inputs cannot train or validate a propensity model; the message says why."""


@dataclass(frozen=True)
class PropensityResult:
    scores: pl.DataFrame  # member_key, probability, decile (1 = most likely), as_of_date
    evaluation: pl.DataFrame  # segment, metric, value (segment 'all' or 'decile_<n>')
    validation_cutoff: dt.date
    train_cutoffs: tuple[dt.date, ...]
    importance: dict[str, float]


def member_features(
    baskets: pl.DataFrame, customers: pl.DataFrame, cutoff: dt.date
) -> pl.DataFrame:
    """One row per member known at `cutoff` (joined by then, or bought by then)."""
    past = baskets.filter(pl.col("local_date") <= cutoff)
    days_before = (pl.lit(cutoff) - pl.col("local_date")).dt.total_days()
    behaviour = (
        past.sort("local_date")
        .group_by("member_key")
        .agg(
            days_before.min().alias("recency_days"),
            pl.len().alias("receipts"),
            (days_before < 7).sum().alias("receipts_7d"),
            (days_before < 30).sum().alias("receipts_30d"),
            (days_before < 90).sum().alias("receipts_90d"),
            pl.col("skus").list.len().mean().alias("mean_items"),
            pl.col("store_id").n_unique().alias("stores"),
            (pl.col("local_date").dt.weekday() >= 6).mean().alias("weekend_share"),
            days_before.max().alias("days_since_first"),
            pl.col("local_date").unique().sort().diff().dt.total_days().mean()
            .alias("mean_gap_days"),
        )
    )  # fmt: skip
    static = customers.select(
        "member_key",
        pl.col("joined_on"),
        (pl.lit(cutoff).dt.year() - pl.col("birth_year")).alias("age"),
        pl.col("gender").replace_strict(GENDER_CODES, default=3).alias("gender"),
        pl.col("joined_on").is_not_null().cast(pl.Int8).alias("registered"),
    )
    known = static.join(behaviour, on="member_key", how="full", coalesce=True).filter(
        (pl.col("joined_on") <= cutoff) | pl.col("receipts").is_not_null()
    )
    return known.with_columns(
        pl.col("receipts", "receipts_7d", "receipts_30d", "receipts_90d", "stores").fill_null(0),
        pl.when(pl.col("joined_on") <= cutoff)
        .then((pl.lit(cutoff) - pl.col("joined_on")).dt.total_days())
        .alias("tenure_days"),
        pl.col("registered").fill_null(0),
        pl.col("gender").fill_null(GENDER_CODES["U"]),
    ).select("member_key", *FEATURES)


def labels(baskets: pl.DataFrame, cutoff: dt.date, window: int) -> pl.DataFrame:
    """member_key, bought: a receipt in (cutoff, cutoff + window]."""
    end = cutoff + dt.timedelta(days=window)
    buyers = (
        baskets.filter((pl.col("local_date") > cutoff) & (pl.col("local_date") <= end))
        .select("member_key")
        .unique()
    )
    return buyers.with_columns(pl.lit(1).alias("bought"))


def _dataset(
    baskets: pl.DataFrame, customers: pl.DataFrame, cutoffs: list[dt.date], window: int
) -> pl.DataFrame:
    parts = []
    for cutoff in cutoffs:
        rows = member_features(baskets, customers, cutoff).join(
            labels(baskets, cutoff, window), on="member_key", how="left"
        )
        parts.append(
            rows.with_columns(pl.col("bought").fill_null(0), pl.lit(cutoff).alias("cutoff"))
        )
    return pl.concat(parts)


def _matrix(rows: pl.DataFrame) -> np.ndarray:
    return rows.select(FEATURES).cast(pl.Float64).to_numpy()


def _train(rows: pl.DataFrame, seed: int) -> lgb.Booster:
    y = rows["bought"].to_numpy()
    if y.min() == y.max():
        raise PropensityInputError(
            "every training member " + ("bought" if y.max() else "did not buy")
            + " in the following window: nothing to tell apart"
        )  # fmt: skip
    data = lgb.Dataset(_matrix(rows), label=y, feature_name=list(FEATURES),
                       categorical_feature=["gender"])  # fmt: skip
    return lgb.train({**PARAMS, "seed": seed}, data, num_boost_round=ROUNDS)


def decile(p: pl.Expr) -> pl.Expr:
    """1 for the tenth with the highest values, ..., 10 for the lowest (ties by position)."""
    return (10 - (p.rank("ordinal") - 1) * 10 // pl.len()).cast(pl.Int32)


def calibration_by_decile(y: np.ndarray, p: np.ndarray) -> pl.DataFrame:
    """segment decile_<n> (1 = highest predicted), members, mean_predicted, observed_rate."""
    frame = pl.DataFrame({"y": y, "p": p}).with_columns(decile(pl.col("p")).alias("d"))
    per = frame.group_by("d").agg(
        pl.len().cast(pl.Float64).alias("members"),
        pl.col("p").mean().alias("mean_predicted"),
        pl.col("y").cast(pl.Float64).mean().alias("observed_rate"),
    )
    return per.sort("d").select(
        pl.format("decile_{}", pl.col("d")).alias("segment"),
        "members",
        "mean_predicted",
        "observed_rate",
    )


def purchase_propensity(
    baskets: pl.DataFrame,
    customers: pl.DataFrame,
    *,
    window: int = WINDOW_DAYS,
    train_cutoffs: int = TRAIN_CUTOFFS,
    seed: int = 0,
) -> PropensityResult:
    """Validate on the last complete window, then score every member as of the last date.

    `baskets`: member_key, local_date, store_id, skus (anonymous receipts are dropped);
    `customers`: member_key, birth_year, gender, joined_on.
    """
    if window < 1:
        raise PropensityInputError(f"the window must be at least 1 day, got {window}")
    baskets = baskets.filter(pl.col("member_key").is_not_null())
    if baskets.is_empty():
        raise PropensityInputError("no member receipts: nothing to learn purchase habits from")
    first, last = baskets["local_date"].min(), baskets["local_date"].max()
    validation = last - dt.timedelta(days=window)
    latest_train = validation - dt.timedelta(days=window)
    train = [latest_train - dt.timedelta(days=7 * k) for k in range(train_cutoffs)]
    train = sorted(c for c in train if c >= first + dt.timedelta(days=MIN_HISTORY_DAYS))
    if not train:
        need = 2 * window + MIN_HISTORY_DAYS
        raise PropensityInputError(
            f"{(last - first).days + 1} days of receipts: at least {need} are needed "
            f"({MIN_HISTORY_DAYS} of history, a {window}-day training window and a "
            f"{window}-day validation window)"
        )

    fit_rows = _dataset(baskets, customers, train, window)
    held = _dataset(baskets, customers, [validation], window)
    model = _train(fit_rows, seed)
    p = model.predict(_matrix(held))
    y = held["bought"].to_numpy()
    if y.min() == y.max():
        raise PropensityInputError("every validation member had the same outcome: AUC is undefined")
    overall = {
        "auc": float(roc_auc_score(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "base_rate": float(y.mean()),
        "members": float(y.size),
        "training_rows": float(fit_rows.height),
    }
    deciles = calibration_by_decile(y, p).unpivot(index="segment", variable_name="metric")
    evaluation = pl.concat(
        [
            pl.DataFrame(
                {"segment": "all", "metric": list(overall), "value": list(overall.values())}
            ),
            deciles,
        ]
    )

    final = _train(_dataset(baskets, customers, [*train, validation], window), seed)
    current = member_features(baskets, customers, last).sort("member_key")
    probability = final.predict(_matrix(current))
    scores = (
        current.select("member_key")
        .with_columns(
            pl.Series("probability", probability),
            pl.lit(last).alias("as_of_date"),
        )
        .with_columns(decile(pl.col("probability")).alias("decile"))
    )
    gain = final.feature_importance("gain")
    importance = {f: float(g) for f, g in zip(FEATURES, gain / max(gain.sum(), 1e-12), strict=True)}
    return PropensityResult(
        scores.select("member_key", "probability", "decile", "as_of_date"),
        evaluation,
        validation,
        tuple(train),
        importance,
    )
