"""The blend of behaviour (ALS) and content, and what it does when either has nothing to say.

- Members with history get `blend x ALS + (1 - blend) x content`, each score divided by the
  member's largest absolute score so the two are on one scale; `blend` is tuned on validation.
- A product nobody bought has no ALS factor of its own; in the blend it borrows one: the
  similarity-weighted mean of the factors of its most similar products that did sell. So a new
  product is recommended to the members whose behaviour matches products like it.
- A member with no history (new, or whose returns cancel every purchase) gets the popular
  products of their store and segment, shrunk towards the store's and then the chain's
  popularity when their cell is small (`prior` pseudo-observations at each level).
- Already-bought products are kept or left out (`exclude_bought`): repeat purchases are normal
  in grocery and rare in fashion, so the default is chosen on validation.
- Ties are broken by chain popularity, then by product order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import sparse

from .als import AlsFactors, AlsParams, fit_als
from .content import ContentModel
from .interactions import Interactions, Weighting, weigh

Model = Literal["popularity", "store_popularity", "als", "content", "hybrid"]
# popularity: the chain's best sellers (the baseline); store_popularity: the best sellers of the
# member's store and segment (what a member without history gets).
MODELS: tuple[Model, ...] = ("popularity", "store_popularity", "als", "content", "hybrid")
BATCH = 2048
TIE_BREAK = 1e-6
IMPUTE_NEIGHBOURS = 10


@dataclass(frozen=True)
class HybridParams:
    weighting: Weighting = "bm25"
    als: AlsParams = AlsParams()
    blend: float = 0.5  # weight of the ALS score; 1 - blend goes to content
    exclude_bought: bool = False
    popularity_prior: float = 50.0  # cold start: pseudo-lines pulling a cell towards its store


@dataclass
class Popularity:
    """Recency-weighted sale lines per product: chain, per store, per (store, segment).

    A cell's share is (its weighted lines + prior x the share one level up) / (its total +
    prior): a thin cell leans on its store, a thin store on the chain; an infinite prior is the
    chain's best sellers for everybody. The prior is chosen on validation.
    """

    chain_counts: np.ndarray
    store_counts: dict[str, np.ndarray]
    cell_counts: dict[tuple[str, str], np.ndarray]
    prior: float = 50.0

    def __post_init__(self) -> None:
        total = self.chain_counts.sum()
        self.chain = self.chain_counts / total if total > 0 else np.zeros_like(self.chain_counts)
        self.by_store = {s: self._shrink(c, self.chain) for s, c in self.store_counts.items()}
        self.by_cell = {
            (s, g): self._shrink(c, self.by_store[s]) for (s, g), c in self.cell_counts.items()
        }

    def _shrink(self, count: np.ndarray, above: np.ndarray) -> np.ndarray:
        if np.isinf(self.prior):
            return above
        out = count + self.prior * above
        return out / max(out.sum(), 1e-12)

    def with_prior(self, prior: float) -> Popularity:
        return Popularity(self.chain_counts, self.store_counts, self.cell_counts, prior)

    def for_member(self, store: str | None, segment: str | None) -> np.ndarray:
        return self.by_cell.get(
            (store, segment), self.by_store.get(store, self.chain) if store else self.chain
        )


def fit_popularity(
    lines: pl.DataFrame,
    items: np.ndarray,
    segments: pl.DataFrame,
    *,
    as_of,
    half_life_days: float,
    prior: float = 50.0,
) -> Popularity:
    """Counts of sale lines (anonymous lines count for the chain and the store).

    `segments` maps member_key to segment.
    """
    sold = lines.filter(pl.col("quantity") > 0)
    col = pl.DataFrame({"sku": items, "col": np.arange(items.size)})
    if as_of is None:
        as_of = sold["local_date"].max() if sold.height else None
    age = (pl.lit(as_of) - pl.col("local_date")).dt.total_days().clip(lower_bound=0)
    weighted = (
        sold.join(col, on="sku")
        .join(segments.select("member_key", "segment"), on="member_key", how="left")
        .with_columns(w=0.5 ** (age / half_life_days))
    )

    def counts(frame: pl.DataFrame) -> np.ndarray:
        return np.bincount(frame["col"].to_numpy(), frame["w"].to_numpy(), minlength=items.size)

    stores = {s: counts(part) for (s,), part in weighted.group_by(["store_id"])}
    members = weighted.filter(pl.col("segment").is_not_null())
    cells = {(s, g): counts(part) for (s, g), part in members.group_by(["store_id", "segment"])}
    return Popularity(counts(weighted), stores, cells, prior)


def impute_cold_factors(
    factors: np.ndarray, similar: sparse.csr_matrix, cold: np.ndarray
) -> np.ndarray:
    """Factors for never-bought products from their most similar products that did sell."""
    out = factors.copy()
    if not cold.any() or cold.all():
        return out
    warm_only = similar[np.flatnonzero(cold)][:, ~cold]
    warm_idx = np.flatnonzero(~cold)
    for r, i in enumerate(np.flatnonzero(cold)):
        lo, hi = warm_only.indptr[r], warm_only.indptr[r + 1]
        sims, cols = warm_only.data[lo:hi], warm_idx[warm_only.indices[lo:hi]]
        if sims.size:
            top = np.argsort(-sims, kind="stable")[:IMPUTE_NEIGHBOURS]
            near = factors[cols[top]]
            mean = sims[top] @ near / sims[top].sum()
            # averaging shrinks the vector; a real product of the group is as long as its peers
            norm = np.linalg.norm(mean)
            if norm > 0:
                mean *= (sims[top] @ np.linalg.norm(near, axis=1) / sims[top].sum()) / norm
            out[i] = mean
    return out


def _scaled(scores: np.ndarray) -> np.ndarray:
    """Each row divided by its largest absolute value, in place (rows of zeros stay zero)."""
    top = np.abs(scores).max(axis=1, keepdims=True) if scores.shape[1] else scores[:, :1]
    top[top == 0] = 1.0
    scores /= top
    return scores


@dataclass
class HybridModel:
    """Everything fitted on one training period, able to score any batch of its members."""

    interactions: Interactions
    params: HybridParams
    als: AlsFactors
    content: ContentModel
    popularity: Popularity
    profile: sparse.csr_matrix  # log1p(confidence): the content profile weights
    imputed_items: np.ndarray  # ALS item factors with cold products imputed
    cold_items: np.ndarray  # bool per product: no interaction in training

    def scores(self, model: Model, rows: np.ndarray, context: list[tuple[str | None, str | None]]
               ) -> np.ndarray:  # fmt: skip
        """Scores of a batch of member rows (`context`: store and segment of each row)."""
        if model in ("popularity", "store_popularity"):
            shares = (
                np.stack([self.popularity.for_member(s, g) for s, g in context])
                if model == "store_popularity"
                else np.tile(self.popularity.chain, (rows.size, 1))
            )
            raw = np.where(shares > 0, shares, -np.inf).astype(np.float32)  # unsold: no best seller
        elif model == "als":
            raw = _scaled(self.als.scores(rows))
            raw[:, self.cold_items] = -np.inf  # plain ALS cannot know a never-bought product
        elif model == "content":
            raw = _scaled(self.content.member_scores(self.profile[rows]))
        else:  # float32 and in place: at 100k members x 10k products this is the hot loop
            raw = _scaled(self.als.members[rows] @ self.imputed_items.T)
            raw *= np.float32(self.params.blend)
            content = _scaled(self.content.member_scores(self.profile[rows]))
            content *= np.float32(1 - self.params.blend)
            raw += content
        chain = self.popularity.chain
        raw += (TIE_BREAK * chain / max(chain.max(), 1e-12)).astype(np.float32)
        return raw

    def top(
        self,
        model: Model,
        rows: np.ndarray,
        context: list[tuple[str | None, str | None]],
        n: int,
        exclude_bought: bool | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top `n` product columns and scores per row (-1 / NaN where fewer candidates)."""
        exclude = self.params.exclude_bought if exclude_bought is None else exclude_bought
        items = np.full((rows.size, n), -1, dtype=np.int64)
        values = np.full((rows.size, n), np.nan)
        for lo in range(0, rows.size, BATCH):
            batch = rows[lo : lo + BATCH]
            scores = self.scores(model, batch, context[lo : lo + BATCH])
            if exclude:
                bought = self.interactions.matrix[batch]
                scores[
                    np.repeat(np.arange(batch.size), np.diff(bought.indptr)), bought.indices
                ] = -np.inf
            idx, val = top_n(scores, n)
            items[lo : lo + batch.size] = idx
            values[lo : lo + batch.size] = val
        return items, values


