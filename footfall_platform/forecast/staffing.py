"""Staffing: the daily champion footfall forecast spread over the hours of the day.

A store's traffic by hour has a shape of its own per weekday (a Saturday peaks later than a
Tuesday), and that shape moves slowly, so the recent weeks say it best: the share of each
weekday's entries falling in each local hour over the last `weeks` weeks before the forecast.
Expected entries per hour = the day's forecast x that share; the interval bounds are spread the
same way. A weekday with no hourly counts in those weeks uses the store's all-days shape (the
`profile` column says which). Whole-day camera counts (local_hour null) have no hours and are
left out of the shapes.

`staff_needed` turns entries into people on the floor: one per `visitors_per_staff_hour`
expected entries, rounded up, and at least `min_staff` in an hour with any traffic expected.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

STAFFING_COLUMNS = ("store_id", "date", "weekday", "local_hour", "share", "expected_entries",
                    "lo80", "hi80", "staff_needed", "profile", "model")  # fmt: skip


class StaffingInputError(ValueError):
    """The inputs cannot give an hourly forecast; the message says why."""


@dataclass(frozen=True)
class StaffingSettings:
    days: int = 7
    weeks: int = 8
    visitors_per_staff_hour: float = 40.0
    min_staff: int = 1


def hour_profiles(hourly: pl.DataFrame, before: dt.date, weeks: int) -> pl.DataFrame:
    """store_id, weekday (ISO, null = all days), local_hour, share: recent hour-of-day shapes."""
    recent = hourly.filter(
        pl.col("local_hour").is_not_null()
        & (pl.col("local_date") < before)
        & (pl.col("local_date") >= before - dt.timedelta(weeks=weeks))
    ).with_columns(pl.col("local_date").dt.weekday().alias("weekday"))
    by_day = recent.group_by("store_id", "weekday", "local_hour").agg(pl.col("entries").sum())
    all_days = (
        recent.group_by("store_id", "local_hour")
        .agg(pl.col("entries").sum())
        .with_columns(pl.lit(None, dtype=by_day["weekday"].dtype).alias("weekday"))
    )
    shapes = pl.concat([by_day, all_days.select(by_day.columns)])
    total = pl.col("entries").sum().over("store_id", "weekday")
    return shapes.filter(total > 0).select(
        "store_id", "weekday", "local_hour", (pl.col("entries") / total).alias("share")
    )


def staffing_forecast(
    daily: pl.DataFrame, hourly: pl.DataFrame, settings: StaffingSettings | None = None
) -> pl.DataFrame:
    """Hourly expected entries for the first `days` forecast days of each store.

    `daily`: the champion footfall forecast (series_id = store_id, date, yhat, lo80, hi80,
    model); `hourly`: marts.fct_footfall_hourly (store_id, local_date, local_hour, entries).
    """
    settings = settings or StaffingSettings()
    if settings.days < 1 or settings.weeks < 1 or settings.visitors_per_staff_hour <= 0:
        raise StaffingInputError(
            "days and weeks must be at least 1 and visitors_per_staff_hour above 0"
        )
    if daily.is_empty():
        raise StaffingInputError("no daily footfall forecast to spread over the hours")
    start = daily["date"].min()
    days = (
        daily.rename({"series_id": "store_id"})
        .filter(pl.col("date") < start + dt.timedelta(days=settings.days))
        .with_columns(pl.col("date").dt.weekday().alias("weekday"))
    )
    shapes = hour_profiles(hourly, start, settings.weeks)
    if shapes.is_empty():
        raise StaffingInputError(
            f"no hourly footfall in the {settings.weeks} weeks before {start}: "
            "nothing to take the hour-of-day shape from"
        )
    weekday_shapes = shapes.filter(pl.col("weekday").is_not_null())
    fallback = shapes.filter(pl.col("weekday").is_null()).drop("weekday")
    has_own = days.join(weekday_shapes.select("store_id", "weekday").unique(),
                        on=["store_id", "weekday"], how="semi")  # fmt: skip
    own = has_own.join(weekday_shapes, on=["store_id", "weekday"]).with_columns(
        pl.lit("weekday").alias("profile")
    )
    other = days.join(has_own.select("store_id", "date"), on=["store_id", "date"], how="anti")
    borrowed = other.join(fallback, on="store_id").with_columns(pl.lit("all days").alias("profile"))
    spread = pl.concat([own, borrowed.select(own.columns)])
    entries = pl.col("yhat") * pl.col("share")
    staff = (entries / settings.visitors_per_staff_hour).ceil()
    return spread.select(
        "store_id",
        "date",
        pl.col("weekday").cast(pl.Int32),
        pl.col("local_hour").cast(pl.Int32),
        "share",
        entries.alias("expected_entries"),
        (pl.col("lo80") * pl.col("share")).alias("lo80"),
        (pl.col("hi80") * pl.col("share")).alias("hi80"),
        pl.when(entries > 0)
        .then(pl.max_horizontal(staff, pl.lit(settings.min_staff)))
        .otherwise(0)
        .cast(pl.Int32)
        .alias("staff_needed"),
        "profile",
        "model",
    ).sort("store_id", "date", "local_hour")
