"""Store forecasts for the platform: `features.store_day` in, the `ml` tables' frames out.

Footfall and net sales are forecast per store as two separate panels (one global LightGBM per
target: traffic and takings do not share a shape), sharing one Prophet process pool. The flags
of the future days come from the calendar (`staging.stg_calendar`: event_date, store_id NULL =
every store, event_kind), because `features.store_day` ends with the history. A day the feeds
sent nothing for (footfall or net_sales NULL on an open day) is a gap, not a zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from footfall_platform.forecast.evaluation import evaluation_rows
from footfall_platform.forecast.frame import CLOSURE, Panel, prepare_panel
from footfall_platform.forecast.metrics import POOLED, overall
from footfall_platform.forecast.pipeline import ForecastRun, ForecastSettings, forecast_panel
from footfall_platform.forecast.prophet_model import prophet_pool

TARGETS = ("footfall", "net_sales")
FLAGS = ("is_holiday", "is_promotion")
EVENT_KINDS = {"holiday": "is_holiday", "promotion": "is_promotion", "closure": CLOSURE}


@dataclass(frozen=True)
class StoreForecasts:
    runs: dict[str, ForecastRun]
    history: dict[str, pl.DataFrame]  # per target: series_id, date, y
    forecasts: pl.DataFrame  # ml.forecasts
    backtest: pl.DataFrame  # ml.forecast_backtest
    evaluation: pl.DataFrame  # ml.model_evaluation rows of the forecast family
    fallbacks: pl.DataFrame  # target, series_id, reason, action


def store_panel(store_day: pl.DataFrame, target: str) -> Panel:
    """One target of features.store_day as a panel (gaps where the feed sent nothing)."""
    rows = store_day.filter(pl.col(target).is_not_null()).select(
        pl.col("store_id").alias("series_id"), "date", pl.col(target).alias("y"), *FLAGS, CLOSURE
    )
    return prepare_panel(rows, regressors=FLAGS, closure=CLOSURE, freq="D")


def calendar_flags(calendar: pl.DataFrame, stores: list[str]) -> pl.DataFrame:
    """series_id, date and the three flags for every calendar date (store NULL = all stores)."""
    events = calendar.filter(pl.col("event_kind").is_in(list(EVENT_KINDS))).select(
        pl.col("event_date").alias("date"), "store_id", "event_kind"
    )
    every = (
        events.filter(pl.col("store_id").is_null())
        .drop("store_id")
        .join(pl.DataFrame({"store_id": stores}), how="cross")
    )
    own = events.filter(pl.col("store_id").is_not_null())
    both = pl.concat([own, every.select(own.columns)])
    return both.group_by(pl.col("store_id").alias("series_id"), "date").agg(
        *[(pl.col("event_kind") == kind).any().cast(pl.Float64).alias(flag)
          for kind, flag in EVENT_KINDS.items()]
    )  # fmt: skip


def forecast_stores(
    store_day: pl.DataFrame,
    calendar: pl.DataFrame,
    settings: ForecastSettings | None = None,
    trained_at: dt.datetime | None = None,
) -> StoreForecasts:
    """Both targets, every store: backtest, champions, forecasts and evaluation rows."""
    settings = settings or ForecastSettings()
    trained_at = trained_at or dt.datetime.now(dt.UTC)
    runs: dict[str, ForecastRun] = {}
    history: dict[str, pl.DataFrame] = {}
    with prophet_pool(settings.n_jobs) as pool:
        for target in TARGETS:
            panel = store_panel(store_day, target)
            known = calendar_flags(calendar, panel.series)
            runs[target] = forecast_panel(panel, settings, known, pool)
            history[target] = panel.observed().select("series_id", "date", "y")

    def tagged(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
        return pl.concat(
            [f.with_columns(pl.lit(t).alias("target")) for t, f in frames.items()],
            how="diagonal_relaxed",
        )

    forecasts = tagged({t: r.forecasts for t, r in runs.items()}).select(
        "series_id", "target", "date", "model", "yhat", "lo80", "hi80", "lo95", "hi95",
        "is_champion", pl.lit(trained_at).alias("trained_at"),
    )  # fmt: skip
    backtests = {t: r.backtest.metrics for t, r in runs.items() if r.backtest is not None}
    backtest = (
        tagged(backtests).select("target", "model", "series_id", "fold", "metric", "value")
        if backtests
        else pl.DataFrame(schema={"target": pl.Utf8, "model": pl.Utf8, "series_id": pl.Utf8,
                                  "fold": pl.Int32, "metric": pl.Utf8, "value": pl.Float64})
    )  # fmt: skip
    fallbacks = tagged({t: r.fallbacks for t, r in runs.items()})
    return StoreForecasts(
        runs, history, forecasts, backtest, forecast_evaluation(runs, trained_at), fallbacks
    )


def forecast_evaluation(runs: dict[str, ForecastRun], evaluated_at: dt.datetime) -> pl.DataFrame:
    """ml.model_evaluation rows: per target and series (pooled folds), per target overall,
    and the champions' own accuracy (model 'champion')."""
    parts = []
    for target, run in runs.items():
        if run.backtest is None:
            continue
        per_series = run.backtest.metrics.filter(pl.col("fold") == POOLED).select(
            "model", pl.format("{}:{}", pl.lit(target), "series_id").alias("segment"),
            "metric", "value",
        )  # fmt: skip
        points = run.backtest.points
        chosen = points.join(run.champions.select("series_id", "model"),
                             on=["series_id", "model"]).with_columns(
            pl.lit("champion").alias("model"))  # fmt: skip
        totals = overall(pl.concat([points, chosen])).unpivot(index="model", variable_name="metric")
        parts += [
            per_series,
            totals.select(
                "model", pl.lit(f"{target}:all").alias("segment"), "metric",
                pl.col("value").cast(pl.Float64),
            ),
        ]  # fmt: skip
    if not parts:  # every series fell back to the baseline: nothing was backtested
        empty = {"model": pl.Utf8, "segment": pl.Utf8, "metric": pl.Utf8, "value": pl.Float64}
        return evaluation_rows("forecast", pl.DataFrame(schema=empty), evaluated_at)
    return evaluation_rows("forecast", pl.concat(parts), evaluated_at)
