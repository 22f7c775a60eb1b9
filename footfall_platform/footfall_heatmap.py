"""When people come: mean entries per store by ISO weekday x local hour, as a heatmap.

A store manager plans staff by the weekly rhythm, not by the daily total; one picture of weekday
against hour shows the Saturday-afternoon peak and the dead Monday morning at a glance. The
window is the newest `weeks` weeks of the mart so a change in habits shows within two months.
"""

from __future__ import annotations

import duckdb
import numpy as np

from footfall_platform.charts import new_figure, png_bytes

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

HEATMAP_SQL = """
with recent as (
    select store_id, local_date, local_hour, entries
    from {table}
    where local_hour is not null
      and local_date > (select max(local_date) from {table}) - to_weeks(?)
)
select isodow(local_date) as weekday, local_hour, sum(entries) / count(distinct (store_id, local_date))
from recent
group by all
"""


def footfall_by_weekday_hour(
    con: duckdb.DuckDBPyConnection, table: str = "marts.fct_footfall_hourly", weeks: int = 8
) -> np.ndarray:
    """7 x 24 mean entries per store-day (weekday 1..7 by hour 0..23); NaN where never open."""
    grid = np.full((7, 24), np.nan)
    for weekday, hour, mean in con.execute(HEATMAP_SQL.format(table=table), [weeks]).fetchall():
        grid[weekday - 1, hour] = mean
    return grid


def heatmap_chart(
    grid: np.ndarray, title: str = "Mean entries per store by weekday and hour"
) -> bytes:
    figure = new_figure(10.0, 3.6)
    ax = figure.subplots()
    image = ax.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap="viridis")
    ax.set_yticks(range(7), WEEKDAYS)
    ax.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    ax.set_xlabel("local hour")
    ax.set_title(title)
    figure.colorbar(image, ax=ax, label="entries")
    return png_bytes(figure)
