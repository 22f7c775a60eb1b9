"""Choosing the settings on the validation period, one question at a time.

Trained on the lines before the validation period and scored on its purchases (members with
history only), by precision@k with NDCG@k breaking ties:

1. the weighting of the confidences (none, BM25, TF-IDF), with default ALS parameters;
2. ALS factors, regularisation and iterations, on the chosen weighting;
3. the blend weight and whether already-bought products are left out, on the chosen ALS;
4. for members with no history before the validation period who bought in it, how strongly
   their store-and-segment best sellers lean on the store's and the chain's (the prior).

Each step keeps every earlier choice, so the cost is a few dozen ALS fits, not their product.
Every trial is returned, so the choice can be read in the asset metadata and the docs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from .als import AlsParams
from .content import ContentModel
from .context import Context
from .evaluate import bought, ranking_metrics
from .hybrid import HybridModel, HybridParams, Model, Popularity, fit_hybrid
from .interactions import Interactions, Weighting


@dataclass(frozen=True)
class Search:
    """What the validation period chooses among."""

    weightings: Sequence[Weighting]
    grid: Sequence[AlsParams]
    blends: Sequence[float]
    exclude_options: Sequence[bool]
    priors: Sequence[float]
    k: int = 10
    seed: int = 0


@dataclass
class Tuned:
    params: HybridParams
    trials: pl.DataFrame  # step, weighting, factors, regularization, iterations, blend,
    #                       exclude_bought, precision@k, ndcg@k, members


def _score(model: HybridModel, name: Model, rows, context, relevant, k, exclude) -> tuple:
    top, _ = model.top(name, rows, context, k, exclude_bought=exclude)
    m = ranking_metrics(top, relevant[rows], k)
    return m[f"precision@{k}"], m[f"ndcg@{k}"]


def tune(
    train: Interactions,
    valid_lines: pl.DataFrame,
    content: ContentModel,
    popularity: Popularity,
    context: Context,
    default: HybridParams,
    search: Search,
) -> Tuned:
    """The best HybridParams on validation; `default` if nobody with history bought in it."""
    relevant = bought(valid_lines, train.members, train.items)
    buyers = np.diff(relevant.indptr) > 0
    rows = np.flatnonzero(train.has_history() & buyers)
    ctx = [context[i] for i in rows]
    trials: list[dict] = []
    if rows.size == 0:
        return Tuned(default, pl.DataFrame())
    k = search.k

    def run(step: str, params: HybridParams, name: Model, als=None):
        model = fit_hybrid(train, content, popularity, params, seed=search.seed, als=als)
        best = None
        for exclude in search.exclude_options:
            p, n = _score(model, name, rows, ctx, relevant, k, exclude)
            trials.append(
                {
                    "step": step,
                    "weighting": params.weighting,
                    "factors": params.als.factors,
                    "regularization": params.als.regularization,
                    "iterations": params.als.iterations,
                    "blend": params.blend if name == "hybrid" else None,
                    "exclude_bought": exclude,
                    f"precision@{k}": p,
                    f"ndcg@{k}": n,
                    "members": int(rows.size),
                }
            )
            if best is None or (p, n) > best[0]:
                best = ((p, n), replace(params, exclude_bought=exclude), model.als)
        return best

    results = [run("weighting", replace(default, weighting=w), "als") for w in search.weightings]
    chosen = max(results, key=lambda r: r[0])[1]
    results = [run("als", replace(chosen, als=g), "als") for g in search.grid]
    score, chosen, als = max(results, key=lambda r: r[0])
    results = [run("blend", replace(chosen, blend=float(b)), "hybrid", als) for b in search.blends]
    chosen = max(results, key=lambda r: r[0])[1]
    cold = np.flatnonzero(~train.has_history() & buyers)
    if cold.size:
        ctx_cold = [context[i] for i in cold]
        scored = []
        for prior in search.priors:
            model = fit_hybrid(train, content, popularity, replace(chosen, popularity_prior=prior),
                               als=als)  # fmt: skip
            top, _ = model.top("store_popularity", cold, ctx_cold, k)
            m = ranking_metrics(top, relevant[cold], k)
            scored.append(((m[f"precision@{k}"], m[f"ndcg@{k}"]), prior))
            trials.append({"step": "cold_start", "popularity_prior": prior,
                           f"precision@{k}": m[f"precision@{k}"], f"ndcg@{k}": m[f"ndcg@{k}"],
                           "members": int(cold.size)})  # fmt: skip
        chosen = replace(chosen, popularity_prior=max(scored, key=lambda r: r[0])[1])
    return Tuned(chosen, pl.from_dicts(trials, infer_schema_length=None))
