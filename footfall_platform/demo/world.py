"""The entry point: a whole landing zone of a store chain with its planted truths.

`generate_world` draws the chain, calendar, catalogue and members, then simulates each store in
turn (visitors -> camera counts, receipts, RFID journeys), writing one file per store and month
for the fact sources so memory stays bounded by one store. Everything planted is written to
`truth.json` beside `landing/`, so every later stage can be checked against known answers.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from . import randomness as rnd
from .bad_inputs import BadInputs, duplicate_lines, record, write_bad_inputs
from .catalogue import Catalogue, build_catalogue
from .clock import month_of_day, uneven_days
from .events import CalendarPlan, build_calendar
from .footfall import FootfallPlan, Spike, Visitors, camera_counts, simulate_visitors
from .people import MemberPicker, Members, build_members
from .rfid import simulate_rfid
from .sales import RETURN_RATE, profile_weights, simulate_sales
from .stores import Store, build_stores, stores_frame
from .tastes import Tastes, build_tastes
from .truth import Tally, assemble_truth
from .writers import Landing

DEFAULT_START = dt.date(2025, 5, 1)


@dataclass(frozen=True)
class Scale:
    """Size of a world; `traffic` multiplies every store's base daily footfall."""

    stores: int
    days: int
    members: int
    products: int
    traffic: float


SCALES: dict[str, Scale] = {
    "small": Scale(stores=3, days=90, members=400, products=120, traffic=0.45),
    "demo": Scale(stores=5, days=548, members=20_000, products=300, traffic=0.9),
    "large": Scale(stores=20, days=548, members=200_000, products=400, traffic=2.5),
}


@dataclass(frozen=True)
class Roles:
    """Which store carries which special behaviour (chosen so even 3 stores show them all)."""

    outage_store: int
    hourly_store: int  # cameras send hourly periods
    daily_file_store: int  # its first month of camera counts uses whole-day periods
    utc_till_store: int  # till sends UTC timestamps with a Z
    spike_store: int
    camera_gz_store: int
    transactions_gz_store: int
    rfid_stores: tuple[int, ...]  # the first writes Parquet reads, the second .csv.gz

    @classmethod
    def for_chain(cls, n: int) -> Roles:
        n_rfid = min(4, max(min(2, n), round(0.4 * n)))  # RFID is piloted in a few stores
        return cls(0, 1 % n, 2 % n, 2 % n, 1 % n, 1 % n, n - 1, tuple(range(n_rfid)))


@dataclass
class Plan:
    """Everything decided before simulating the stores."""

    seed: int
    scale: str
    start: dt.date
    days: int
    roles: Roles
    chain: list[Store]
    calendar: CalendarPlan
    footfall: FootfallPlan
    expected: np.ndarray  # expected entries, stores x days
    outage_camera: str
    outage_days: list[int]
    catalogue: Catalogue
    people: Members
    tastes: Tastes
    months: np.ndarray  # YYYY-MM per day index

    @property
    def month_list(self) -> list[str]:
        return list(dict.fromkeys(self.months.tolist()))


def month_slices(day: np.ndarray, months: np.ndarray) -> list[tuple[str, int, int]]:
    """(month, first row, end row) of a frame sorted by day index."""
    out = []
    bounds = np.flatnonzero(np.r_[True, months[1:] != months[:-1]])
    for k, d0 in enumerate(bounds):
        d1 = bounds[k + 1] if k + 1 < bounds.size else months.size
        lo, hi = np.searchsorted(day, d0), np.searchsorted(day, d1)
        if hi > lo:
            out.append((str(months[d0]), int(lo), int(hi)))
    return out


def quiet_day(target: int, days: int, blocked: np.ndarray) -> int:
    """The first day from `target` without a calendar event."""
    d = min(target, days - 1)
    while d < days - 1 and blocked[d]:
        d += 1
    return d


