"""One forecasting run: sort the series, backtest, choose champions, refit, forecast.

A series gets the full treatment only if every backtest fold can train on two seasonal cycles;
otherwise it falls back to the seasonal-naive baseline, and the reason is recorded (and shown by
the CLI and the asset) instead of a model failing somewhere inside Prophet:

| case | what happens |
|---|---|
| one observation | left out: nothing to forecast from (`skipped`) |
| every value 0 | baseline (forecasts 0) |
| under two seasonal cycles (14 days for daily data) | baseline |
| too short for the folds (2 cycles + folds x horizon) | baseline, not backtested |

If no series can be forecast at all, the run raises `ForecastInputError`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial

import polars as pl

from footfall_platform.forecast.backtest import (
    MIN_FOLDS,
    MODEL_ORDER,
    Backtest,
    predict_all,
    run_backtest,
)
from footfall_platform.forecast.base import Forecaster
from footfall_platform.forecast.baseline import SeasonalNaive
from footfall_platform.forecast.frame import STEP_NAME, ForecastInputError, Panel, check_horizon
from footfall_platform.forecast.gbm import LightGBMGlobal
from footfall_platform.forecast.prophet_model import ProphetModel, prophet_pool

BASELINE = SeasonalNaive.name
FORECAST_COLUMNS = ("series_id", "date", "model", "yhat", "lo80", "hi80", "lo95", "hi95",
                    "is_champion")  # fmt: skip


@dataclass(frozen=True)
class ForecastSettings:
    horizon: int = 28
    folds: int = MIN_FOLDS
    models: tuple[str, ...] = MODEL_ORDER
    n_jobs: int = 0  # Prophet worker processes; 0 = every core
    seed: int = 0


@dataclass
class ForecastRun:
    """Everything a run produced; `forecasts` holds every model's future, champions flagged."""

    forecasts: pl.DataFrame
    backtest: Backtest | None
    champions: pl.DataFrame  # series_id, model, wape (null for a fallback)
    fallbacks: pl.DataFrame  # series_id, reason, action (baseline | skipped)
    settings: ForecastSettings


def triage(panel: Panel, horizon: int, folds: int) -> pl.DataFrame:
    """series_id, reason, action for every series that cannot get every model (see above)."""
    m, unit = panel.season, STEP_NAME[panel.freq]
    need = 2 * m + folds * horizon
    stats = panel.frame.group_by("series_id", maintain_order=True).agg(
        pl.len().alias("span"),
        pl.col("y").count().alias("seen"),
        (pl.col("y").fill_null(0) == 0).all().alias("zeros"),
    )
    reason = (
        pl.when(pl.col("seen") < 2)
        .then(pl.format("{} observation: at least 2 are needed", pl.col("seen")))
        .when(pl.col("zeros"))
        .then(pl.lit("every value is 0: the forecast is 0"))
        .when(pl.col("span") < 2 * m)
        .then(pl.format(f"under two seasonal cycles: {{}} {unit}s < 2 x {m}", pl.col("span")))
        .when(pl.col("span") < need)
        .then(
            pl.format(
                f"too short to backtest {folds} folds of {horizon}: {{}} {unit}s < "
                f"2 x {m} + {folds} x {horizon}",
                pl.col("span"),
            )
        )
    )
    return (
        stats.with_columns(reason.alias("reason"))
        .filter(pl.col("reason").is_not_null())
        .select(
            "series_id",
            "reason",
            pl.when(pl.col("seen") < 2).then(pl.lit("skipped")).otherwise(pl.lit("baseline"))
            .alias("action"),
        )
    )  # fmt: skip


def model_factories(
    settings: ForecastSettings, pool: Executor | None
) -> dict[str, Callable[[], Forecaster]]:
    known = {
        "seasonal_naive": SeasonalNaive,
        "prophet": partial(ProphetModel, n_jobs=settings.n_jobs, pool=pool, seed=settings.seed),
        "lightgbm": partial(LightGBMGlobal, settings.horizon, seed=settings.seed),
        "ensemble": None,
    }
    unknown = [m for m in settings.models if m not in known]
    if unknown:
        raise ForecastInputError(f"unknown model(s) {unknown}: choose from {list(known)}")
    names = [BASELINE, *[m for m in settings.models if m != BASELINE]]
    return {name: known[name] for name in names}  # type: ignore[misc]


def forecast_panel(
    panel: Panel,
    settings: ForecastSettings | None = None,
    known: pl.DataFrame | None = None,
    pool: Executor | None = None,
) -> ForecastRun:
    """Backtest, pick champions and forecast `settings.horizon` steps after each series' end.

    `known` holds the regressors of the future dates (series_id, date, flags); missing = 0.
    `pool` is a Prophet process pool to reuse (`prophet_pool`); by default one is started.
    """
    settings = settings or ForecastSettings()
    check_horizon(settings.horizon)
    fallbacks = triage(panel, settings.horizon, settings.folds)
    skipped = fallbacks.filter(pl.col("action") == "skipped")["series_id"].to_list()
    baseline_only = fallbacks.filter(pl.col("action") == "baseline")["series_id"].to_list()
    modelled = [s for s in panel.series if s not in skipped and s not in baseline_only]
    if not modelled and not baseline_only:
        reasons = "; ".join(f"{r['series_id']}: {r['reason']}" for r in fallbacks.iter_rows(
            named=True))  # fmt: skip
        raise ForecastInputError(f"no series can be forecast ({reasons})")

    parts: list[pl.DataFrame] = []
    backtest = None
    own_pool = prophet_pool(settings.n_jobs if "prophet" in settings.models else 1)
    with own_pool if pool is None else nullcontext(pool) as pool:
        factories = model_factories(settings, pool)
        if modelled:
            full = panel.select(modelled)
            backtest = run_backtest(full, settings.horizon, factories, settings.folds)
            final = predict_all(factories, full, settings.horizon, known)
            for name, pred in final.items():
                parts.append(pred.with_columns(pl.lit(name).alias("model")))
        if baseline_only:
            base = SeasonalNaive().fit(panel.select(baseline_only))
            parts.append(
                base.predict(settings.horizon, known).with_columns(pl.lit(BASELINE).alias("model"))
            )
    champs = _champions(backtest, baseline_only)
    forecasts = (
        pl.concat(parts)
        .join(champs.select("series_id", pl.col("model").alias("_champion")), on="series_id")
        .with_columns((pl.col("model") == pl.col("_champion")).alias("is_champion"))
        .select(FORECAST_COLUMNS)
        .sort("series_id", "model", "date")
    )
    return ForecastRun(forecasts, backtest, champs, fallbacks, settings)


def _champions(backtest: Backtest | None, baseline_only: list[str]) -> pl.DataFrame:
    schema = {"series_id": pl.Utf8, "model": pl.Utf8, "wape": pl.Float64}
    fallback = pl.DataFrame(
        {"series_id": baseline_only, "model": [BASELINE] * len(baseline_only),
         "wape": [None] * len(baseline_only)},
        schema=schema,
    )  # fmt: skip
    if backtest is None:
        return fallback
    return pl.concat([backtest.champions.cast(schema), fallback])
