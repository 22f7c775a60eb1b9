"""The store chain: sites, time zones, opening hours, cameras and the planted traffic shape.

Stores span several IANA time zones so the platform must read store-local timestamps in the right
zone. Each store also fixes its planted footfall parameters (base daily entries, hour-of-day
profile, conversion rate), which truth.json reports so later stages can be checked against them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

# (city, district, country, IANA zone)
SITES: tuple[tuple[str, str, str, str], ...] = (
    ("Paris", "Rivoli", "FR", "Europe/Paris"),
    ("London", "Oxford Street", "GB", "Europe/London"),
    ("New York", "SoHo", "US", "America/New_York"),
    ("Lyon", "Part-Dieu", "FR", "Europe/Paris"),
    ("Manchester", "Arndale", "GB", "Europe/London"),
    ("Boston", "Newbury Street", "US", "America/New_York"),
    ("Berlin", "Mitte", "DE", "Europe/Berlin"),
    ("Chicago", "The Loop", "US", "America/Chicago"),
    ("Madrid", "Gran Vía", "ES", "Europe/Madrid"),
    ("Toronto", "Queen Street", "CA", "America/Toronto"),
)
HOURS: tuple[tuple[int, int], ...] = ((9, 20), (10, 21), (9, 19), (10, 20), (8, 20))
BASE_FOOTFALL: tuple[float, ...] = (620.0, 540.0, 700.0, 480.0, 560.0)
CONVERSION: tuple[float, ...] = (0.22, 0.26, 0.24, 0.28, 0.21)
TWO_CAMERAS = ("door_main", "door_side")
TWO_CAMERA_SHARE = (0.62, 0.38)


@dataclass(frozen=True)
class Store:
    """One store and its planted traffic parameters."""

    index: int
    store_id: str
    name: str
    city: str
    country: str
    timezone: str
    opened_on: dt.date
    size_sqm: int
    open_hour: int  # local hour the doors open
    close_hour: int  # local hour the doors close (cameras keep counting one more hour)
    cameras: tuple[str, ...]
    camera_share: tuple[float, ...]
    base_daily_footfall: float
    conversion_rate: float
    hour_profile: np.ndarray  # 24 shares of a day's entries, zero outside opening hours

    def truth(self) -> dict:
        """The store's planted parameters as JSON-ready values."""
        return {
            "store_id": self.store_id,
            "name": self.name,
            "city": self.city,
            "country": self.country,
            "timezone": self.timezone,
            "opened_on": self.opened_on.isoformat(),
            "open_hour": self.open_hour,
            "close_hour": self.close_hour,
            "cameras": list(self.cameras),
            "camera_share": dict(zip(self.cameras, self.camera_share, strict=True)),
            "base_daily_footfall": round(self.base_daily_footfall, 3),
            "conversion_rate": self.conversion_rate,
            "hour_profile": [round(float(x), 6) for x in self.hour_profile],
        }


def hour_profile(open_hour: int, close_hour: int, rng: np.random.Generator) -> np.ndarray:
    """A lunch peak and an after-work peak of store-specific heights, over the opening hours."""
    hours = np.arange(24) + 0.5
    lunch = np.exp(-0.5 * ((hours - 12.75) / 1.3) ** 2)
    evening = np.exp(-0.5 * ((hours - 17.5) / 1.6) ** 2)
    profile = 0.35 + rng.uniform(0.4, 1.2) * lunch + rng.uniform(0.5, 1.4) * evening
    profile[:open_hour] = 0.0
    profile[close_hour:] = 0.0
    return profile / profile.sum()


def build_stores(n: int, start: dt.date, traffic: float, rng: np.random.Generator) -> list[Store]:
    """`n` stores cycling through the sites; every third store has a single door camera."""
    stores = []
    for i in range(n):
        city, district, country, tz = SITES[i % len(SITES)]
        suffix = f" {i // len(SITES) + 1}" if i >= len(SITES) else ""
        open_hour, close_hour = HOURS[i % len(HOURS)]
        one_camera = i % 3 == 2
        opened = start - dt.timedelta(days=int(rng.integers(400, 6000)))
        stores.append(
            Store(
                index=i,
                store_id=f"S{i + 1:03d}",
                name=f"{city} {district}{suffix}",
                city=city,
                country=country,
                timezone=tz,
                opened_on=opened,
                size_sqm=int(rng.integers(6, 30)) * 50,
                open_hour=open_hour,
                close_hour=close_hour,
                cameras=("door_main",) if one_camera else TWO_CAMERAS,
                camera_share=(1.0,) if one_camera else TWO_CAMERA_SHARE,
                base_daily_footfall=BASE_FOOTFALL[i % len(BASE_FOOTFALL)] * traffic,
                conversion_rate=CONVERSION[i % len(CONVERSION)],
                hour_profile=hour_profile(open_hour, close_hour, rng),
            )
        )
    return stores


def stores_frame(stores: list[Store]) -> pl.DataFrame:
    """The stores file; `country` and `size_sqm` are extra columns the contract ignores."""
    return pl.DataFrame(
        {
            "store_id": [s.store_id for s in stores],
            "name": [s.name for s in stores],
            "city": [s.city for s in stores],
            "timezone": [s.timezone for s in stores],
            "opened_on": [s.opened_on.isoformat() for s in stores],
            "country": [s.country for s in stores],
            "size_sqm": [s.size_sqm for s in stores],
        }
    )