def make_plan(scale: str, n_stores: int, n_days: int, n_members: int, seed: int,
              start: dt.date) -> Plan:  # fmt: skip
    """Draw the chain, calendar, anomalies, catalogue and members."""
    sc = SCALES[scale]
    roles = Roles.for_chain(n_stores)
    chain = build_stores(n_stores, start, sc.traffic, rnd.rng_for(seed, rnd.STORES))
    calendar = build_calendar(chain, start, n_days, rnd.rng_for(seed, rnd.CALENDAR))
    blocked = calendar.closed | calendar.holiday | calendar.promotion
    spike_day = quiet_day(int(n_days * 0.62), n_days, blocked[roles.spike_store])
    footfall = FootfallPlan(spikes=[Spike(roles.spike_store, spike_day, 3.0)])
    outage_first = min(int(n_days * 0.45), max(n_days - 5, 0))
    catalogue = build_catalogue(sc.products, n_days, rnd.rng_for(seed, rnd.CATALOGUE))
    return Plan(
        seed=seed,
        scale=scale,
        start=start,
        days=n_days,
        roles=roles,
        chain=chain,
        calendar=calendar,
        footfall=footfall,
        expected=footfall.expected(chain, calendar, start, n_days),
        outage_camera=chain[roles.outage_store].cameras[-1],
        outage_days=list(range(outage_first, min(outage_first + 5, n_days))),
        catalogue=catalogue,
        people=build_members(n_members, chain, start, n_days, rnd.rng_for(seed, rnd.MEMBERS)),
        tastes=build_tastes(n_members, catalogue, rnd.rng_for(seed, rnd.TASTES)),
        months=month_of_day(start, n_days),
    )


def generate_world(
    out: Path,
    *,
    scale: str = "demo",
    stores: int | None = None,
    days: int | None = None,
    members: int | None = None,
    seed: int = 7,
    start: dt.date | None = None,
    bad_inputs: bool = True,
    video: bool = True,
) -> dict:
    """Write `out/landing/<source>/...` and `out/truth.json`; return the truth dict.

    Explicit `stores`, `days` and `members` override the scale's. The same arguments give the
    same bytes in every file. Refuses a landing folder that already holds files, because mixing
    two worlds in one landing zone would make the truth false.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: choose one of {', '.join(SCALES)}")
    sc = SCALES[scale]
    n_stores = sc.stores if stores is None else stores
    n_days = sc.days if days is None else days
    n_members = sc.members if members is None else members
    if n_stores < 1 or n_days < 1 or n_members < 1:
        raise ValueError("stores, days and members must be at least 1")
    if n_stores > 255:
        raise ValueError("at most 255 stores (the RFID codes hold the store in two hex digits)")
    out = Path(out)
    landing = Landing(out)
    if landing.root.exists() and any(p.is_file() for p in landing.root.rglob("*")):
        raise FileExistsError(f"{landing.root} already holds files: generate into an empty folder")

    plan = make_plan(scale, n_stores, n_days, n_members, seed, start or DEFAULT_START)
    bad_rng = rnd.rng_for(seed, rnd.BAD_INPUTS)
    bad = write_dimensions(landing, plan, bad_inputs)
    tally = Tally.empty(plan.catalogue)
    picker = MemberPicker(plan.people, n_stores, n_days)
    weights = profile_weights(plan.catalogue)
    for store in plan.chain:
        visitors = simulate_visitors(
            store, plan.expected[store.index], RETURN_RATE,
            rnd.rng_for(seed, rnd.FOOTFALL, store.index),
        )  # fmt: skip
        write_camera_counts(landing, plan, store, visitors)
        bad += write_sales_and_rfid(
            landing, plan, store, visitors, picker, weights, tally, bad_rng if bad_inputs else None
        )
    if bad_inputs:
        ctx = BadInputs(landing, plan.chain, plan.start, n_days, plan.calendar.closed,
                        plan.catalogue, plan.people, tally.stock_epcs, bad_rng)  # fmt: skip
        bad += write_bad_inputs(
            ctx, duplicate_of=camera_file(plan, plan.roles.outage_store, plan.month_list[0])
        )

    truth = assemble_truth(plan, tally, landing.files, bad, bad_inputs)
    if video:  # a few short rendered door and floor clips per store, with their exact truth
        from footfall_platform.vision.demo import render_demo_clips

        clips = render_demo_clips(
            landing.root, [s.store_id for s in plan.chain], seed, start=plan.start
        )
        truth["video"] = json.loads(json.dumps(clips))  # as truth.json will read back
    out.mkdir(parents=True, exist_ok=True)
    (out / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n")
    return truth


def write_dimensions(landing: Landing, plan: Plan, bad_inputs: bool) -> list[dict]:
    """Stores, products (+ a later update), calendar, promotions and members."""
    bad = []
    cat = plan.catalogue
    landing.csv("stores/stores.csv", stores_frame(plan.chain), source="stores")
    landing.csv("products/products.csv", cat.frame, source="products")
    update_date = plan.start + dt.timedelta(days=cat.update_day)
    landing.csv(f"products/products_update_{update_date:%Y-%m-%d}.csv", cat.update_frame,
                source="products")  # fmt: skip
    landing.csv("calendar/calendar.csv", plan.calendar.events, source="calendar")
    promo = plan.calendar.promotions
    if bad_inputs:  # a valid file in Windows form, with a differently-cased header
        promo = promo.rename({c: c.title().replace("_Id", "_ID") for c in promo.columns})
        bad.append(record("calendar/promotions.csv", "crlf_and_bom", "loaded", 0, promo.height))
    landing.csv("calendar/promotions.csv", promo, source="calendar", crlf_bom=bad_inputs)
    landing.csv("members/members.csv", plan.people.frame, source="members")
    return bad


def camera_file(plan: Plan, s: int, m: str) -> str:
    ext = ".csv.gz" if s == plan.roles.camera_gz_store else ".csv"
    return f"camera_counts/{m}/{plan.chain[s].store_id}_{m}{ext}"


def write_camera_counts(landing: Landing, plan: Plan, store: Store, visitors: Visitors) -> None:
    """One file per month; the outage removes rows, the daily-file store's first month is daily."""
    roles, s = plan.roles, store.index
    minutes = 60 if s == roles.hourly_store else 15
    cams = camera_counts(store, visitors, plan.start, plan.days, minutes)
    if s == roles.outage_store:
        outage = pl.col("day").is_in(plan.outage_days) & (pl.col("camera_id") == plan.outage_camera)
        cams = cams.filter(~outage)
    for k, (m, lo, hi) in enumerate(month_slices(cams["day"].to_numpy(), plan.months)):
        part = cams[lo:hi]
        if s == roles.daily_file_store and k == 0:
            daily = camera_counts(store, visitors, plan.start, plan.days, 1440)
            whole = np.setdiff1d(np.flatnonzero(plan.months == m),
                                 uneven_days(store.timezone, plan.start, plan.days))  # fmt: skip
            part = pl.concat(
                [daily.filter(pl.col("day").is_in(whole)), part.filter(~pl.col("day").is_in(whole))]
            ).sort("day", maintain_order=True)
        landing.csv(camera_file(plan, s, m), part.drop("day", "camera"), source="camera_counts")


