"""One chart per store: recent history, the champion forecast and its 80 % / 95 % intervals.

One panel per target (footfall, net sales) so a planner sees traffic and takings together; the
history shown is the last `weeks` weeks, enough to see the weekly rhythm the forecast repeats.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from footfall_platform.charts import new_figure, png_bytes


def store_chart(
    series_id: str,
    history: dict[str, pl.DataFrame],
    forecasts: dict[str, pl.DataFrame],
    weeks: int = 8,
) -> bytes:
    """PNG bytes; `history[target]` has series_id, date, y; `forecasts[target]` the champion
    rows (series_id, date, model, yhat, lo80, hi80, lo95, hi95)."""
    targets = list(forecasts)
    figure = new_figure(10.0, 3.2 * max(len(targets), 1))
    axes = figure.subplots(max(len(targets), 1), 1, squeeze=False)[:, 0]
    for ax, target in zip(axes, targets, strict=False):
        past = history[target].filter(pl.col("series_id") == series_id)
        ahead = forecasts[target].filter(pl.col("series_id") == series_id).sort("date")
        if not past.is_empty():
            start = past["date"].max() - dt.timedelta(weeks=weeks)
            past = past.filter(pl.col("date") > start).sort("date")
            ax.plot(past["date"].to_list(), past["y"].to_list(), color="#333333", lw=1.2,
                    label="actual")  # fmt: skip
        if not ahead.is_empty():
            dates = ahead["date"].to_list()
            ax.fill_between(dates, ahead["lo95"].to_list(), ahead["hi95"].to_list(),
                            color="#9ecae1", alpha=0.5, label="95 %")  # fmt: skip
            ax.fill_between(dates, ahead["lo80"].to_list(), ahead["hi80"].to_list(),
                            color="#4292c6", alpha=0.5, label="80 %")  # fmt: skip
            ax.plot(dates, ahead["yhat"].to_list(), color="#08519c", lw=1.6,
                    label=f"forecast ({ahead['model'][0]})")  # fmt: skip
        ax.set_title(f"{series_id}: {target.replace('_', ' ')}", loc="left", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8, ncols=4)
    return png_bytes(figure)
