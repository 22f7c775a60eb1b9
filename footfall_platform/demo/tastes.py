"""Planted member tastes: each member favours one category and one brand within it.

A share of every member's sale lines is drawn from the products of their taste (still tilted by
their segment's price preference), the rest from the whole catalogue as before. A recommender
that learns from behaviour (or from product text: the taste is a category and a brand, both in
the product's description) should find these tastes; the popularity baseline cannot. Launched
products join the taste they match from their launch day, so they sell only to those members.

Tastes are drawn from their own random streams, so adding them leaves the members file and every
other planted truth as they were.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalogue import CATEGORIES, Catalogue

TASTE_SHARE = 0.5  # share of a member's sale lines drawn from their taste
LAUNCH_APPEAL = 1.5  # a launched product's weight relative to its taste's favourite product


@dataclass
class Tastes:
    """Every member's taste, and the products each taste draws from."""

    names: list[tuple[str, str]]  # (category, brand) per taste
    of_member: np.ndarray  # taste index per member
    base: list[np.ndarray]  # products.csv products of each taste (sale indices)
    launched: list[np.ndarray]  # launched products of each taste (sale indices)

    def taste_of_product(self, catalogue: Catalogue) -> np.ndarray:
        """The taste every product (sale index) belongs to."""
        out = np.full(catalogue.n_all, -1, dtype=np.int64)
        for t, (base, launched) in enumerate(zip(self.base, self.launched, strict=True)):
            out[base] = t
            out[launched] = t
        return out

    def truth(self, member_ids: list[str]) -> dict:
        counts = np.bincount(self.of_member, minlength=len(self.names))
        return {
            "share_of_member_sale_lines": TASTE_SHARE,
            "launch_appeal": LAUNCH_APPEAL,
            "description": "each member favours one category and one brand; that share of their "
            "sale lines is drawn from those products (price-tilted by segment), the rest from "
            "the whole catalogue",
            "members_per_taste": {
                f"{c}/{b}": int(n) for (c, b), n in zip(self.names, counts, strict=True) if n
            },
            "member_taste": {
                m: {"category": self.names[t][0], "brand": self.names[t][1]}
                for m, t in zip(member_ids, self.of_member.tolist(), strict=True)
            },
        }


def build_tastes(n_members: int, catalogue: Catalogue, rng: np.random.Generator) -> Tastes:
    """Category by its share of demand, then a brand of that category by its product count."""
    names = [(c.name, b) for c in CATEGORIES for b in c.brands]
    index = {name: k for k, name in enumerate(names)}
    cat_of_product = np.array([CATEGORIES[c].name for c in catalogue.all_category])
    base_n = catalogue.category.size
    base, launched = [], []
    for c, b in names:
        mine = np.flatnonzero((cat_of_product == c) & (catalogue.brand == b))
        base.append(mine[mine < base_n])
        launched.append(mine[mine >= base_n])
    demand = np.array([c.demand for c in CATEGORIES])
    category = rng.choice(len(CATEGORIES), size=n_members, p=demand / demand.sum())
    u = rng.random(n_members)
    of_member = np.empty(n_members, dtype=np.int64)
    for ci, cat in enumerate(CATEGORIES):
        sizes = np.array([base[index[(cat.name, b)]].size for b in cat.brands], dtype=float)
        p = sizes / sizes.sum() if sizes.sum() else np.full(sizes.size, 1 / sizes.size)
        m = category == ci
        pick = np.minimum(np.searchsorted(np.cumsum(p), u[m], side="right"), sizes.size - 1)
        of_member[m] = [index[(cat.name, cat.brands[k])] for k in pick]
    return Tastes(names=names, of_member=of_member, base=base, launched=launched)


def taste_lines(
    tastes: Tastes,
    catalogue: Catalogue,
    weights: np.ndarray,
    member: np.ndarray,
    profile: np.ndarray,
    day: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """For sale lines of members (member >= 0): which are drawn from the taste, and the product.

    Returns (mask, product) where product is only meaningful where mask holds. Lines of a taste
    with no product on sale that day keep their catalogue draw.
    """
    n = member.size
    taste = np.where(member >= 0, tastes.of_member[np.maximum(member, 0)], -1)
    chosen = (member >= 0) & (rng.random(n) < TASTE_SHARE)
    u = rng.random(n)
    on_sale = day >= catalogue.launch_day
    product = np.zeros(n, dtype=np.int64)
    group = np.where(chosen, (taste * weights.shape[0] + profile) * 2 + on_sale, -1)
    for g in np.unique(group[group >= 0]).tolist():
        t, p, launched = g // 2 // weights.shape[0], g // 2 % weights.shape[0], g % 2
        items = tastes.base[t]
        w = weights[p][items]
        if launched and tastes.launched[t].size:
            top = w.max() if w.size else 1.0
            items = np.concatenate([items, tastes.launched[t]])
            w = np.concatenate([w, np.full(tastes.launched[t].size, LAUNCH_APPEAL * top)])
        m = group == g
        if not items.size:
            chosen &= ~m
            continue
        cum = np.cumsum(w) / w.sum()
        product[m] = items[np.minimum(np.searchsorted(cum, u[m], side="right"), items.size - 1)]
    return chosen, product
