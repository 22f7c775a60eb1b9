"""The seasonal-naive baseline every other model has to beat: repeat the last season.

The forecast for a step is the value one season earlier (a week for daily data), going back
whole seasons until it meets an open, observed day: a closure or a gap in the last week does
not become a forecast of zero. Known future closures forecast 0 (`base.finish`), as for every
model. With less than one season of history it repeats the last value (naive).

Intervals come from the series' own one-season-ahead errors (y_t - y_{t-m}): their conformal
quantile, widened by sqrt(k) for a step k seasons ahead, the random-walk rule of thumb.
"""

from __future__ import annotations

import math
from typing import Self

import numpy as np
import polars as pl

from footfall_platform.forecast.base import conformal_quantile, finish, symmetric_bounds
from footfall_platform.forecast.frame import Panel, check_horizon, future_frame


class SeasonalNaive:
    name = "seasonal_naive"

    def __init__(self) -> None:
        self.history: Panel | None = None

    def fit(self, history: Panel) -> Self:
        self.history = history
        return self

    def predict(self, horizon: int, known: pl.DataFrame | None = None) -> pl.DataFrame:
        if self.history is None:
            raise RuntimeError("fit the model before predicting")
        check_horizon(horizon)
        history = self.history
        future = future_frame(history, horizon, known)
        parts = []
        closure = history.closure
        for (series_id,), part in history.frame.group_by("series_id", maintain_order=True):
            y = part["y"].to_numpy().astype(float)
            if closure:
                y = np.where(part[closure].to_numpy() >= 0.5, np.nan, y)
            parts.append(_repeat_last_season(str(series_id), y, history.season, horizon))
        pred = pl.concat(parts).with_columns(
            symmetric_bounds(pl.col("yhat"), pl.col("w80"), pl.col("w95"))
        )
        return finish(future.join(pred, on=["series_id", "step"], how="left"), history)


def _repeat_last_season(series_id: str, y: np.ndarray, m: int, horizon: int) -> pl.DataFrame:
    """step, yhat and the 80/95 half-widths (w80, w95) of one series."""
    seen = np.flatnonzero(~np.isnan(y))
    period = m if y.size >= m else 1  # under one season: the naive last value
    diffs = y[period:] - y[:-period] if y.size > period else np.empty(0)
    q80 = conformal_quantile(np.abs(diffs), 0.80)
    q95 = conformal_quantile(np.abs(diffs), 0.95)
    n = y.size
    out = np.zeros((horizon, 3))
    for h in range(1, horizon + 1):
        k = math.ceil(h / period)
        value = np.nan
        idx = n - 1 + h - k * period
        while idx >= 0:
            if not np.isnan(y[idx]):
                value = y[idx]
                break
            idx -= period
            k += 1
        if np.isnan(value) and seen.size:  # no value at this phase: the last one seen
            value = y[seen[-1]]
        root = math.sqrt(k)
        out[h - 1] = (value, q80 * root, q95 * root)
    return pl.DataFrame(
        {
            "series_id": [series_id] * horizon,
            "step": np.arange(1, horizon + 1, dtype=np.int64),
            "yhat": out[:, 0],
            "w80": out[:, 1],
            "w95": out[:, 2],
        }
    )
