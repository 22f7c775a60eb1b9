"""RFID: tagged fashion items, their journeys through the store, and the readers' bursts.

A journey starts when a shopper picks an item up at its shelf zone, may pass through the fitting
room, and ends either at the checkout (then the item is on a transaction line of the same store a
few seconds later) or back on its shelf. While an item sits in a zone its reader reports it at a
fixed interval, so dwell per zone can be measured as last read - first read. Journeys of bought
items are derived from the actual sale lines, which ties the RFID and till sources together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from .catalogue import CATEGORIES, Catalogue
from .clock import MS_PER_DAY, format_local, local_datetimes
from .footfall import Visitors
from .stores import Store

FASHION = [c for c in CATEGORIES if c.fashion]
ZONES = [c.shelf_zone for c in FASHION] + ["fitting_room", "checkout"]
FITTING, CHECKOUT = len(FASHION), len(FASHION) + 1
KINDS = ("shelf", "fitting_room", "checkout")
MEAN_DWELL_S = {"shelf": 30.0, "fitting_room": 420.0, "checkout": 45.0}
READ_INTERVAL_S = {"shelf": 10.0, "fitting_room": 60.0, "checkout": 15.0}
RSSI_MEAN = {"shelf": -62.0, "fitting_room": -70.0, "checkout": -48.0}
RSSI_SD = 4.0
DWELL_SHAPE = 2.5  # gamma shape of a dwell: a mode above zero, a long right tail
PUT_BACK_RATE = 0.05  # share of visitors who pick up an item and put it back
STOCK_TAGS = 3  # tagged display units per fashion product and store (never sold)
SALE_GAP_S = (10, 60)  # seconds from leaving the checkout zone to the receipt's sold_at


@dataclass
class Reads:
    """Reads as arrays, sorted by time; text is only made per slice (one month at a time),
    which keeps the memory of a large store's millions of reads in check."""

    store_id: str
    start: dt.date
    epcs: pl.Series
    at_ms: np.ndarray  # ms after local midnight of the start date
    tag: np.ndarray
    zone: np.ndarray
    rssi: np.ndarray
    day: np.ndarray

    def frame(self, lo: int, hi: int) -> pl.DataFrame:
        """The file columns for rows lo:hi."""
        zone = self.zone[lo:hi]
        n = hi - lo
        readers = [f"{self.store_id}-{z.upper().replace('_', '-')}-R1" for z in ZONES]
        return pl.DataFrame(
            {
                "read_at": format_local(
                    local_datetimes(self.start, np.zeros(n, np.int64), self.at_ms[lo:hi]),
                    millis=True,
                ),
                "store_id": pl.Series([self.store_id]).gather(np.zeros(n, np.int64)),
                "reader_id": pl.Series(readers).gather(zone),
                "zone": pl.Series(ZONES).gather(zone),
                "epc": self.epcs.gather(self.tag[lo:hi]),
                "rssi": self.rssi[lo:hi],
            }
        )


@dataclass
class RfidResult:
    """One store's tags, reads and journey counts."""

    tags: pl.DataFrame
    reads: Reads
    journeys: dict[str, int]
    dwell_sum_s: dict[str, float]
    stays: dict[str, int]


def zone_kind(zone: np.ndarray) -> np.ndarray:
    """0 shelf, 1 fitting room, 2 checkout."""
    return np.where(zone == FITTING, 1, np.where(zone == CHECKOUT, 2, 0))


def epc_codes(store: Store, sku: np.ndarray, serial: np.ndarray) -> list[str]:
    """24 hex digits: a header, the store, the product and a serial (unique by construction)."""
    return [
        f"3034{store.index % 256:02X}{int(k):04X}{int(s):014X}"
        for k, s in zip(sku, serial, strict=True)
    ]


