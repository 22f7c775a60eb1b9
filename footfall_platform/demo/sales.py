"""Till transactions: receipts from the simulated visitors, baskets from the planted habits.

Every buyer among a store's visitors makes one receipt during their stay, so receipts per hour
follow footfall through the store's planted conversion rate. Baskets follow the segment of the
member (or the anonymous profile), a share of each member's lines comes from their planted
taste (tastes.py), planted pairs add their partner item with a known probability, and returners
bring back one or two items (negative quantities).

Each receipt holds distinct products, so no two lines of a file are identical by chance: an
identical line is a delivery error the platform quarantines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from .catalogue import CATEGORIES, Catalogue
from .clock import day_strings, format_local, format_utc, local_datetimes
from .footfall import Visitors
from .people import ANONYMOUS_MEAN_LINES, SEGMENTS, MemberPicker, Members
from .stores import Store
from .tastes import Tastes, taste_lines

MEMBER_SHARE = 0.60  # share of receipts scanned with a loyalty card
RETURN_RATE = 0.04  # return receipts per sale receipt
AWAY_SHARE = 0.10  # member receipts made by members of another store
PROMO_DISCOUNT = 0.20  # share of the line amount taken off a discounted line
PROMO_LINE_SHARE = 0.50  # share of lines discounted on a promotion day
MAX_LINES = 12


@dataclass
class StoreSales:
    """A store's transaction lines (file columns plus `day`) and what later stages need."""

    frame: pl.DataFrame
    fashion_day: np.ndarray  # sale lines of fashion products, for the RFID journeys
    fashion_ms: np.ndarray  # sold_at, ms after local midnight
    fashion_sku: np.ndarray
    receipts_by_profile: np.ndarray  # sale receipts per profile (0 anonymous, 1.. segments)
    lines_by_profile: np.ndarray
    amount_by_profile: np.ndarray
    sale_receipts: int
    return_receipts: int
    member_receipts: int
    return_lines: int
    discounted_lines: int
    pair_counts: np.ndarray  # per planted pair: receipts with a, with b, with both
    member_sale_lines: int
    taste_sale_lines: int  # member sale lines of a product of the member's taste
    launch_lines: np.ndarray  # sale lines per launched product


def profile_weights(catalogue: Catalogue) -> np.ndarray:
    """Product demand per basket profile: anonymous first, then one row per segment."""
    tilts = [0.0] + [s.price_tilt for s in SEGMENTS]
    return np.stack([catalogue.weights(t) for t in tilts])


