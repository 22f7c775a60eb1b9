"""LightGBM as one global model across all series, direct and horizon-safe.

Why this shape:

* Global: one model learns the weekday shape and the holiday/promotion lifts from every store at
  once, which matters when each store has only a handful of event days. Each series' values are
  divided by its own mean level (open days of the training history), so a big and a small store
  share one target scale; the series id is a categorical feature for what stays different.
* Direct, horizon-safe: every lag and rolling statistic of a row dated t is computed from values
  at least H steps before t (H = the horizon): the value S = m * ceil(H / m) steps back (same
  weekday), one season before that, and the mean and spread of the `window` values ending H
  steps back. So the same features exist, from observed data, for every step 1..H of a
  forecast: no recursion, no forecast fed back as an input. Short steps lose a little recency;
  the model stays honest and fits once.
* Closures are known in advance: their rows are left out of training and of the lags (a closed
  day's zero is not demand), and they forecast 0 (`base.finish`).
* Intervals are split-conformal: a copy of the model is fitted without the last H steps, its
  errors on them (scaled by each series' MASE scale) give the 80 % and 95 % half-widths, and the
  model used for the forecast is then refitted on everything. When the history is too short to
  hold out H steps, in-sample errors are used instead (narrower; `calibration` says which).
* One thread by default: OpenMP threads spin-wait, and on a busy shared 2-core machine a
  200-row fit took 10.6 s on all cores against 0.3 s on one; `threads` raises it where cores
  are free.
* Calendar features follow the frequency (weekday for daily data; day of year, week or month
  only once a year of history shows what they mean).
"""

from __future__ import annotations

import math
from typing import Self

import lightgbm as lgb
import numpy as np
import polars as pl

from footfall_platform.forecast.base import (
    conformal_quantile,
    finish,
    series_scale,
    symmetric_bounds,
)
from footfall_platform.forecast.clean import without_outliers
from footfall_platform.forecast.frame import YEAR, Panel, check_horizon, future_frame, shift

WINDOW = {"D": 28, "W": 8, "M": 6}  # values in the rolling statistics
MIN_CALIBRATION_ROWS = 20
PARAMS = {
    "objective": "regression",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 5,
    "min_data_per_group": 5,
    "cat_smooth": 1.0,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "deterministic": True,
    "force_col_wise": True,
}


