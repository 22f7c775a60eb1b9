"""Rolling-origin backtest: refit at each of k origins, forecast a horizon, score, pick champions.

The origins are global dates (the panel's last date minus k, k-1, ..., 1 horizons), so the
global LightGBM model of a fold never sees any series beyond its origin. Every model forecasts
the same H steps from the same history; the regressors of those steps are the real flags of the
panel (holidays, promotions and closures are known in advance, not learned after the fact).

The champion of a series is the model with the lowest WAPE pooled over the folds; a tie goes to
the simpler model (the order of `MODEL_ORDER`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from footfall_platform.forecast.base import BOUNDS, Forecaster, series_scale
from footfall_platform.forecast.ensemble import NAME as ENSEMBLE
from footfall_platform.forecast.ensemble import combine
from footfall_platform.forecast.frame import Panel, check_horizon, shift
from footfall_platform.forecast.metrics import POOLED, score

MODEL_ORDER = ("seasonal_naive", "lightgbm", "prophet", ENSEMBLE)
ENSEMBLE_MEMBERS = ("prophet", "lightgbm")
MIN_FOLDS = 3


@dataclass(frozen=True)
class Backtest:
    points: pl.DataFrame  # model, series_id, fold, cutoff, date, step, y, yhat, bounds, scale,
    # event (a known holiday/promotion day)
    metrics: pl.DataFrame  # model, series_id, fold, metric, value (fold 0 = pooled)
    champions: pl.DataFrame  # series_id, model, wape


def cutoffs(panel: Panel, horizon: int, folds: int) -> list:
    """The fold origins, oldest first: the last date minus folds, ..., 1 horizons."""
    last = panel.last_date
    frame = pl.DataFrame({"k": list(range(folds, 0, -1))}).select(
        shift(pl.lit(last), -pl.col("k") * horizon, panel.freq).alias("cutoff")
    )
    return frame["cutoff"].to_list()


def predict_all(
    models: dict[str, Callable[[], Forecaster]],
    history: Panel,
    horizon: int,
    known: pl.DataFrame | None,
) -> dict[str, pl.DataFrame]:
    """Every model fitted on `history` and its forecast; the ensemble from its members."""
    out = {
        name: make().fit(history).predict(horizon, known)
        for name, make in models.items()
        if name != ENSEMBLE
    }
    if ENSEMBLE in models and all(m in out for m in ENSEMBLE_MEMBERS):
        out[ENSEMBLE] = combine([out[m] for m in ENSEMBLE_MEMBERS])
    return out


def run_backtest(
    panel: Panel,
    horizon: int,
    models: dict[str, Callable[[], Forecaster]],
    folds: int = MIN_FOLDS,
) -> Backtest:
    """Backtest every model on `panel` (series already checked long enough for `folds`)."""
    check_horizon(horizon)
    if folds < MIN_FOLDS:
        raise ValueError(f"a backtest needs at least {MIN_FOLDS} folds, got {folds}")
    flags = [r for r in panel.regressors if r != panel.closure]
    event = pl.any_horizontal([pl.col(f) >= 0.5 for f in flags]) if flags else pl.lit(False)
    actual = panel.frame.filter(pl.col("y").is_not_null()).select(
        "series_id", "date", "y", event.alias("event")
    )
    parts = []
    for fold, cutoff in enumerate(cutoffs(panel, horizon, folds), start=1):
        history = panel.until(cutoff)
        scales = series_scale(history)
        for name, pred in predict_all(models, history, horizon, panel.frame).items():
            parts.append(
                pred.join(actual, on=["series_id", "date"], how="inner")
                .join(scales, on="series_id", how="left")
                .with_columns(
                    pl.lit(name).alias("model"),
                    pl.lit(fold).alias("fold"),
                    pl.lit(cutoff).alias("cutoff"),
                )
            )
    points = pl.concat(parts).select(
        "model",
        "series_id",
        "fold",
        "cutoff",
        "date",
        "step",
        "y",
        "yhat",
        *BOUNDS,
        "scale",
        "event",
    )
    metrics = score(points)
    return Backtest(points, metrics, champions(metrics))


def champions(metrics: pl.DataFrame, order: Sequence[str] = MODEL_ORDER) -> pl.DataFrame:
    """series_id, model, wape: the lowest pooled WAPE per series, ties to the simpler model."""
    rank = {name: i for i, name in enumerate(order)}
    pooled = metrics.filter((pl.col("fold") == POOLED) & (pl.col("metric") == "wape"))
    return (
        pooled.with_columns(
            pl.col("model").replace_strict(rank, default=len(rank)).alias("_rank"),
            pl.col("value").fill_nan(None).alias("wape"),
        )
        .sort(["series_id", "wape", "_rank"], nulls_last=True)
        .group_by("series_id", maintain_order=True)
        .first()
        .select("series_id", "model", "wape")
    )