def write_sales_and_rfid(
    landing: Landing,
    plan: Plan,
    store: Store,
    visitors: Visitors,
    picker: MemberPicker,
    weights: np.ndarray,
    tally: Tally,
    bad_rng: np.random.Generator | None,
) -> list[dict]:
    """Transactions per month (one with repeated lines if bad inputs are on), then RFID."""
    roles, s, bad = plan.roles, store.index, []
    sales = simulate_sales(
        store, visitors, plan.calendar.promotion[s], plan.catalogue, plan.people, picker, weights,
        plan.tastes, plan.start, s == roles.utc_till_store, rnd.rng_for(plan.seed, rnd.SALES, s),
        rnd.rng_for(plan.seed, rnd.TASTE_LINES, s),
    )  # fmt: skip
    ext = ".csv.gz" if s == roles.transactions_gz_store else ".csv"
    dup_month = plan.month_list[min(1, len(plan.month_list) - 1)]
    for m, lo, hi in month_slices(sales.frame["day"].to_numpy(), plan.months):
        part = sales.frame[lo:hi].drop("day")
        rel = f"transactions/{m}/{store.store_id}_{m}{ext}"
        if bad_rng is not None and s == roles.outage_store and m == dup_month:
            part, lines = duplicate_lines(part, bad_rng)
            reasons = [{"line": n, "reason": "duplicate row"} for n in lines]
            bad.append(record(rel, "duplicate_rows", "partial", len(lines), part.height, reasons))
        landing.csv(rel, part, source="transactions")
    tally.add_sales(store, sales, visitors, plan)

    if s in roles.rfid_stores:
        res = simulate_rfid(
            store, plan.catalogue, sales.fashion_day, sales.fashion_ms, sales.fashion_sku,
            visitors, plan.start, plan.days, rnd.rng_for(plan.seed, rnd.RFID, s),
        )  # fmt: skip
        landing.csv(f"rfid_tags/{store.store_id}_tags.csv", res.tags, source="rfid_tags")
        ext = {0: ".parquet", 1: ".csv.gz"}.get(roles.rfid_stores.index(s), ".csv")
        for m, lo, hi in month_slices(res.reads.day, plan.months):
            rel = f"rfid_reads/{m}/{store.store_id}_{m}{ext}"
            if ext == ".parquet":
                landing.parquet(rel, res.reads.frame(lo, hi), source="rfid_reads")
            else:
                landing.csv(rel, res.reads.frame(lo, hi), source="rfid_reads", float_precision=1)
        tally.add_rfid(store, res)
    return bad
