"""Temporal evaluation: fit on what happened before a date, score on what members bought after.

The last `test_share` of the days is the test period and the same number of days before it the
validation period (tuning never sees the test period). Metrics at k, over members who bought
something in the period:

- members_with_history (bought before the cut-off too): precision, recall, NDCG and MAP at k,
  and catalogue coverage (share of the catalogue appearing in at least one list);
- cold_start_members (nothing before the cut-off): the same ranking metrics;
- new_products (products nobody bought before the cut-off): the share of lists holding one,
  and the share of their purchases in the period that were recommended (recall).

Relevance is binary: a product the member bought (a sale line) in the period.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import sparse

RANKING_METRICS = ("precision", "recall", "ndcg", "map")


@dataclass(frozen=True)
class Periods:
    """First day, validation start, test start and last day of the history."""

    start: dt.date
    validation_start: dt.date
    test_start: dt.date
    end: dt.date

    @property
    def test_days(self) -> int:
        return (self.end - self.test_start).days + 1


def periods(lines: pl.DataFrame, test_share: float = 0.2) -> Periods | None:
    """The split of the lines' date range; None when it is too short for train + valid + test."""
    sold = lines.filter(pl.col("member_key").is_not_null())
    if not sold.height:
        return None
    start, end = sold["local_date"].min(), sold["local_date"].max()
    days = (end - start).days + 1
    test_days = math.ceil(test_share * days)
    test_start = end - dt.timedelta(days=test_days - 1)
    validation_start = test_start - dt.timedelta(days=test_days)
    if test_days < 1 or validation_start <= start:
        return None
    return Periods(start, validation_start, test_start, end)


def between(lines: pl.DataFrame, lo: dt.date | None, hi: dt.date | None) -> pl.DataFrame:
    """Lines with lo <= local_date < hi (None: unbounded)."""
    keep = pl.lit(True)
    if lo is not None:
        keep &= pl.col("local_date") >= lo
    if hi is not None:
        keep &= pl.col("local_date") < hi
    return lines.filter(keep)


def bought(lines: pl.DataFrame, members: np.ndarray, items: np.ndarray) -> sparse.csr_matrix:
    """members x items, 1 where the member has a sale line of the product in `lines`."""
    rows = pl.DataFrame({"member_key": members, "row": np.arange(members.size)})
    cols = pl.DataFrame({"sku": items, "col": np.arange(items.size)})
    pairs = (
        lines.filter(pl.col("quantity") > 0)
        .select("member_key", "sku")
        .unique()
        .join(rows, on="member_key")
        .join(cols, on="sku")
    )
    out = sparse.csr_matrix(
        (np.ones(pairs.height, np.float32), (pairs["row"].to_numpy(), pairs["col"].to_numpy())),
        shape=(members.size, items.size),
    )
    out.sort_indices()
    return out


def hits_of(top: np.ndarray, relevant: sparse.csr_matrix) -> np.ndarray:
    """Boolean rows x k: is the product at each rank relevant to that row's member?"""
    m, k = top.shape
    if m == 0:
        return np.zeros((0, k), bool)
    rows = np.repeat(np.arange(m), k)
    cols = np.maximum(top.ravel(), 0)
    found = np.asarray(relevant[rows, cols]).ravel() > 0
    return found.reshape(m, k) & (top >= 0)


def ranking_metrics(top: np.ndarray, relevant: sparse.csr_matrix, k: int) -> dict[str, float]:
    """Mean precision/recall/NDCG/MAP at k over rows (each row has >= 1 relevant product)."""
    top = top[:, :k]
    n_rel = np.diff(relevant.indptr).astype(np.float64)
    if top.shape[0] == 0:
        return {f"{name}@{k}": float("nan") for name in RANKING_METRICS}
    hits = hits_of(top, relevant)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discount)[np.minimum(n_rel, k).astype(int) - 1]
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    return {
        f"precision@{k}": float((hits.sum(axis=1) / k).mean()),
        f"recall@{k}": float((hits.sum(axis=1) / n_rel).mean()),
        f"ndcg@{k}": float(((hits * discount).sum(axis=1) / ideal).mean()),
        f"map@{k}": float(((precision_at * hits).sum(axis=1) / np.minimum(n_rel, k)).mean()),
    }


def coverage(top: np.ndarray, n_items: int) -> float:
    """Share of the catalogue in at least one list."""
    shown = np.unique(top[top >= 0])
    return float(shown.size / n_items) if n_items else float("nan")


def new_product_metrics(
    top: np.ndarray, relevant: sparse.csr_matrix, cold: np.ndarray, k: int
) -> dict[str, float]:
    """Lists holding a never-bought product, and recall on purchases of such products."""
    top = top[:, :k]
    if top.shape[0] == 0 or not cold.any():
        return {}
    shown_cold = (top >= 0) & cold[np.maximum(top, 0)]
    hits = hits_of(top, relevant) & shown_cold
    cold_bought = relevant[:, np.flatnonzero(cold)].sum()
    out = {f"lists_with_new_product@{k}": float(shown_cold.any(axis=1).mean())}
    if cold_bought:
        out[f"new_product_recall@{k}"] = float(hits.sum() / cold_bought)
    return out
