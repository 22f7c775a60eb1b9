"""Footfall: the planted demand curve, simulated visitors, and what the door cameras count.

Visitors are simulated one by one (vectorised): each enters through a door at a time drawn from
the store's hour profile, stays a while, and leaves through a door. Cameras count entries and
exits per period, so entries equal exits over a day, and the same visitors later make the
receipts, which keeps receipts per hour consistent with footfall through the planted conversion.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from .clock import format_local, local_datetimes
from .events import CalendarPlan
from .stores import Store

SLOT_SECONDS = 900  # the finest period a camera reports (15 minutes)
SLOTS_PER_DAY = 86_400 // SLOT_SECONDS


@dataclass(frozen=True)
class Spike:
    """A one-day surge at one store (a local event), an anomaly to be found."""

    store: int
    day: int
    multiplier: float


@dataclass(frozen=True)
class FootfallPlan:
    """The planted multiplicative model of a store's expected daily entries.

    expected(store, day) = base_daily_footfall[store] * dow[weekday] * yearly(day_of_year)
        * trend(day) * holiday_lift^holiday * promotion_lift^promotion * spike, and 0 when closed,
    with yearly(doy) = 1 + yearly_amplitude * cos(2 pi (doy - yearly_peak_day) / 365.25) and
    trend(day) = 1 + trend_per_year * day / 365 (day counted from the start date).
    """

    dow: tuple[float, ...] = (0.86, 0.80, 0.90, 0.95, 1.10, 1.45, 0.94)  # Monday first
    yearly_amplitude: float = 0.15
    yearly_peak_day: int = 350  # mid-December
    trend_per_year: float = 0.08
    holiday_lift: float = 1.30
    promotion_lift: float = 1.25
    spikes: list[Spike] = field(default_factory=list)

    def day_factors(self, start: dt.date, days: int) -> np.ndarray:
        """The store-independent part (weekday x yearly x trend) for each day index."""
        dates = [start + dt.timedelta(days=d) for d in range(days)]
        dow = np.array([self.dow[d.weekday()] for d in dates])
        doy = np.array([d.timetuple().tm_yday for d in dates])
        yearly = 1 + self.yearly_amplitude * np.cos(
            2 * np.pi * (doy - self.yearly_peak_day) / 365.25
        )
        trend = 1 + self.trend_per_year * np.arange(days) / 365.0
        return dow * yearly * trend

    def expected(
        self, stores: list[Store], calendar: CalendarPlan, start: dt.date, days: int
    ) -> np.ndarray:
        """Expected entries per store and day (stores x days)."""
        base = np.array([s.base_daily_footfall for s in stores])
        e = base[:, None] * self.day_factors(start, days)[None, :]
        e = e * np.where(calendar.holiday, self.holiday_lift, 1.0)
        e = e * np.where(calendar.promotion, self.promotion_lift, 1.0)
        for spike in self.spikes:
            e[spike.store, spike.day] *= spike.multiplier
        return np.where(calendar.closed, 0.0, e)

    def truth(self) -> dict:
        return {
            "model": "expected = base_daily_footfall * dow[weekday] * yearly * trend * "
            "holiday_lift^is_holiday * promotion_lift^is_promotion * spike; 0 on closure days",
            "dow_multipliers": dict(
                zip(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], self.dow, strict=True)
            ),
            "yearly": {
                "formula": "1 + amplitude * cos(2*pi*(day_of_year - peak_day_of_year) / 365.25)",
                "amplitude": self.yearly_amplitude,
                "peak_day_of_year": self.yearly_peak_day,
            },
            "trend": {
                "formula": "1 + per_year * days_since_start / 365",
                "per_year": self.trend_per_year,
            },
            "event_multipliers": {
                "holiday": self.holiday_lift,
                "promotion": self.promotion_lift,
                "closure": 0.0,
            },
            "hour_of_day": "stores[].hour_profile: share of a day's entries per local hour",
        }


@dataclass
class Visitors:
    """One entry per visitor of a store; times are seconds after local midnight."""

    day: np.ndarray
    entry: np.ndarray
    exit: np.ndarray
    entry_cam: np.ndarray
    exit_cam: np.ndarray
    buyer: np.ndarray
    returner: np.ndarray
    per_day: np.ndarray  # true entries per day index


def simulate_visitors(
    store: Store, expected: np.ndarray, return_rate: float, rng: np.random.Generator
) -> Visitors:
    """Poisson arrivals per hour, lognormal stays, doors by camera share, buyers by conversion."""
    days = expected.size
    counts = rng.poisson(expected[:, None] * store.hour_profile[None, :])  # days x 24
    cell = np.repeat(np.arange(counts.size), counts.ravel())
    n = cell.size
    day = (cell // 24).astype(np.int32)
    entry = ((cell % 24) * 3600 + rng.integers(0, 3600, n)).astype(np.int32)
    stay = np.clip(rng.lognormal(np.log(18 * 60), 0.5, n), 180, 75 * 60).astype(np.int32)
    exit_ = np.minimum(entry + stay, (store.close_hour + 1) * 3600 - 1).astype(np.int32)
    share = np.array(store.camera_share)
    entry_cam = rng.choice(share.size, size=n, p=share).astype(np.int8)
    exit_cam = rng.choice(share.size, size=n, p=share).astype(np.int8)
    buyer = rng.random(n) < store.conversion_rate
    # Returners are visitors who came back with something rather than to buy.
    p_return = return_rate * store.conversion_rate / (1 - store.conversion_rate)
    returner = ~buyer & (rng.random(n) < p_return)
    per_day = np.bincount(day, minlength=days)
    return Visitors(day, entry, exit_, entry_cam, exit_cam, buyer, returner, per_day)


def camera_counts(
    store: Store, visitors: Visitors, start: dt.date, days: int, minutes: int
) -> pl.DataFrame:
    """Entries and exits per camera and period of `minutes` (15, 60 or 1440), all days.

    Periods cover the opening hours plus one hour after closing (so late exits are counted);
    a whole-day period runs from local midnight to the next midnight.
    """
    n_cam = len(store.cameras)

    def binned(cam: np.ndarray, secs: np.ndarray) -> np.ndarray:
        key = (visitors.day.astype(np.int64) * n_cam + cam) * SLOTS_PER_DAY + secs // SLOT_SECONDS
        return np.bincount(key, minlength=days * n_cam * SLOTS_PER_DAY).reshape(
            days, n_cam, SLOTS_PER_DAY
        )

    entries = binned(visitors.entry_cam, visitors.entry)
    exits = binned(visitors.exit_cam, visitors.exit)
    if minutes == 1440:
        entries, exits = entries.sum(axis=2, keepdims=True), exits.sum(axis=2, keepdims=True)
        first = 0
    else:
        per = minutes * 60 // SLOT_SECONDS
        lo, hi = (
            store.open_hour * 3600 // SLOT_SECONDS,
            (store.close_hour + 1) * 3600 // SLOT_SECONDS,
        )
        shape = (days, n_cam, (hi - lo) // per, per)
        entries = entries[:, :, lo:hi].reshape(shape).sum(axis=3)
        exits = exits[:, :, lo:hi].reshape(shape).sum(axis=3)
        first = store.open_hour * 3600
    n_periods = entries.shape[2]
    d, c, p = np.meshgrid(np.arange(days), np.arange(n_cam), np.arange(n_periods), indexing="ij")
    d, c, p = d.ravel(), c.ravel(), p.ravel()
    start_ms = (first + p * minutes * 60).astype(np.int64) * 1000
    return pl.DataFrame(
        {
            "store_id": pl.Series([store.store_id]).gather(np.zeros(d.size, dtype=np.int64)),
            "camera_id": pl.Series(list(store.cameras)).gather(c),
            "period_start": format_local(local_datetimes(start, d, start_ms)),
            "period_end": format_local(local_datetimes(start, d, start_ms + minutes * 60_000)),
            "entries": entries.ravel().astype(np.int64),
            "exits": exits.ravel().astype(np.int64),
            "day": d.astype(np.int32),
            "camera": c.astype(np.int8),
        }
    )
