"""Dates and timestamps as senders write them.

Times are simulated as integer milliseconds after the local midnight of a day index, which keeps
the arithmetic in numpy; they only become text when a file is written. Store-local times carry no
offset (the contract reads them in the store's time zone); a till that sends UTC gets a `Z`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

MS_PER_DAY = 86_400_000
SECOND_FORMAT = "%Y-%m-%dT%H:%M:%S"
MILLI_FORMAT = "%Y-%m-%dT%H:%M:%S%.3f"


def day_strings(start: dt.date, days: int, fmt: str = "%Y-%m-%d") -> pl.Series:
    """The date of every day index formatted once, to be gathered by index later."""
    return pl.Series([(start + dt.timedelta(days=d)).strftime(fmt) for d in range(days)])


def local_datetimes(start: dt.date, day: np.ndarray, ms: np.ndarray) -> pl.Series:
    """Naive store-local datetimes from (day index, milliseconds after local midnight)."""
    base = np.datetime64(start, "ms").astype(np.int64)
    absolute = base + day.astype(np.int64) * MS_PER_DAY + ms.astype(np.int64)
    return pl.Series(absolute).cast(pl.Datetime("ms"))


def format_local(values: pl.Series, *, millis: bool = False) -> pl.Series:
    """ISO text without offset: the contract reads it as store-local time."""
    return values.dt.strftime(MILLI_FORMAT if millis else SECOND_FORMAT)


def format_utc(values: pl.Series, timezone: str) -> pl.Series:
    """The same instants as UTC text with a `Z`, as a till synchronised to UTC sends them."""
    utc = values.dt.replace_time_zone(timezone).dt.convert_time_zone("UTC")
    return utc.dt.strftime(SECOND_FORMAT + "Z")


def month_of_day(start: dt.date, days: int) -> np.ndarray:
    """`YYYY-MM` of every day index, for one-file-per-month partitioning."""
    return np.array([(start + dt.timedelta(days=d)).strftime("%Y-%m") for d in range(days)])


def uneven_days(timezone: str, start: dt.date, days: int) -> np.ndarray:
    """Day indices whose local day is not 24 hours long (daylight-saving changes).

    A whole-day camera period on such a day lasts 23 or 25 hours, and the contract refuses
    periods over 24 hours, so those days are sent in shorter periods instead.
    """
    zone = ZoneInfo(timezone)
    offsets = [
        dt.datetime.combine(start + dt.timedelta(days=d), dt.time(), zone).utcoffset()
        for d in range(days + 1)
    ]
    return np.array([d for d in range(days) if offsets[d] != offsets[d + 1]], dtype=np.int64)
