"""Forecast accuracy: WAPE, MAPE, MASE and interval coverage, per model, series and fold.

* WAPE (sum of absolute errors / sum of absolute actuals) is the headline and picks the
  champion: it weighs a busy Saturday more than a quiet Tuesday, as the business does, and it
  stays defined on a closure day's zero.
* MAPE leaves out days whose actual is 0 (a percentage of nothing is undefined).
* MASE divides by the mean absolute seasonal difference of the training history of that fold
  (`base.series_scale`): below 1 beats the seasonal-naive step in-sample.
* Coverage is the share of actuals inside the 80 % and 95 % intervals.
* MAPE on event days (a holiday, a promotion: any flag but the closure) and on ordinary days
  shows whether the models learned the lifts: a model blind to them errs most on those days.

Fold 0 pools every fold (what the champion is chosen on); folds 1..k are the single origins,
oldest first.
"""

from __future__ import annotations

import polars as pl

METRICS = ("wape", "mape", "mase", "coverage80", "coverage95", "points", "mape_event_days",
           "mape_ordinary_days")  # fmt: skip
POOLED = 0


def _metric_exprs() -> list[pl.Expr]:
    err = (pl.col("y") - pl.col("yhat")).abs()
    nonzero = pl.col("y") != 0
    inside = (pl.col("y") >= pl.col("lo80")) & (pl.col("y") <= pl.col("hi80"))
    inside95 = (pl.col("y") >= pl.col("lo95")) & (pl.col("y") <= pl.col("hi95"))
    abs_sum = pl.col("y").abs().sum()
    ape = err / pl.col("y").abs()
    return [
        pl.when(abs_sum > 0).then(err.sum() / abs_sum).alias("wape"),
        ape.filter(nonzero).mean().alias("mape"),
        (err / pl.col("scale")).mean().alias("mase"),
        inside.cast(pl.Float64).mean().alias("coverage80"),
        inside95.cast(pl.Float64).mean().alias("coverage95"),
        pl.len().cast(pl.Float64).alias("points"),
        ape.filter(nonzero & pl.col("event")).mean().alias("mape_event_days"),
        ape.filter(nonzero & ~pl.col("event")).mean().alias("mape_ordinary_days"),
    ]


def score(points: pl.DataFrame) -> pl.DataFrame:
    """Long table (model, series_id, fold, metric, value) from backtest points.

    `points` holds model, series_id, fold, y, yhat, lo80, hi80, lo95, hi95, scale (the
    fold's MASE denominator for that series) and event (the day had a known event).
    """
    keys = ["model", "series_id"]
    per_fold = points.group_by([*keys, "fold"]).agg(_metric_exprs())
    pooled = (
        points.group_by(keys)
        .agg(_metric_exprs())
        .with_columns(pl.lit(POOLED, dtype=per_fold["fold"].dtype).alias("fold"))
    )
    wide = pl.concat([per_fold, pooled.select(per_fold.columns)])
    return (
        wide.unpivot(index=[*keys, "fold"], on=list(METRICS), variable_name="metric")
        .with_columns(pl.col("value").cast(pl.Float64))
        .sort("model", "series_id", "fold", "metric")
    )


def overall(points: pl.DataFrame) -> pl.DataFrame:
    """Each model over all series at once (sums before ratios): model, wape, mape, ..."""
    return points.group_by("model").agg(_metric_exprs()).sort("model")
