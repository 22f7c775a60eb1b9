"""Loyalty members: fake personal data, planted segments and who shops when.

Names, emails, phones and birth dates are fake but shaped like the real thing, because the
platform must drop them on the way in. Each member belongs to one planted segment with its own
habits; segmentation models should rediscover these groups, so truth.json lists every member's
segment by member_id.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

import numpy as np
import polars as pl

from .stores import Store
from .words import EMAIL_DOMAINS, FIRST_NAMES, GENDER_SHARES, GENDER_SPELLINGS, LAST_NAMES


@dataclass(frozen=True)
class Segment:
    """A planted customer segment and the habits that make it recognisable."""

    name: str
    share: float  # share of members
    receipt_rate: float  # relative receipts per member per day while active
    promo_boost: float  # receipt-rate multiplier on the member's store's promotion days
    mean_lines: float  # mean distinct products per receipt
    price_tilt: float  # > 0 prefers dear products, < 0 cheap ones
    description: str

    def truth(self) -> dict:
        return {
            "share_of_members": self.share,
            "relative_receipt_rate": self.receipt_rate,
            "promotion_day_boost": self.promo_boost,
            "mean_lines_per_receipt": self.mean_lines,
            "price_tilt": self.price_tilt,
            "description": self.description,
        }


SEGMENTS: tuple[Segment, ...] = (
    Segment(
        "vip",
        0.08,
        8.0,
        1.0,
        4.2,
        0.8,
        "frequent high spenders: many visits, big baskets, dear products",
    ),
    Segment("regular", 0.32, 2.0, 1.0, 3.0, 0.0, "steady customers with average baskets"),
    Segment(
        "bargain",
        0.25,
        1.0,
        5.0,
        1.8,
        -0.8,
        "occasional bargain hunters: small cheap baskets, mostly on promotion days",
    ),
    Segment(
        "lapsed",
        0.20,
        2.0,
        1.0,
        2.6,
        0.0,
        "active at first, then never again after their lapse date",
    ),
    Segment("new", 0.15, 2.5, 1.0, 2.4, 0.0, "joined during the period; buy only after joining"),
)
SEGMENT_INDEX = {s.name: i for i, s in enumerate(SEGMENTS)}
ANONYMOUS_MEAN_LINES = 2.3
NEVER = 1 << 30  # a lapse day after every simulated day


@dataclass
class Members:
    """Members as arrays (index = row of the members file)."""

    ids: pl.Series
    segment: np.ndarray  # index into SEGMENTS
    home_store: np.ndarray
    join_day: np.ndarray  # day index of joined_on (negative: before the start)
    lapse_day: np.ndarray  # first day index the member no longer shops (NEVER if active)
    frame: pl.DataFrame
    gender_codes: dict[str, int]


def ascii_fold(text: str) -> str:
    """Email-safe form of a name: accents dropped, letters only, lower case."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalpha())


def phone_number(country: str, r: np.ndarray) -> str:
    """A number in the fictional ranges of each country (never a real subscriber)."""
    a, b, c, d = (int(x) for x in r)
    if country == "FR":
        return f"+33 6 39 98 {a % 100:02d} {b % 100:02d}"
    if country == "GB":
        return f"07700 900{c % 1000:03d}"
    if country == "DE":
        return f"+49 30 {c:04d}{d % 1000:03d}"
    if country == "ES":
        return f"+34 600 {a:03d} {b:03d}"
    return f"+1 ({200 + a % 700:03d}) 555-01{b % 100:02d}"