def top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Best `n` finite scores per row, best first; -1 and NaN pad rows with fewer."""
    m, width = scores.shape
    k = min(n, width)
    items = np.full((m, n), -1, dtype=np.int64)
    values = np.full((m, n), np.nan)
    if k == 0:
        return items, values
    part = (
        np.argpartition(-scores, k - 1, axis=1)[:, :k]
        if k < width
        else np.tile(np.arange(width), (m, 1))
    )
    picked = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -picked), axis=1)
    part = np.take_along_axis(part, order, axis=1)
    picked = np.take_along_axis(picked, order, axis=1)
    finite = np.isfinite(picked)
    items[:, :k] = np.where(finite, part, -1)
    values[:, :k] = np.where(finite, picked, np.nan)
    return items, values


def fit_hybrid(
    interactions: Interactions,
    content: ContentModel,
    popularity: Popularity,
    params: HybridParams,
    *,
    seed: int = 0,
    als: AlsFactors | None = None,
) -> HybridModel:
    """Fit ALS (unless given, e.g. shared by several blends) and assemble the model."""
    if als is None:
        als = fit_als(weigh(interactions.matrix, params.weighting), params.als, seed=seed)
    cold = interactions.item_buyers() == 0
    profile = interactions.matrix.copy()
    profile.data = np.log1p(profile.data)
    return HybridModel(
        interactions=interactions,
        params=params,
        als=als,
        content=content,
        popularity=popularity.with_prior(params.popularity_prior),
        profile=profile,
        imputed_items=impute_cold_factors(als.items, content.similar, cold),
        cold_items=cold,
    )