def quantities(catalogue: Catalogue, sku: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mostly one of a kind; consumables (grocery, beauty) often several."""
    bulk = np.array([CATEGORIES[c].bulk for c in catalogue.all_category])[sku]
    single = rng.choice(np.array([1, 2, 3]), size=sku.size, p=[0.9, 0.08, 0.02])
    several = np.minimum(1 + rng.poisson(0.6, sku.size), 6)
    return np.where(bulk, several, single).astype(np.int64)


def simulate_sales(
    store: Store,
    visitors: Visitors,
    promo_day: np.ndarray,
    catalogue: Catalogue,
    members: Members,
    picker: MemberPicker,
    weights: np.ndarray,
    tastes: Tastes,
    start: dt.date,
    utc_till: bool,
    rng: np.random.Generator,
    taste_rng: np.random.Generator,
) -> StoreSales:
    """Receipts and lines for one store over the whole range."""
    days = promo_day.size
    n_base = catalogue.category.size  # products.csv: what the catalogue draws choose from
    n_prod = catalogue.n_all  # plus the launches: the sale indices of lines

    # Receipts: one per buyer and per returner, at a moment during their stay.
    b, r = np.flatnonzero(visitors.buyer), np.flatnonzero(visitors.returner)
    stay = (visitors.exit - visitors.entry).astype(np.float64)
    sale_ms = (visitors.entry[b] + stay[b] * rng.uniform(0.5, 0.95, b.size)) * 1000
    ret_ms = (visitors.entry[r] + stay[r] * rng.uniform(0.2, 0.6, r.size)) * 1000
    rc_day = np.concatenate([visitors.day[b], visitors.day[r]]).astype(np.int64)
    rc_ms = np.concatenate([sale_ms, ret_ms]).astype(np.int64) // 1000 * 1000
    rc_ret = np.concatenate([np.zeros(b.size, bool), np.ones(r.size, bool)])
    order = np.lexsort((rc_ret, rc_ms, rc_day))
    rc_day, rc_ms, rc_ret = rc_day[order], rc_ms[order], rc_ret[order]
    n_rc = rc_day.size
    seq = np.arange(n_rc) - np.searchsorted(rc_day, rc_day, side="left") + 1

    # Who: a member (segment habits) or anonymous.
    member = np.full(n_rc, -1, dtype=np.int64)
    is_member = rng.random(n_rc) < MEMBER_SHARE
    away = rng.random(n_rc) < AWAY_SHARE
    for group, mask in (
        (store.index, is_member & ~away),
        (len(picker.groups) - 1, is_member & away),
    ):
        member[mask] = picker.pick(group, rc_day[mask], promo_day[rc_day[mask]], rng)
    missing = is_member & (member < 0)  # nobody of the home group active: try the whole chain
    member[missing] = picker.pick(
        len(picker.groups) - 1, rc_day[missing], promo_day[rc_day[missing]], rng
    )
    profile = np.where(member >= 0, members.segment[np.maximum(member, 0)] + 1, 0)

    # Basket sizes and products.
    mean_lines = np.array([ANONYMOUS_MEAN_LINES] + [s.mean_lines for s in SEGMENTS])
    n_lines = np.where(
        rc_ret,
        1 + (rng.random(n_rc) < 0.1),
        np.minimum(1 + rng.poisson(mean_lines[profile] - 1), MAX_LINES),
    )
    l_rc = np.repeat(np.arange(n_rc), n_lines)
    l_prof = np.where(rc_ret[l_rc], 0, profile[l_rc])
    l_sku = np.empty(l_rc.size, dtype=np.int64)
    for p in range(weights.shape[0]):
        m = l_prof == p
        l_sku[m] = rng.choice(n_base, size=int(m.sum()), p=weights[p])
    l_member = np.where(rc_ret[l_rc], -1, member[l_rc])
    from_taste, taste_sku = taste_lines(
        tastes, catalogue, weights, l_member, l_prof, rc_day[l_rc], taste_rng
    )
    l_sku = np.where(from_taste, taste_sku, l_sku)
    keys = np.unique(l_rc * n_prod + l_sku)  # one line per product per receipt

    extra = []
    for pair in catalogue.pairs:
        k_rc, k_sku = keys // n_prod, keys % n_prod
        hit = (k_sku == pair.a) & ~rc_ret[k_rc] & (rng.random(keys.size) < pair.probability)
        extra.append(k_rc[hit] * n_prod + pair.b)
    keys = np.unique(np.concatenate([keys, *extra]))
    l_rc, l_sku = keys // n_prod, keys % n_prod
    l_day = rc_day[l_rc]
    l_ret = rc_ret[l_rc]

    qty = quantities(catalogue, l_sku, rng)
    qty = np.where(l_ret, -np.minimum(qty, 1 + (rng.random(qty.size) < 0.08)), qty)
    price = catalogue.price_on(l_day, l_sku)
    discounted = promo_day[l_day] & ~l_ret & (rng.random(qty.size) < PROMO_LINE_SHARE)
    discount = np.where(discounted, np.round(PROMO_DISCOUNT * qty * price, 2), 0.0)

    stamps = local_datetimes(start, l_day, rc_ms[l_rc])
    sold_at = format_utc(stamps, store.timezone) if utc_till else format_local(stamps)
    ymd = day_strings(start, days, "%Y%m%d")
    frame = pl.DataFrame(
        {
            "_ymd": ymd.gather(l_day),
            "_seq": seq[l_rc],
            "sold_at": sold_at,
            "_member": member[l_rc],
            "_member_id": members.ids.gather(np.maximum(member[l_rc], 0)),
            "sku": catalogue.all_skus.gather(l_sku),
            "quantity": qty,
            "unit_price": price,
            "discount": discount,
            "day": l_day.astype(np.int32),
        }
    ).select(
        pl.concat_str(
            pl.lit(store.store_id + "-"),
            "_ymd",
            pl.lit("-"),
            pl.col("_seq").cast(pl.Utf8).str.zfill(5),
        ).alias("receipt_id"),
        pl.lit(store.store_id).alias("store_id"),
        "sold_at",
        pl.when(pl.col("_member") >= 0).then(pl.col("_member_id")).alias("member_id"),
        "sku",
        "quantity",
        "unit_price",
        "discount",
        "day",
    )

    sale = ~rc_ret
    n_profiles = weights.shape[0]
    amount = qty * price - discount
    sale_line = ~l_ret
    fashion = np.array([CATEGORIES[c].fashion for c in catalogue.all_category])[l_sku] & sale_line
    pair_counts = np.zeros((len(catalogue.pairs), 3), dtype=np.int64)
    for i, pair in enumerate(catalogue.pairs):
        has_a = np.zeros(n_rc, bool)
        has_b = np.zeros(n_rc, bool)
        has_a[l_rc[(l_sku == pair.a) & sale_line]] = True
        has_b[l_rc[(l_sku == pair.b) & sale_line]] = True
        pair_counts[i] = (has_a.sum(), has_b.sum(), (has_a & has_b).sum())
    l_owner = member[l_rc]
    member_sale = sale_line & (l_owner >= 0)
    product_taste = tastes.taste_of_product(catalogue)[l_sku]
    in_taste = member_sale & (product_taste == tastes.of_member[np.maximum(l_owner, 0)])
    launched = catalogue.launched
    return StoreSales(
        frame=frame,
        fashion_day=l_day[fashion],
        fashion_ms=rc_ms[l_rc][fashion],
        fashion_sku=l_sku[fashion],
        receipts_by_profile=np.bincount(profile[sale], minlength=n_profiles),
        lines_by_profile=np.bincount(profile[l_rc][sale_line], minlength=n_profiles),
        amount_by_profile=np.bincount(
            profile[l_rc][sale_line], weights=amount[sale_line], minlength=n_profiles
        ),
        sale_receipts=int(sale.sum()),
        return_receipts=int(rc_ret.sum()),
        member_receipts=int((member >= 0).sum()),
        return_lines=int(l_ret.sum()),
        discounted_lines=int(discounted.sum()),
        pair_counts=pair_counts,
        member_sale_lines=int(member_sale.sum()),
        taste_sale_lines=int(in_taste.sum()),
        launch_lines=np.bincount(l_sku[sale_line], minlength=catalogue.n_all)[launched],
    )