def build_members(
    n: int, stores: list[Store], start: dt.date, days: int, rng: np.random.Generator
) -> Members:
    """`n` members with segments, home stores and fake personal fields."""
    shares = np.array([s.share for s in SEGMENTS])
    segment = rng.choice(len(SEGMENTS), size=n, p=shares / shares.sum())
    weight = np.array([s.base_daily_footfall for s in stores])
    home = rng.choice(len(stores), size=n, p=weight / weight.sum())

    join_day = -rng.integers(30, 3650, size=n)
    is_new = segment == SEGMENT_INDEX["new"]
    join_day[is_new] = rng.integers(int(days * 0.05), max(int(days * 0.85), 2), size=is_new.sum())
    lapse_day = np.full(n, NEVER, dtype=np.int64)
    is_lapsed = segment == SEGMENT_INDEX["lapsed"]
    lapse_day[is_lapsed] = rng.integers(
        max(int(days * 0.15), 1), max(int(days * 0.5), 2), size=is_lapsed.sum()
    )

    first = rng.integers(len(FIRST_NAMES), size=n)
    last = rng.integers(len(LAST_NAMES), size=n)
    domain = rng.integers(len(EMAIL_DOMAINS), size=n)
    phone_r = rng.integers(0, 1000, size=(n, 4))
    no_birth = rng.random(n) < 0.03
    birth_offset = rng.integers(0, (dt.date(2007, 12, 31) - dt.date(1945, 1, 1)).days, size=n)
    codes = list(GENDER_SHARES)
    gender = rng.choice(len(codes), size=n, p=list(GENDER_SHARES.values()))
    spelling = rng.integers(0, 60, size=n)
    away = rng.random(n) < 0.15
    away_city = rng.integers(len(stores), size=n)

    ids, names, emails, phones, births, genders, cities, joined = ([] for _ in range(8))
    for i in range(n):
        fn, ln = FIRST_NAMES[first[i]], LAST_NAMES[last[i]]
        ids.append(f"LC{1_000_000 + i * 7 + 3:08d}")
        names.append(f"{fn} {ln}")
        emails.append(f"{ascii_fold(fn)}.{ascii_fold(ln)}{i}@{EMAIL_DOMAINS[domain[i]]}")
        phones.append(phone_number(stores[home[i]].country, phone_r[i]))
        births.append(
            None
            if no_birth[i]
            else (dt.date(1945, 1, 1) + dt.timedelta(days=int(birth_offset[i]))).isoformat()
        )
        spellings = GENDER_SPELLINGS[codes[gender[i]]]
        g = spellings[spelling[i] % len(spellings)]
        genders.append(g or None)
        cities.append(stores[away_city[i] if away[i] else home[i]].city)
        joined.append((start + dt.timedelta(days=int(join_day[i]))).isoformat())
    frame = pl.DataFrame(
        {
            "member_id": ids,
            "full_name": names,
            "email": emails,
            "phone": phones,
            "birth_date": births,
            "gender": genders,
            "city": cities,
            "joined_on": joined,
        },
        schema={
            c: pl.Utf8
            for c in (
                "member_id",
                "full_name",
                "email",
                "phone",
                "birth_date",
                "gender",
                "city",
                "joined_on",
            )
        },
    )
    gender_counts = np.bincount(gender, minlength=len(codes))
    return Members(
        ids=frame["member_id"],
        segment=segment,
        home_store=home,
        join_day=join_day,
        lapse_day=lapse_day,
        frame=frame,
        gender_codes={c: int(k) for c, k in zip(codes, gender_counts, strict=True)},
    )


class MemberPicker:
    """Chooses which member made a member receipt, honouring segments and activity dates.

    For each store (and for the whole chain, for members shopping away from home) members are
    grouped by segment and sorted by the date that bounds their activity, so the members active
    on a day are a contiguous slice found with a binary search: no per-receipt Python loop.
    """

    def __init__(self, members: Members, n_stores: int, days: int) -> None:
        self.days = days
        self.groups: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = []
        for g in range(n_stores + 1):
            in_group = (
                np.ones(members.segment.size, bool) if g == n_stores else (members.home_store == g)
            )
            per_seg = []
            for si, seg in enumerate(SEGMENTS):
                idx = np.flatnonzero(in_group & (members.segment == si))
                key = members.lapse_day[idx] if seg.name == "lapsed" else members.join_day[idx]
                order = np.argsort(key, kind="stable")
                idx, key = idx[order], key[order]
                d = np.arange(days)
                if seg.name == "lapsed":  # active while day < lapse_day
                    lo = np.searchsorted(key, d, side="right")
                    hi = np.full(days, idx.size)
                else:  # active once joined (join_day <= day)
                    lo = np.zeros(days, dtype=np.int64)
                    hi = np.searchsorted(key, d, side="right")
                per_seg.append((idx, lo, hi))
            self.groups.append(per_seg)

    def pick(
        self, group: int, day: np.ndarray, promo_day: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """A member index per receipt (day, promotion flag of that day); -1 if nobody is active."""
        per_seg = self.groups[group]
        rate = np.array([s.receipt_rate for s in SEGMENTS])
        boost = np.array([s.promo_boost for s in SEGMENTS])
        active = np.stack([hi - lo for _, lo, hi in per_seg], axis=1)  # days x segments
        w = active[day] * rate[None, :] * np.where(promo_day[:, None], boost[None, :], 1.0)
        total = w.sum(axis=1)
        cum = np.cumsum(w, axis=1) / np.maximum(total, 1e-12)[:, None]
        seg = np.minimum((rng.random(day.size)[:, None] > cum).sum(axis=1), len(SEGMENTS) - 1)
        out = np.full(day.size, -1, dtype=np.int64)
        u = rng.random(day.size)
        for si, (idx, lo, hi) in enumerate(per_seg):
            m = (seg == si) & (hi[day] > lo[day])
            if not m.any():
                continue
            lo_d, hi_d = lo[day[m]], hi[day[m]]
            pos = lo_d + np.floor(u[m] * (hi_d - lo_d)).astype(np.int64)
            out[m] = idx[np.minimum(pos, hi_d - 1)]
        return out
