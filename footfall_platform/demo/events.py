"""The calendar: public holidays, promotions and closures, and the day flags they plant.

The calendar file is both an input the platform loads and the cause of planted footfall effects:
the same rows that are written set the holiday/promotion/closure flags used to simulate traffic,
so a forecaster that reads the calendar can recover the planted lifts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from .stores import Store
from .words import PROMOTION_NAMES

HOLIDAY = "holiday"
PROMOTION = "promotion"
CLOSURE = "closure"


@dataclass
class CalendarPlan:
    """Calendar rows and the per-store, per-day flags they imply (shape stores x days)."""

    events: pl.DataFrame  # holidays and closures (calendar.csv)
    promotions: pl.DataFrame  # store promotions (promotions.csv)
    holiday: np.ndarray
    promotion: np.ndarray
    closed: np.ndarray

    def closures(self, stores: list[Store], start: dt.date) -> list[dict]:
        """Every closed (store, date), for truth.json."""
        s_idx, d_idx = np.nonzero(self.closed)
        return [
            {
                "store_id": stores[s].store_id,
                "date": (start + dt.timedelta(days=int(d))).isoformat(),
            }
            for s, d in zip(s_idx, d_idx, strict=True)
        ]


def easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous algorithm), for the moving European holidays."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return dt.date(year, month, day + 1)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th given weekday of a month (n = -1: the last one)."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    last = nxt - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def country_holidays(country: str, year: int) -> list[tuple[dt.date, str]]:
    """Public holidays of a country that are not chain-wide days already."""
    e = easter(year)
    mon, thu = 0, 3
    may_24 = dt.date(year, 5, 24)
    victoria = may_24 - dt.timedelta(days=may_24.weekday())  # the Monday on or before 24 May
    table: dict[str, list[tuple[dt.date, str]]] = {
        "FR": [
            (e + dt.timedelta(days=1), "Easter Monday"),
            (dt.date(year, 5, 8), "Victory in Europe Day"),
            (e + dt.timedelta(days=39), "Ascension Day"),
            (e + dt.timedelta(days=50), "Whit Monday"),
            (dt.date(year, 7, 14), "Bastille Day"),
            (dt.date(year, 8, 15), "Assumption Day"),
            (dt.date(year, 11, 1), "All Saints' Day"),
            (dt.date(year, 11, 11), "Armistice Day"),
        ],
        "GB": [
            (e + dt.timedelta(days=1), "Easter Monday"),
            (nth_weekday(year, 5, mon, -1), "Spring Bank Holiday"),
            (nth_weekday(year, 8, mon, -1), "Summer Bank Holiday"),
            (dt.date(year, 12, 26), "Boxing Day"),
        ],
        "US": [
            (nth_weekday(year, 5, mon, -1), "Memorial Day"),
            (dt.date(year, 6, 19), "Juneteenth"),
            (dt.date(year, 7, 4), "Independence Day"),
            (nth_weekday(year, 9, mon, 1), "Labor Day"),
            (nth_weekday(year, 11, thu, 4), "Thanksgiving Day"),
        ],
        "DE": [
            (e + dt.timedelta(days=1), "Ostermontag"),
            (e + dt.timedelta(days=39), "Christi Himmelfahrt"),
            (dt.date(year, 10, 3), "Tag der Deutschen Einheit"),
            (dt.date(year, 12, 26), "Zweiter Weihnachtstag"),
        ],
        "ES": [
            (dt.date(year, 8, 15), "Asunción"),
            (dt.date(year, 10, 12), "Fiesta Nacional"),
            (dt.date(year, 12, 8), "Inmaculada Concepción"),
        ],
        "CA": [
            (victoria, "Victoria Day"),
            (dt.date(year, 7, 1), "Canada Day"),
            (nth_weekday(year, 9, mon, 1), "Labour Day"),
            (nth_weekday(year, 10, mon, 2), "Thanksgiving"),
            (dt.date(year, 12, 26), "Boxing Day"),
        ],
    }
    return table.get(country, [])


def chain_days(year: int) -> list[tuple[dt.date, str, str]]:
    """Days set for every store at once (store_id left empty in the file)."""
    black_friday = nth_weekday(year, 11, 3, 4) + dt.timedelta(days=1)
    return [
        (dt.date(year, 1, 1), "New Year's Day", CLOSURE),
        (dt.date(year, 5, 1), "May Day", HOLIDAY),
        (black_friday, "Black Friday", PROMOTION),
        (dt.date(year, 12, 25), "Christmas Day", CLOSURE),
    ]


def store_closures(stores: list[Store], days: int) -> list[tuple[int, int, str]]:
    """Store-specific closures: a stocktake early on (inside even the small world) and a refit."""
    out = [(0, min(20, days - 1), "Stocktake")]
    if len(stores) > 3 and days > 203:
        out += [(3, 200, "Refurbishment"), (3, 201, "Refurbishment")]
    return out


def build_calendar(
    stores: list[Store], start: dt.date, days: int, rng: np.random.Generator
) -> CalendarPlan:
    """Holidays, chain days, closures and per-store promotions over the date range."""
    n = len(stores)
    end = start + dt.timedelta(days=days - 1)
    holiday = np.zeros((n, days), dtype=bool)
    promotion = np.zeros((n, days), dtype=bool)
    closed = np.zeros((n, days), dtype=bool)
    flags = {HOLIDAY: holiday, PROMOTION: promotion, CLOSURE: closed}
    rows: list[tuple[str, str | None, str, str]] = []

    def inside(day: dt.date) -> bool:
        return start <= day <= end

    for year in range(start.year, end.year + 1):
        for day, event, kind in chain_days(year):
            if inside(day):
                rows.append((day.isoformat(), None, event, kind))
                flags[kind][:, (day - start).days] = True
        for store in stores:
            for day, event in country_holidays(store.country, year):
                if inside(day):
                    rows.append((day.isoformat(), store.store_id, event, HOLIDAY))
                    holiday[store.index, (day - start).days] = True
    for s, d, event in store_closures(stores, days):
        day = start + dt.timedelta(days=d)
        rows.append((day.isoformat(), stores[s].store_id, event, CLOSURE))
        closed[s, d] = True

    promo_rows: list[tuple[str, str | None, str, str]] = []
    for store in stores:
        d = int(rng.integers(7, 25))
        while d < days:
            name = PROMOTION_NAMES[(start + dt.timedelta(days=d)).month]
            for k in range(d, min(d + 3, days)):
                day = start + dt.timedelta(days=k)
                promo_rows.append((day.isoformat(), store.store_id, name, PROMOTION))
                promotion[store.index, k] = True
            d += int(rng.integers(35, 57))

    schema = {"date": pl.Utf8, "store_id": pl.Utf8, "event": pl.Utf8, "kind": pl.Utf8}
    events = pl.DataFrame(rows, schema=schema, orient="row").unique(maintain_order=True)
    events = events.sort(["date", "store_id"], nulls_last=False, maintain_order=True)
    promotions = pl.DataFrame(promo_rows, schema=schema, orient="row").sort(
        ["date", "store_id"], maintain_order=True
    )
    return CalendarPlan(events, promotions, holiday, promotion, closed)
