"""Prophet, one model per series, fitted in parallel across series on all cores.

Why this shape:

* Seasonality is multiplicative (a busy Saturday is a share more, not a fixed count more, and a
  bigger store has bigger swings); weekly seasonality for daily data with two weeks of history,
  yearly only with two years of it (with less, Prophet's yearly curve is guesswork).
* Holidays and promotions enter as multiplicative extra regressors taken from the calendar
  flags, one effect per kind of day (a holidays frame with a window of 0 and one shared name
  would be the same model); a flag that never occurs in the history is left out, since nothing
  could be learned about it.
* Closures are left out of the fit (their zero is not demand, and a zero would drag the trend
  and the weekly shape down) and forecast 0 (`base.finish`). Gaps are simply absent rows.
* Intervals are Prophet's own: posterior predictive samples (trend changes + noise), from which
  both the 80 % and the 95 % bounds are read; the point forecast is Prophet's yhat.
* Fitting happens in `predict` (Prophet needs the future regressors in the same call anyway),
  one task per series in a process pool: Stan is single-threaded, so processes are how a fit of
  many series uses every core. Workers are started with "spawn" (safe inside Dagster's threads)
  and silence cmdstanpy, whose INFO lines would otherwise flood every log.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Self

import numpy as np
import pandas as pd
import polars as pl

from footfall_platform.forecast.base import finish
from footfall_platform.forecast.clean import without_outliers
from footfall_platform.forecast.frame import YEAR, Panel, check_horizon, future_frame

UNCERTAINTY_SAMPLES = 400
# At most one potential trend change per this many observations (Prophet's 25 on 48 days
# chases noise: the trend bends, forecasts drift and in-sample noise looks smaller than it is).
CHANGEPOINT_SPACING = 14
QUANTILES = {"lo95": 2.5, "lo80": 10.0, "hi80": 90.0, "hi95": 97.5}


def quiet_stan() -> None:
    """Silence cmdstanpy and Prophet's INFO chatter (and plotly's import warning).

    cmdstanpy installs its own INFO handler the first time it logs unless the logger already
    has one, so a NullHandler is put there first and the level raised.
    """
    for name, level in (("cmdstanpy", logging.WARNING), ("prophet", logging.WARNING),
                        ("prophet.plot", logging.CRITICAL)):  # fmt: skip
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())
        logger.setLevel(level)
        logger.propagate = name != "cmdstanpy"


def workers(n_jobs: int) -> int:
    return max(1, os.cpu_count() or 1) if n_jobs <= 0 else n_jobs


@contextmanager
def prophet_pool(n_jobs: int = 0) -> Iterator[Executor | None]:
    """A process pool for Prophet fits (None when one worker is all there is)."""
    n = workers(n_jobs)
    if n == 1:
        yield None
        return
    with ProcessPoolExecutor(max_workers=n, mp_context=get_context("spawn")) as pool:
        yield pool


@dataclass(frozen=True)
class _Task:
    series_id: str
    train: pd.DataFrame  # ds, y, regressors
    future: pd.DataFrame  # ds, regressors
    regressors: tuple[str, ...]
    weekly: bool
    yearly: bool
    seed: int


def _fit_predict_one(task: _Task) -> tuple[str, dict[str, np.ndarray]]:
    """Fit one series and return its point forecast and interval bounds (runs in a worker)."""
    quiet_stan()
    from prophet import Prophet

    np.random.seed(task.seed)
    model = Prophet(
        n_changepoints=min(25, len(task.train) // CHANGEPOINT_SPACING),
        growth="linear",
        weekly_seasonality=task.weekly,
        yearly_seasonality=task.yearly,
        daily_seasonality=False,
        seasonality_mode="multiplicative",
        uncertainty_samples=UNCERTAINTY_SAMPLES,
    )
    for name in task.regressors:
        model.add_regressor(name, mode="multiplicative", standardize=False)
    model.fit(task.train)
    samples = model.predictive_samples(task.future)["yhat"]
    model.uncertainty_samples = 0  # the point forecast alone, without sampling again
    out = {"yhat": model.predict(task.future)["yhat"].to_numpy()}
    for column, q in QUANTILES.items():
        out[column] = np.percentile(samples, q, axis=1)
    return task.series_id, out


class ProphetModel:
    name = "prophet"

    def __init__(self, *, n_jobs: int = 0, pool: Executor | None = None, seed: int = 0):
        self.n_jobs = n_jobs
        self.pool = pool
        self.seed = seed
        self.history: Panel | None = None

    def fit(self, history: Panel) -> Self:
        self.history = without_outliers(history)
        return self

    def _tasks(self, future: pl.DataFrame) -> list[_Task]:
        history = self.history
        assert history is not None
        flags = [r for r in history.regressors if r != history.closure]
        train_all = history.training_rows()
        tasks = []
        for i, sid in enumerate(history.series):
            train = train_all.filter(pl.col("series_id") == sid)
            used = tuple(r for r in flags if train[r].n_unique() > 1)
            span = history.frame.filter(pl.col("series_id") == sid).height
            ahead = future.filter(pl.col("series_id") == sid)
            tasks.append(
                _Task(
                    series_id=sid,
                    train=_pandas(train, used, with_y=True),
                    future=_pandas(ahead, used, with_y=False),
                    regressors=used,
                    weekly=history.freq == "D" and span >= 14,
                    yearly=span >= 2 * YEAR[history.freq],
                    seed=self.seed + i,
                )
            )
        return tasks

    def predict(self, horizon: int, known: pl.DataFrame | None = None) -> pl.DataFrame:
        if self.history is None:
            raise RuntimeError("fit the model before predicting")
        check_horizon(horizon)
        future = future_frame(self.history, horizon, known)
        tasks = self._tasks(future)
        results = dict(self._run(tasks))
        parts = [
            future.filter(pl.col("series_id") == sid).with_columns(
                [pl.Series(k, v) for k, v in results[sid].items()]
            )
            for sid in self.history.series
        ]
        return finish(pl.concat(parts), self.history)

    def _run(self, tasks: list[_Task]) -> list[tuple[str, dict[str, np.ndarray]]]:
        if self.pool is not None and len(tasks) > 1:
            return list(self.pool.map(_fit_predict_one, tasks))
        if workers(self.n_jobs) > 1 and len(tasks) > 1:
            with prophet_pool(self.n_jobs) as pool:
                assert pool is not None
                return list(pool.map(_fit_predict_one, tasks))
        return [_fit_predict_one(t) for t in tasks]


def _pandas(rows: pl.DataFrame, regressors: tuple[str, ...], *, with_y: bool) -> pd.DataFrame:
    columns = {"ds": pd.to_datetime(rows["date"].to_numpy())}
    if with_y:
        columns["y"] = rows["y"].to_numpy()
    for r in regressors:
        columns[r] = rows[r].to_numpy()
    return pd.DataFrame(columns)
