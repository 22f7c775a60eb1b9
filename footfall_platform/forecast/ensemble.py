"""The ensemble: the plain mean of Prophet and LightGBM, point and bounds alike.

Two models that err differently (a smooth curve per series, trees across series) average to
smaller errors than either, and an equal-weight mean has nothing to overfit. The bounds are the
mean of the members' bounds (quantile averaging), which keeps them nested.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import polars as pl

from footfall_platform.forecast.base import BOUNDS, PREDICTION_COLUMNS, Forecaster
from footfall_platform.forecast.frame import Panel

NAME = "ensemble"


def combine(predictions: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Mean of several models' predictions over the (series, date) rows they all have."""
    if not predictions:
        raise ValueError("the ensemble needs at least one member's predictions")
    keys = ["series_id", "date", "step"]
    values = ["yhat", *BOUNDS]
    stacked = pl.concat([p.select(PREDICTION_COLUMNS) for p in predictions])
    members = len(predictions)
    return (
        stacked.group_by(keys, maintain_order=True)
        .agg(*[pl.col(c).mean() for c in values], pl.len().alias("_n"))
        .filter(pl.col("_n") == members)
        .select(PREDICTION_COLUMNS)
    )


class Ensemble:
    name = NAME

    def __init__(self, members: Sequence[Forecaster]):
        self.members = list(members)

    def fit(self, history: Panel) -> Self:
        for member in self.members:
            member.fit(history)
        return self

    def predict(self, horizon: int, known: pl.DataFrame | None = None) -> pl.DataFrame:
        return combine([m.predict(horizon, known) for m in self.members])