def simulate_rfid(
    store: Store,
    catalogue: Catalogue,
    sale_day: np.ndarray,
    sale_ms: np.ndarray,
    sale_sku: np.ndarray,
    visitors: Visitors,
    start: dt.date,
    days: int,
    rng: np.random.Generator,
) -> RfidResult:
    """Journeys for every fashion sale line plus put-back journeys, expanded into reads."""
    fashion_idx = np.flatnonzero(
        np.isin(catalogue.category, [i for i, c in enumerate(CATEGORIES) if c.fashion])
    )
    shelf_of_cat = {i: FASHION.index(c) for i, c in enumerate(CATEGORIES) if c.fashion}
    try_on = np.array([c.try_on for c in CATEGORIES])

    # Tags: display units first, then one per sold line.
    stock_sku = np.repeat(fashion_idx, STOCK_TAGS)
    stock_serial = np.tile(np.arange(STOCK_TAGS), fashion_idx.size)
    order = np.argsort(sale_sku, kind="stable")
    rank = np.empty(sale_sku.size, dtype=np.int64)
    sorted_sku = sale_sku[order]
    rank[order] = np.arange(sale_sku.size) - np.searchsorted(sorted_sku, sorted_sku, side="left")
    tag_sku = np.concatenate([stock_sku, sale_sku])
    tag_serial = np.concatenate([stock_serial, 100 + rank])
    epcs = pl.Series(epc_codes(store, tag_sku, tag_serial))

    # Put-back journeys start from some visitors a few minutes after they enter.
    pb = np.flatnonzero(rng.random(visitors.day.size) < PUT_BACK_RATE)
    pop = catalogue.popularity[fashion_idx] / catalogue.popularity[fashion_idx].sum()
    pb_f = rng.choice(fashion_idx.size, size=pb.size, p=pop)
    pb_tag = pb_f * STOCK_TAGS + rng.integers(0, STOCK_TAGS, pb.size)
    pb_sku = fashion_idx[pb_f]

    nb, npb = sale_sku.size, pb.size
    j_day = np.concatenate([sale_day, visitors.day[pb]]).astype(np.int64)
    j_tag = np.concatenate([stock_sku.size + np.arange(nb), pb_tag])
    j_sku = np.concatenate([sale_sku, pb_sku])
    j_bought = np.concatenate([np.ones(nb, bool), np.zeros(npb, bool)])
    j_tried = rng.random(nb + npb) < try_on[catalogue.category[j_sku]]
    j_shelf = np.array([shelf_of_cat[c] for c in catalogue.category[j_sku]], dtype=np.int64)

    def dwell(kind: str, n: int) -> np.ndarray:
        mean = MEAN_DWELL_S[kind]
        return (rng.gamma(DWELL_SHAPE, mean / DWELL_SHAPE, n) * 1000).astype(np.int64)

    n = nb + npb
    d_shelf, d_fit, d_last = dwell("shelf", n), dwell("fitting_room", n), dwell("shelf", n)
    d_check = dwell("checkout", n)
    gap1, gap2 = (rng.integers(15_000, 90_000, n) for _ in range(2))
    # Bought: anchored at the sale and laid out backwards.
    c_end = np.concatenate([sale_ms, np.zeros(npb, np.int64)]) - rng.integers(
        SALE_GAP_S[0] * 1000, SALE_GAP_S[1] * 1000, n
    )
    c_start = c_end - d_check
    f_start_b = c_start - gap2 - d_fit
    s_start_b = np.where(j_tried, f_start_b, c_start) - gap1 - d_shelf
    # Put back: anchored at the pick-up and laid out forwards.
    pick = np.concatenate(
        [
            np.zeros(nb, np.int64),
            (visitors.entry[pb].astype(np.int64) + rng.integers(60, 600, npb)) * 1000,
        ]
    )
    f_start_p = pick + d_shelf + gap1
    back = np.where(j_tried, f_start_p + d_fit, pick + d_shelf) + gap2

    s_start = np.where(j_bought, s_start_b, pick)
    f_start = np.where(j_bought, f_start_b, f_start_p)
    parts = [
        (np.arange(n), j_shelf, s_start, d_shelf),
        (
            np.flatnonzero(j_tried),
            np.full(int(j_tried.sum()), FITTING),
            f_start[j_tried],
            d_fit[j_tried],
        ),
        (np.flatnonzero(j_bought), np.full(nb, CHECKOUT), c_start[j_bought], d_check[j_bought]),
        (np.flatnonzero(~j_bought), j_shelf[~j_bought], back[~j_bought], d_last[~j_bought]),
    ]
    st_j = np.concatenate([p[0] for p in parts])
    st_zone = np.concatenate([p[1] for p in parts]).astype(np.int64)
    st_start = np.concatenate([p[2] for p in parts])
    st_dwell = np.concatenate([p[3] for p in parts])
    kind = zone_kind(st_zone)
    interval = (np.array([READ_INTERVAL_S[k] for k in KINDS]) * 1000).astype(np.int64)[kind]
    n_reads = st_dwell // interval + 1

    rd_stay = np.repeat(np.arange(st_j.size), n_reads)
    first = np.cumsum(n_reads) - n_reads
    k = np.arange(rd_stay.size) - first[rd_stay]
    jitter = rng.integers(0, 500, rd_stay.size)
    rd_ms = st_start[rd_stay] + k * interval[rd_stay] + jitter
    rd_abs = j_day[st_j[rd_stay]] * MS_PER_DAY + rd_ms
    measured = (n_reads - 1) * interval + jitter[first + n_reads - 1] - jitter[first]

    rssi_mean = np.array([RSSI_MEAN[k] for k in KINDS])[kind[rd_stay]]
    rssi = np.clip(rssi_mean + rng.normal(0, RSSI_SD, rd_stay.size), -98, -30).round(1)
    rd_tag = j_tag[st_j[rd_stay]]
    rd_zone = st_zone[rd_stay]
    del rssi_mean, rd_ms, k, jitter
    order = np.lexsort((rd_zone, rd_tag, rd_abs))
    rd_abs, rd_tag, rd_zone, rssi = rd_abs[order], rd_tag[order], rd_zone[order], rssi[order]
    # A display tag on two overlapping journeys could be read twice in the same millisecond:
    # keep one, since an identical line is a delivery error the loader quarantines.
    repeat = np.r_[False, (np.diff(rd_abs) == 0) & (np.diff(rd_tag) == 0) & (np.diff(rd_zone) == 0)]
    keep = ~repeat
    reads = Reads(
        store.store_id,
        start,
        epcs,
        rd_abs[keep],
        rd_tag[keep],
        rd_zone[keep].astype(np.int8),
        rssi[keep],
        np.clip(rd_abs[keep] // MS_PER_DAY, 0, days - 1).astype(np.int32),
    )

    tags = pl.DataFrame(
        {
            "epc": epcs,
            "sku": catalogue.skus.gather(tag_sku),
            "store_id": pl.Series([store.store_id]).gather(np.zeros(tag_sku.size, np.int64)),
        }
    )
    journeys = {
        "bought": int(nb),
        "bought_tried_on": int(j_tried[:nb].sum()),
        "put_back": int(npb),
        "put_back_tried_on": int(j_tried[nb:].sum()),
    }
    return RfidResult(
        tags=tags,
        reads=reads,
        journeys=journeys,
        dwell_sum_s={KINDS[i]: float(measured[kind == i].sum()) / 1000 for i in range(3)},
        stays={KINDS[i]: int((kind == i).sum()) for i in range(3)},
    )
