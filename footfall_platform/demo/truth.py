"""truth.json: the running tally of what was simulated, and the layout it is written in.

Realized figures (receipts, pair counts, journeys, measured dwell) are tallied from the simulated
rows as each store is generated, so the truth holds the exact numbers the written files give,
not only the parameters that produced them. docs/demo-world.md describes the layout.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .catalogue import CATEGORIES, Catalogue
from .footfall import Visitors
from .people import SEGMENTS
from .rfid import (
    DWELL_SHAPE,
    KINDS,
    MEAN_DWELL_S,
    PUT_BACK_RATE,
    READ_INTERVAL_S,
    SALE_GAP_S,
    STOCK_TAGS,
    ZONES,
    RfidResult,
)
from .sales import (
    AWAY_SHARE,
    MEMBER_SHARE,
    PROMO_DISCOUNT,
    PROMO_LINE_SHARE,
    RETURN_RATE,
    StoreSales,
)
from .stores import Store

if TYPE_CHECKING:
    from .world import Plan

FORMAT_VERSION = 1
PROFILES = ["anonymous", *(s.name for s in SEGMENTS)]
COUNTS = ("sale_receipts", "return_receipts", "member_receipts", "lines", "return_lines",
          "discounted_lines")  # fmt: skip
TASTE_COUNTS = ("member_sale_lines", "taste_sale_lines")


@dataclass
class Tally:
    """Realized figures summed over the stores as they are simulated."""

    by_profile: dict[str, np.ndarray]
    counts: dict[str, int]
    pair_counts: np.ndarray
    launch_lines: np.ndarray
    taste_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TASTE_COUNTS, 0))
    stores: list[dict] = field(default_factory=list)
    journeys: dict[str, dict[str, int]] = field(default_factory=dict)
    dwell_sum: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 0.0))
    stays: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    stock_epcs: dict[int, list[str]] = field(default_factory=dict)

    @classmethod
    def empty(cls, catalogue: Catalogue) -> Tally:
        return cls(
            by_profile={k: np.zeros(len(PROFILES)) for k in ("receipts", "lines", "amount")},
            counts=dict.fromkeys(COUNTS, 0),
            pair_counts=np.zeros((len(catalogue.pairs), 3), dtype=np.int64),
            launch_lines=np.zeros(catalogue.launched.size, dtype=np.int64),
        )

    def add_sales(self, store: Store, sales: StoreSales, visitors: Visitors, plan: Plan) -> None:
        for key in self.by_profile:
            self.by_profile[key] += getattr(sales, f"{key}_by_profile")
        for key in COUNTS:
            self.counts[key] += sales.frame.height if key == "lines" else getattr(sales, key)
        self.pair_counts += sales.pair_counts
        self.launch_lines += sales.launch_lines
        for key in TASTE_COUNTS:
            self.taste_counts[key] += getattr(sales, key)
        roles, s = plan.roles, store.index
        self.stores.append(
            {
                **store.truth(),
                "camera_period_minutes": 60 if s == roles.hourly_store else 15,
                "whole_day_periods_month": plan.month_list[0]
                if s == roles.daily_file_store
                else None,
                "till_sends_utc": s == roles.utc_till_store,
                "rfid": s in roles.rfid_stores,
                "true_entries_by_day": visitors.per_day.tolist(),
                "expected_entries_by_day": [round(float(x), 2) for x in plan.expected[s]],
                "sale_receipts": sales.sale_receipts,
                "realized_conversion": round(sales.sale_receipts / max(1, visitors.day.size), 6),
            }
        )

    def add_rfid(self, store: Store, res: RfidResult) -> None:
        self.journeys[store.store_id] = res.journeys
        self.stock_epcs[store.index] = res.tags["epc"].head(5).to_list()
        for k in KINDS:
            self.dwell_sum[k] += res.dwell_sum_s[k]
            self.stays[k] += res.stays[k]


def iso(start: dt.date, d: int) -> str:
    return (start + dt.timedelta(days=int(d))).isoformat()


def assemble_truth(
    plan: Plan, tally: Tally, files: dict[str, dict], bad: list[dict], bad_inputs: bool
) -> dict:
    """Every planted number in the truth.json layout."""
    start, chain = plan.start, plan.chain
    roles, cat, people = plan.roles, plan.catalogue, plan.people
    return {
        "format_version": FORMAT_VERSION,
        "generator": {
            "seed": plan.seed,
            "scale": plan.scale,
            "stores": len(chain),
            "days": plan.days,
            "members": int(people.segment.size),
            "products": int(cat.category.size),
            "start": start.isoformat(),
            "end": iso(start, plan.days - 1),
            "bad_inputs": bad_inputs,
        },
        "roles": {
            k: [chain[i].store_id for i in v] if isinstance(v, tuple) else chain[v].store_id
            for k, v in asdict(roles).items()
        },
        "stores": tally.stores,
        "footfall": footfall_truth(plan),
        "anomalies": {
            "camera_outages": [
                {
                    "store_id": chain[roles.outage_store].store_id,
                    "camera_id": plan.outage_camera,
                    "dates": [iso(start, d) for d in plan.outage_days],
                    "kind": "no rows",
                }
            ],
            "spikes": [
                {
                    "store_id": chain[sp.store].store_id,
                    "date": iso(start, sp.day),
                    "multiplier": sp.multiplier,
                }
                for sp in plan.footfall.spikes
            ],  # fmt: skip
        },
        "transactions": transactions_truth(plan, tally),
        "members": {
            "segments": {s.name: s.truth() for s in SEGMENTS},
            "segment_counts": {
                s.name: int((people.segment == i).sum()) for i, s in enumerate(SEGMENTS)
            },
            "gender_codes": people.gender_codes,
            "member_segment": dict(
                zip(people.ids.to_list(), [SEGMENTS[i].name for i in people.segment], strict=True)
            ),
            "lapse_date": {
                people.ids[int(i)]: iso(start, people.lapse_day[i])
                for i in np.flatnonzero(people.lapse_day < plan.days)
            },
        },
        "basket_pairs": pairs_truth(cat, tally),
        "products": {
            "update_file": f"products/products_update_{iso(start, cat.update_day)}.csv",
            "update_effective": iso(start, cat.update_day),
            "price_changes": [
                {
                    "sku": cat.skus[int(i)],
                    "old": float(cat.price[i]),
                    "new": float(cat.price_after[i]),
                }
                for i in np.flatnonzero(cat.price_after != cat.price)
            ],  # fmt: skip
            "announced_not_sold": cat.announced,
            "launches": launches_truth(plan, tally),
        },
        "tastes": {
            **plan.tastes.truth(people.ids.to_list()),
            "realized": {
                **tally.taste_counts,
                "taste_share": round(
                    tally.taste_counts["taste_sale_lines"]
                    / max(tally.taste_counts["member_sale_lines"], 1),
                    6,
                ),
            },
        },
        "rfid": rfid_truth(plan, tally),
        "files": files,
        "totals": totals(files, bad),
        "bad_inputs": bad,
    }


def footfall_truth(plan: Plan) -> dict:
    cal, start = plan.calendar, plan.start

    def days_of(flags: np.ndarray) -> list[str]:
        return [iso(start, d) for d in np.flatnonzero(flags)]

    return {
        **plan.footfall.truth(),
        "event_days": {
            s.store_id: {
                "holiday": days_of(cal.holiday[s.index]),
                "promotion": days_of(cal.promotion[s.index]),
                "closure": days_of(cal.closed[s.index]),
            }
            for s in plan.chain
        },
        "closures": cal.closures(plan.chain, start),
    }


def transactions_truth(plan: Plan, tally: Tally) -> dict:
    counts, by = tally.counts, tally.by_profile
    receipts = counts["sale_receipts"] + counts["return_receipts"]
    return {
        "member_receipt_share": MEMBER_SHARE,
        "return_receipts_per_sale_receipt": RETURN_RATE,
        "member_receipts_from_other_stores": AWAY_SHARE,
        "promotion_discount": {
            "share_of_line_amount": PROMO_DISCOUNT,
            "share_of_lines": PROMO_LINE_SHARE,
        },
        "utc_till_stores": [plan.chain[plan.roles.utc_till_store].store_id],
        "realized": {
            **counts,
            "member_receipt_share": round(counts["member_receipts"] / max(1, receipts), 6),
        },
        "by_profile": {
            p: {
                "sale_receipts": int(by["receipts"][i]),
                "lines_per_receipt": round(float(by["lines"][i] / max(by["receipts"][i], 1)), 4),
                "mean_receipt_amount": round(float(by["amount"][i] / max(by["receipts"][i], 1)), 2),
            }
            for i, p in enumerate(PROFILES)
        },
    }


def pairs_truth(cat: Catalogue, tally: Tally) -> list[dict]:
    n = tally.counts["sale_receipts"]
    out = []
    for pair, (na, nb, nab) in zip(cat.pairs, tally.pair_counts.tolist(), strict=True):
        out.append(
            {
                "antecedent": {"sku": cat.skus[pair.a], "name": cat.names[pair.a]},
                "consequent": {"sku": cat.skus[pair.b], "name": cat.names[pair.b]},
                "planted_probability": pair.probability,
                "sale_receipts": n,
                "receipts_with_antecedent": na,
                "receipts_with_consequent": nb,
                "receipts_with_both": nab,
                "confidence": round(nab / max(na, 1), 6),
                "lift": round(nab * n / max(na * nb, 1), 4),
            }
        )
    return out


def launches_truth(plan: Plan, tally: Tally) -> list[dict]:
    """Each launched product, the taste it matches, its launch date and realized sale lines."""
    cat = plan.catalogue
    names = {row["sku"]: row for row in cat.update_frame.iter_rows(named=True)}
    out = []
    for k, i in enumerate(cat.launched.tolist()):
        sku = cat.all_skus[i]
        out.append(
            {
                "sku": sku,
                "name": names[sku]["name"],
                "category": names[sku]["category"],
                "brand": names[sku]["brand"],
                "launch_date": iso(plan.start, cat.launch_day),
                "sale_lines": int(tally.launch_lines[k]),
            }
        )
    return out


def rfid_truth(plan: Plan, tally: Tally) -> dict:
    return {
        "stores": [plan.chain[i].store_id for i in plan.roles.rfid_stores],
        "zones": ZONES,
        "mean_dwell_seconds": MEAN_DWELL_S,
        "dwell_distribution": f"gamma, shape {DWELL_SHAPE}",
        "read_interval_seconds": READ_INTERVAL_S,
        "measured_mean_dwell_seconds": {
            k: round(tally.dwell_sum[k] / max(tally.stays[k], 1), 3) for k in KINDS
        },
        "try_on_probability": {c.name: c.try_on for c in CATEGORIES if c.fashion},
        "sale_after_checkout_seconds": list(SALE_GAP_S),
        "put_back_per_visitor": PUT_BACK_RATE,
        "display_tags_per_product": STOCK_TAGS,
        "journeys": tally.journeys,
    }


def totals(files: dict[str, dict], bad: list[dict]) -> dict:
    """Rows written per source, and the rows the loader should keep after quarantines."""
    bad_by_file = {b["file"]: b for b in bad}
    written: dict[str, int] = {}
    loaded: dict[str, int] = {}
    for rel, f in files.items():
        written[f["source"]] = written.get(f["source"], 0) + f["rows"]
        b = bad_by_file.get(rel)
        ok = f["rows"] if b is None else b["expected_rows_in"] - b["expected_rows_quarantined"]
        loaded[f["source"]] = loaded.get(f["source"], 0) + ok
    return {"rows_written": written, "expected_rows_loaded": loaded}
