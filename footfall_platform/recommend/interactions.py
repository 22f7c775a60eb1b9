"""Member x product confidence from till lines: what the behaviour models learn from.

A member's confidence in a product is the units they kept, each weighted by how recent the
purchase was (half-life decay from the as-of date), so a returned unit cancels a bought one and
last month's taste counts more than last year's. Members whose returns cancel everything they
bought have no interaction at all: they are cold-start members, not members who "dislike"
what they bought. Lines whose SKU is not in the catalogue are left out (a recommendation must
name a product the catalogue knows) and counted.

RFID try-ons are not used: the RFID journeys are anonymous tags, and a try-on that is not
followed by a purchase cannot be tied to a member.

BM25 or TF-IDF re-weighting (the functions implicit offers) damps products everybody buys and
members who buy everything; which one (or none) is chosen on the validation period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from implicit.nearest_neighbours import bm25_weight, tfidf_weight
from scipy import sparse

Weighting = Literal["none", "bm25", "tfidf"]
WEIGHTINGS: tuple[Weighting, ...] = ("none", "bm25", "tfidf")
LINE_COLUMNS = ("member_key", "sku", "local_date", "quantity")
# A weighted interaction never drops below this share of the largest one: implicit reads a
# negative confidence as "disliked", and a weight of 0 would erase a purchase.
WEIGHT_FLOOR = 1e-3


class RecommendInputError(ValueError):
    """An input frame the recommender needs is missing columns it cannot do without."""


def require_columns(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RecommendInputError(f"{what} lacks column(s) {', '.join(missing)}")


@dataclass
class Interactions:
    """Net, recency-weighted units per (member, product): rows = members, columns = catalogue."""

    matrix: sparse.csr_matrix  # float32, only positive entries
    members: np.ndarray  # member_key per row
    items: np.ndarray  # sku per column (the catalogue order)
    as_of: dt.date | None
    unknown_sku_lines: int  # lines left out because the SKU is not in the catalogue

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    def row_of(self) -> dict[str, int]:
        return {m: i for i, m in enumerate(self.members.tolist())}

    def has_history(self) -> np.ndarray:
        """Members with at least one positive interaction."""
        return np.diff(self.matrix.indptr) > 0

    def item_buyers(self) -> np.ndarray:
        """Members with a positive interaction, per product."""
        return np.bincount(self.matrix.indices, minlength=self.matrix.shape[1])


def build_interactions(
    lines: pl.DataFrame,
    items: np.ndarray | list[str],
    *,
    as_of: dt.date | None = None,
    half_life_days: float = 120.0,
    members: np.ndarray | list[str] | None = None,
) -> Interactions:
    """Confidence matrix of `members` (default: every member on a line) over `items`.

    `lines` holds member_key, sku, local_date, quantity (negative for a return); lines without a
    member_key are anonymous and ignored. `as_of` defaults to the last date on the lines.
    """
    require_columns(lines, LINE_COLUMNS, "transaction lines")
    items = np.asarray(items, dtype=object)
    known = lines.filter(pl.col("member_key").is_not_null())
    catalogued = known.filter(pl.col("sku").is_in(pl.Series(items.tolist(), dtype=pl.Utf8)))
    unknown = known.height - catalogued.height
    if members is None:
        members = np.sort(known["member_key"].unique().to_numpy().astype(object))
    members = np.asarray(members, dtype=object)
    if as_of is None and catalogued.height:
        as_of = catalogued["local_date"].max()
    if not catalogued.height or not members.size:
        empty = sparse.csr_matrix((members.size, items.size), dtype=np.float32)
        return Interactions(empty, members, items, as_of, unknown)

    age = (pl.lit(as_of) - pl.col("local_date")).dt.total_days().clip(lower_bound=0)
    net = (
        catalogued.group_by("member_key", "sku")
        .agg((pl.col("quantity") * 0.5 ** (age / half_life_days)).sum().alias("value"))
        .filter(pl.col("value") > 1e-9)
    )
    member_pos = pl.DataFrame({"member_key": members, "row": np.arange(members.size)})
    item_pos = pl.DataFrame({"sku": items, "col": np.arange(items.size)})
    net = net.join(member_pos, on="member_key").join(item_pos, on="sku")
    matrix = sparse.csr_matrix(
        (
            net["value"].to_numpy().astype(np.float32),
            (net["row"].to_numpy(), net["col"].to_numpy()),
        ),
        shape=(members.size, items.size),
    )
    matrix.sort_indices()
    return Interactions(matrix, members, items, as_of, unknown)


def weigh(matrix: sparse.csr_matrix, weighting: Weighting) -> sparse.csr_matrix:
    """Re-weight confidences as implicit does (its functions weigh rows, so items are rows)."""
    if weighting == "none" or matrix.nnz == 0:
        return matrix.astype(np.float32)
    if weighting == "bm25":
        weighted = bm25_weight(matrix.T, K1=100, B=0.8)
    elif weighting == "tfidf":
        weighted = tfidf_weight(matrix.T)
    else:
        raise ValueError(f"unknown weighting {weighting!r}: choose one of {', '.join(WEIGHTINGS)}")
    out = weighted.T.tocsr().astype(np.float32)
    out.data = np.maximum(out.data, WEIGHT_FLOOR * max(float(out.data.max()), 1e-6))
    out.sort_indices()
    return out
