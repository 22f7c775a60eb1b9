"""Robust training histories: one-off outliers become gaps before Prophet and LightGBM fit.

A camera that stops counting for five days, or a one-day surge from a street event, is not
demand the next weeks will repeat; but a model fitted on it bends its trend (a five-day outage
just before the forecast origin pulled Prophet's forecast 20 % low on the demo world). So each
value is compared with the median of the same phase of the neighbouring seasons (the same
weekday up to three weeks before and after), on a log scale; a value further away than
`THRESHOLD` robust standard deviations (and at least `MIN_LOG_GAP`) is left out of the fit.

Known events are not outliers: a holiday, a promotion or a closure explains its own jump, so
those days are neither judged nor used as neighbours. The baseline and every accuracy figure
use the raw values: cleaning changes what models learn from, never what they are scored on.
"""

from __future__ import annotations

import polars as pl

from footfall_platform.forecast.frame import Panel

NEIGHBOURS = 3  # seasons on each side
THRESHOLD = 4.0  # robust standard deviations (1.4826 x MAD of the log ratios)
MIN_LOG_GAP = 0.25  # never flag a value within ~28 % of its neighbours


def outliers(panel: Panel) -> pl.Series:
    """A boolean per row of `panel.frame`: a one-off outlier (see the module docstring)."""
    m = panel.season
    frame = panel.frame
    events = pl.lit(False)
    for flag in panel.regressors:
        events = events | (pl.col(flag) >= 0.5)
    usable = pl.when(~events & (pl.col("y") >= 0)).then(pl.col("y"))
    neighbours = [
        usable.shift(sign * k * m).over("series_id")
        for k in range(1, NEIGHBOURS + 1)
        for sign in (1, -1)
    ]
    scored = frame.with_columns(
        usable.alias("_v"),
        pl.concat_list(neighbours).list.drop_nulls().alias("_n"),
    ).with_columns(
        pl.when(pl.col("_n").list.len() >= 2)
        .then((pl.col("_v") + 1).log() - (pl.col("_n").list.median() + 1).log())
        .alias("_r")
    )
    spread = pl.col("_r").abs().median().over("series_id") * 1.4826
    limit = pl.max_horizontal(spread * THRESHOLD, pl.lit(MIN_LOG_GAP))
    flagged = scored.select((pl.col("_r").abs() > limit).fill_null(False).alias("outlier"))
    return flagged["outlier"]


def without_outliers(panel: Panel) -> Panel:
    """The panel with outliers turned into gaps (y null), for fitting models."""
    flagged = outliers(panel)
    if not flagged.any():
        return panel
    frame = panel.frame.with_columns(pl.when(flagged).then(None).otherwise(pl.col("y")).alias("y"))
    return Panel(frame, panel.freq, panel.regressors, panel.closure)
