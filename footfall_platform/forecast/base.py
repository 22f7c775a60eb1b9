"""What every model promises: `fit(history)`, then `predict(horizon)` in one frame layout.

The finishing touches every model needs are applied here, once: a known closure forecasts 0
with a zero-width interval; a series that never went below zero is never forecast below zero;
and the bounds are nested (lo95 <= lo80 <= yhat <= hi80 <= hi95), so a reader can rely on it.
"""

from __future__ import annotations

import math
from typing import Protocol, Self

import numpy as np
import polars as pl

from footfall_platform.forecast.frame import Panel

BOUNDS = ("lo95", "lo80", "hi80", "hi95")
PREDICTION_COLUMNS = ("series_id", "date", "step", "yhat", *BOUNDS)
LEVELS = {"80": 0.80, "95": 0.95}


class Forecaster(Protocol):
    """A model behind the common interface (see the module docstring)."""

    name: str

    def fit(self, history: Panel) -> Self: ...

    def predict(self, horizon: int, known: pl.DataFrame | None = None) -> pl.DataFrame:
        """series_id, date, step, yhat, lo95, lo80, hi80, hi95 for `horizon` steps per series;
        `known` gives the regressors (holidays, promotions, closures) of the future dates."""
        ...


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The split-conformal quantile of absolute scores: ceil((n + 1) * level) / n."""
    scores = np.sort(np.asarray(scores, dtype=float)[np.isfinite(scores)])
    if scores.size == 0:
        return float("nan")
    rank = min(math.ceil((scores.size + 1) * level), scores.size)
    return float(scores[rank - 1])


def series_scale(panel: Panel) -> pl.DataFrame:
    """Per series: the mean absolute seasonal difference over open days (MASE's denominator).

    It scales residuals so that series of different sizes share one interval quantile; a
    series too short for a seasonal difference falls back to the mean absolute first
    difference, then to its mean absolute value, then to 1.
    """
    rows = panel.frame.select(
        "series_id",
        "y",
        _open(panel).alias("open"),
    ).with_columns(
        pl.when(pl.col("open")).then(pl.col("y")).alias("v"),
    )
    m = panel.season
    scales = rows.group_by("series_id", maintain_order=True).agg(
        (pl.col("v") - pl.col("v").shift(m)).abs().mean().alias("seasonal"),
        (pl.col("v") - pl.col("v").shift(1)).abs().mean().alias("first"),
        pl.col("v").abs().mean().alias("level"),
    )
    scale = pl.coalesce(
        *[pl.when(pl.col(c) > 0).then(pl.col(c)) for c in ("seasonal", "first", "level")],
        pl.lit(1.0),
    )
    return scales.select("series_id", scale.alias("scale"))


def _open(panel: Panel) -> pl.Expr:
    return pl.col(panel.closure) < 0.5 if panel.closure else pl.lit(True)


def finish(pred: pl.DataFrame, history: Panel) -> pl.DataFrame:
    """Closures to 0, non-negative series clipped at 0, bounds nested; the common layout."""
    floors = history.observed().group_by("series_id").agg((pl.col("y").min() >= 0).alias("_nonneg"))
    out = pred.join(floors, on="series_id", how="left")
    cols = ["yhat", *BOUNDS]
    if history.closure and history.closure in out.columns:
        closed = pl.col(history.closure) >= 0.5
        out = out.with_columns([pl.when(closed).then(0.0).otherwise(pl.col(c)).alias(c)
                                for c in cols])  # fmt: skip
    out = out.with_columns(
        [
            pl.when(pl.col("_nonneg").fill_null(False))
            .then(pl.col(c).clip(lower_bound=0.0))
            .otherwise(pl.col(c))
            .alias(c)
            for c in cols
        ]
    )
    return out.with_columns(
        pl.min_horizontal("lo95", "lo80", "yhat").alias("lo95"),
        pl.min_horizontal("lo80", "yhat").alias("lo80"),
        pl.max_horizontal("hi80", "yhat").alias("hi80"),
        pl.max_horizontal("hi95", "hi80", "yhat").alias("hi95"),
    ).select(PREDICTION_COLUMNS)


def symmetric_bounds(yhat: pl.Expr, width80: pl.Expr, width95: pl.Expr) -> list[pl.Expr]:
    """lo/hi columns from half-widths (conformal and baseline intervals are symmetric)."""
    return [
        (yhat - width95).alias("lo95"),
        (yhat - width80).alias("lo80"),
        (yhat + width80).alias("hi80"),
        (yhat + width95).alias("hi95"),
    ]