class LightGBMGlobal:
    name = "lightgbm"

    def __init__(self, horizon: int, *, rounds: int = 300, seed: int = 0, threads: int = 1):
        self.horizon = check_horizon(horizon)
        self.rounds = rounds
        self.threads = threads
        self.params = {**PARAMS, "seed": seed}
        self.history: Panel | None = None
        self.calibration = ""

    # -- features ---------------------------------------------------------------------------

    def _features(self, rows: pl.DataFrame, history: Panel, levels: pl.DataFrame) -> pl.DataFrame:
        """Calendar, regressor, series and horizon-safe lag features of history + future rows."""
        m, h, freq = history.season, self.horizon, history.freq
        back = m * math.ceil(h / m)
        span = history.frame.group_by("series_id").len()["len"].max()
        closed = pl.col(history.closure) >= 0.5 if history.closure else pl.lit(False)
        v = (pl.when(closed).then(None).otherwise(pl.col("y")) / pl.col("_level")).alias("v")
        out = (
            rows.join(levels, on="series_id", how="inner").sort("series_id", "date").with_columns(v)
        )
        lagged = pl.col("v").shift(h)
        exprs = [
            pl.col("v").shift(back).over("series_id").alias("lag_season"),
            pl.col("v").shift(back + m).over("series_id").alias("lag_season_2"),
            lagged.rolling_mean(WINDOW[freq], min_samples=1).over("series_id").alias("roll_mean"),
            lagged.rolling_std(WINDOW[freq], min_samples=2).over("series_id").alias("roll_std"),
            pl.col("series_id").replace_strict(self._codes, default=-1).alias("series"),
        ]  # fmt: skip
        if freq == "D":
            exprs.append(pl.col("date").dt.weekday().alias("weekday"))
        if span >= YEAR[freq]:
            exprs += {
                "D": [pl.col("date").dt.ordinal_day().alias("day_of_year"),
                      pl.col("date").dt.month().alias("month")],
                "W": [pl.col("date").dt.week().alias("week")],
                "M": [pl.col("date").dt.month().alias("month")],
            }[freq]  # fmt: skip
        return out.with_columns(exprs)

    def _columns(self, frame: pl.DataFrame, history: Panel) -> list[str]:
        fixed = ["lag_season", "lag_season_2", "roll_mean", "roll_std", "series"]
        calendar = [c for c in ("weekday", "day_of_year", "month", "week") if c in frame.columns]
        flags = [r for r in history.regressors if r != history.closure]
        return fixed + calendar + flags

    def _train(self, history: Panel) -> tuple[lgb.Booster, pl.DataFrame]:
        levels = (
            history.training_rows()
            .group_by("series_id")
            .agg(pl.col("y").abs().mean().alias("_level"))
            .filter(pl.col("_level") > 0)
        )
        if levels.is_empty():
            raise ValueError("LightGBM needs a series with a non-zero value")
        frame = self._features(history.frame, history, levels)
        train = frame.filter(pl.col("v").is_not_null())
        columns = self._columns(frame, history)
        categorical = [c for c in ("series", "weekday") if c in columns]
        data = lgb.Dataset(
            train.select(columns).to_numpy().astype(np.float64),
            label=train["v"].to_numpy(),
            feature_name=columns,
            categorical_feature=categorical,
            free_raw_data=True,
        )
        params = {**self.params, "num_threads": self.threads}
        booster = lgb.train(params, data, num_boost_round=self.rounds)
        return booster, levels

    def _predict_rows(
        self, booster: lgb.Booster, levels: pl.DataFrame, history: Panel, rows: pl.DataFrame
    ) -> pl.DataFrame:
        """yhat for `rows` (history and/or future dates); features come from `history`'s y."""
        combined = pl.concat(
            [history.frame, rows.join(history.frame.select("series_id", "date"),
                                      on=["series_id", "date"], how="anti")],
            how="diagonal_relaxed",
        )  # fmt: skip
        frame = self._features(combined, history, levels)
        wanted = frame.join(rows.select("series_id", "date"), on=["series_id", "date"])
        columns = self._columns(frame, history)
        raw = booster.predict(wanted.select(columns).to_numpy().astype(np.float64))
        return wanted.select("series_id", "date", "y").with_columns(
            (pl.Series(raw) * wanted["_level"]).alias("yhat")
        )

    # -- the interface ----------------------------------------------------------------------

    def fit(self, history: Panel) -> Self:
        history = without_outliers(history)
        self.history = history
        self._codes = {sid: i for i, sid in enumerate(history.series)}
        self.booster, self.levels = self._train(history)
        self.widths = self._calibrate(history)
        return self

    def _calibrate(self, history: Panel) -> pl.DataFrame:
        """Conformal half-widths per series (quantile of scaled errors x the series' scale)."""
        cut = history.frame.select(shift(pl.col("date").max(), -self.horizon, history.freq)).item()
        early = history.until(cut)
        held = history.frame.filter(pl.col("date") > cut)
        if history.closure:
            held = held.filter(pl.col(history.closure) < 0.5)
        held = held.filter(pl.col("y").is_not_null())
        enough = early.training_rows().height >= MIN_CALIBRATION_ROWS * 2 and held.height >= (
            MIN_CALIBRATION_ROWS
        )
        if enough:
            booster, levels = self._train(early)
            errors = self._predict_rows(booster, levels, early, held)
            self.calibration = f"split conformal on the last {self.horizon} steps"
        else:
            rows = history.training_rows()
            errors = self._predict_rows(self.booster, self.levels, history, rows)
            self.calibration = "in-sample residuals (history too short to hold out a horizon)"
        scales = series_scale(history)
        scored = errors.join(scales, on="series_id").with_columns(
            ((pl.col("y") - pl.col("yhat")).abs() / pl.col("scale")).alias("score")
        )
        q80 = conformal_quantile(scored["score"].to_numpy(), 0.80)
        q95 = conformal_quantile(scored["score"].to_numpy(), 0.95)
        return scales.select(
            "series_id",
            (pl.col("scale") * q80).alias("w80"),
            (pl.col("scale") * q95).alias("w95"),
        )

    def predict(self, horizon: int, known: pl.DataFrame | None = None) -> pl.DataFrame:
        if self.history is None:
            raise RuntimeError("fit the model before predicting")
        if check_horizon(horizon) > self.horizon:
            raise ValueError(
                f"this model was fitted for {self.horizon} steps; refit it for {horizon}"
            )
        history = self.history
        future = future_frame(history, horizon, known)
        pred = self._predict_rows(self.booster, self.levels, history, future)
        out = future.join(pred.select("series_id", "date", "yhat"), on=["series_id", "date"])
        out = out.join(self.widths, on="series_id", how="left").with_columns(
            symmetric_bounds(pl.col("yhat"), pl.col("w80"), pl.col("w95"))
        )
        return finish(out, history)
