"""From marts to published tables: tune on validation, evaluate on test, fit on everything.

`run_recommender` is what the Dagster asset and the benchmark call. It takes frames (the till
lines, the catalogue, the customers and the stores) and returns ml.recommendations,
ml.similar_products and the recommend rows of ml.model_evaluation, plus what the UI shows.

With too little history for a validation and a test period (fewer than ~3 test periods of days
with member sales) it skips tuning and evaluation, uses the default settings and says so in
`Result.notes`; recommendations are still written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from .als import DEFAULT_GRID, AlsParams
from .content import ContentModel, fit_content, similar_products
from .context import Context, member_context
from .evaluate import (
    Periods,
    between,
    bought,
    coverage,
    new_product_metrics,
    periods,
    ranking_metrics,
)
from .hybrid import HybridModel, HybridParams, Model, Popularity, fit_hybrid, fit_popularity
from .interactions import (
    LINE_COLUMNS,
    WEIGHTINGS,
    Interactions,
    RecommendInputError,
    Weighting,
    build_interactions,
    require_columns,
)
from .tuning import Search, tune

EVALUATION_SCHEMA = {
    "model_family": pl.Utf8,
    "model": pl.Utf8,
    "segment": pl.Utf8,
    "metric": pl.Utf8,
    "value": pl.Float64,
    "evaluated_at": pl.Datetime("us", "UTC"),
}
RECOMMENDATION_SCHEMA = {
    "member_key": pl.Utf8,
    "rank": pl.Int32,
    "sku": pl.Utf8,
    "score": pl.Float64,
    "source": pl.Utf8,
    "generated_at": pl.Datetime("us", "UTC"),
}
SOURCES = ("als", "content", "popular", "hybrid")


@dataclass(frozen=True)
class RecommendConfig:
    top_n: int = 20  # published list length
    k: int = 10  # evaluation cut-off
    half_life_days: float = 120.0
    test_share: float = 0.2
    neighbours: int = 100  # similar products kept per product for content scoring
    priors: tuple[float, ...] = (5.0, 50.0, 500.0, 5000.0, float("inf"))
    segment_column: str = "age_band"
    seed: int = 0
    tune: bool = True
    evaluate: bool = True
    default: HybridParams = HybridParams()
    weightings: tuple[Weighting, ...] = WEIGHTINGS
    grid: tuple[AlsParams, ...] = DEFAULT_GRID
    blends: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(11))
    exclude_options: tuple[bool, ...] = (False, True)

    def search(self) -> Search:
        return Search(self.weightings, self.grid, self.blends, self.exclude_options, self.priors,
                      self.k, self.seed)  # fmt: skip


@dataclass
class Fitted:
    """A model fitted on one period, with the store and segment of each of its members."""

    model: HybridModel
    context: Context

    def lists(
        self, rows: np.ndarray, n: int, model: Model = "hybrid"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-n columns, scores and source per row: members without history get
        store_popularity whatever `model` is asked for."""
        history = self.model.interactions.has_history()[rows]
        items = np.full((rows.size, n), -1, dtype=np.int64)
        scores = np.full((rows.size, n), np.nan)
        for mask, name in ((history, model), (~history, "store_popularity")):
            if mask.any():
                sel = rows[mask]
                ctx = [self.context[i] for i in sel]
                items[mask], scores[mask] = self.model.top(name, sel, ctx, n)
        source = np.where(history[:, None], self.source_of(items), "popular")
        return items, scores, source

    def source_of(self, items: np.ndarray) -> np.ndarray:
        blend = self.model.params.blend
        base = "als" if blend >= 1 else "content" if blend <= 0 else "hybrid"
        cold = self.model.cold_items[np.maximum(items, 0)]
        return np.where(cold, "content", base)


@dataclass
class Result:
    recommendations: pl.DataFrame
    similar_products: pl.DataFrame
    evaluation: pl.DataFrame
    params: HybridParams
    trials: pl.DataFrame
    periods: Periods | None
    example: dict[str, pl.DataFrame]
    evaluated_lists: dict[str, pl.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def clean_catalogue(products: pl.DataFrame) -> pl.DataFrame:
    """One row per SKU (the first of duplicates), sorted: its row order is the items' order."""
    require_columns(products, ("sku",), "the product catalogue")
    clean = products.filter(pl.col("sku").is_not_null()).unique("sku", keep="first").sort("sku")
    if clean.is_empty():
        raise RecommendInputError("the product catalogue is empty: there is nothing to recommend")
    return clean


@dataclass
class Period:
    """What one training period gives before any model is fitted."""

    interactions: Interactions
    context: Context
    popularity: Popularity

    def fit(self, content: ContentModel, params: HybridParams, config: RecommendConfig) -> Fitted:
        model = fit_hybrid(self.interactions, content, self.popularity, params, seed=config.seed)
        return Fitted(model, self.context)


def prepare_period(
    lines: pl.DataFrame,
    items: np.ndarray,
    members: np.ndarray,
    customers: pl.DataFrame,
    stores: pl.DataFrame,
    config: RecommendConfig,
    as_of: dt.date | None,
) -> Period:
    """Interactions, member context and popularity of the lines (all before `as_of`)."""
    interactions = build_interactions(
        lines, items, as_of=as_of, half_life_days=config.half_life_days, members=members
    )
    context = member_context(members, lines, customers, stores, config.segment_column)
    segments = pl.DataFrame(
        {"member_key": members, "segment": [g for _, g in context]},
        schema={"member_key": pl.Utf8, "segment": pl.Utf8},
    )
    popularity = fit_popularity(
        lines, items, segments, as_of=interactions.as_of, half_life_days=config.half_life_days
    )
    return Period(interactions, context, popularity)


def run_recommender(
    lines: pl.DataFrame,
    products: pl.DataFrame,
    customers: pl.DataFrame,
    stores: pl.DataFrame,
    *,
    config: RecommendConfig | None = None,
    generated_at: dt.datetime | None = None,
) -> Result:
    """Tune, evaluate and publish. `lines`: member_key, sku, store_id, local_date, quantity."""
    config = config or RecommendConfig()
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    require_columns(lines, (*LINE_COLUMNS, "store_id"), "transaction lines")
    require_columns(customers, ("member_key",), "dim_customer")
    products = clean_catalogue(products)
    items = products["sku"].to_numpy().astype(object)
    content = fit_content(products, neighbours=config.neighbours)
    members = np.sort(
        pl.concat([customers["member_key"], lines["member_key"]]).drop_nulls().unique().to_numpy()
    ).astype(object)
    notes: list[str] = []
    span = periods(lines, config.test_share)
    params, trials = config.default, pl.DataFrame()
    evaluation = pl.DataFrame(schema=EVALUATION_SCHEMA)
    lists: dict[str, pl.DataFrame] = {}
    if span is None:
        notes.append("history too short for a validation and a test period: default settings, "
                     "no evaluation")  # fmt: skip
    else:
        if config.tune:
            train = prepare_period(
                between(lines, None, span.validation_start), items, members, customers, stores,
                config, span.validation_start - dt.timedelta(days=1),
            )  # fmt: skip
            tuned = tune(
                train.interactions, between(lines, span.validation_start, span.test_start),
                content, train.popularity, train.context, config.default, config.search(),
            )  # fmt: skip
            params, trials = tuned.params, tuned.trials
            if trials.is_empty():
                notes.append("nobody with history bought in the validation period: defaults")
        if config.evaluate:
            evaluation, lists = evaluate_period(
                lines, items, members, content, customers, stores, params, config, span,
                generated_at,
            )  # fmt: skip

    final = prepare_period(lines, items, members, customers, stores, config, None).fit(
        content, params, config
    )
    recs = recommendation_frame(final, config.top_n, generated_at)
    return Result(
        recommendations=recs,
        similar_products=similar_products(content, items, config.top_n),
        evaluation=evaluation,
        params=params,
        trials=trials,
        periods=span,
        example=example_member(final, lines, products, recs),
        evaluated_lists=lists,
        notes=notes,
    )


def evaluate_period(
    lines: pl.DataFrame,
    items: np.ndarray,
    members: np.ndarray,
    content: ContentModel,
    customers: pl.DataFrame,
    stores: pl.DataFrame,
    params: HybridParams,
    config: RecommendConfig,
    span: Periods,
    evaluated_at: dt.datetime,
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """Every model trained before the test period, scored on it; plus each model's lists."""
    fitted = prepare_period(
        between(lines, None, span.test_start), items, members, customers, stores, config,
        span.test_start - dt.timedelta(days=1),
    ).fit(content, params, config)  # fmt: skip
    relevant = bought(between(lines, span.test_start, None), members, items)
    buyers = np.diff(relevant.indptr) > 0
    history = fitted.model.interactions.has_history()
    k, n = config.k, max(config.k, config.top_n)
    rows_out: list[tuple[str, str, str, float]] = []
    lists: dict[str, pl.DataFrame] = {}

    def record(model: str, segment: str, metrics: dict[str, float], count: int) -> None:
        rows_out.append((model, segment, "members", float(count)))
        rows_out.extend((model, segment, m, v) for m, v in metrics.items() if np.isfinite(v))

    warm = np.flatnonzero(history & buyers)
    for name in ("popularity", "store_popularity", "als", "content", "hybrid"):
        top, _, _ = fitted.lists(warm, n, name)
        metrics = {
            **ranking_metrics(top, relevant[warm], k),
            f"coverage@{k}": coverage(top[:, :k], items.size),
        }
        metrics |= new_product_metrics(top, relevant[warm], fitted.model.cold_items, k)
        record(name, "members_with_history", metrics, warm.size)
        lists[name] = list_frame(members[warm], top, items)
    cold = np.flatnonzero(~history & buyers)
    for name in ("popularity", "hybrid"):  # hybrid serves them store_popularity
        served = "popularity" if name == "popularity" else "store_popularity"
        ctx = [fitted.context[i] for i in cold]
        top, _ = fitted.model.top(served, cold, ctx, n)
        record(name, "cold_start_members", ranking_metrics(top, relevant[cold], k), cold.size)
    frame = pl.DataFrame(
        rows_out, schema=["model", "segment", "metric", "value"], orient="row"
    ).with_columns(model_family=pl.lit("recommend"), evaluated_at=pl.lit(evaluated_at))
    return frame.select([pl.col(c).cast(t) for c, t in EVALUATION_SCHEMA.items()]), lists


def list_frame(member_keys: np.ndarray, top: np.ndarray, items: np.ndarray) -> pl.DataFrame:
    """member_key, rank, sku of lists (padding dropped)."""
    m, n = top.shape
    keep = top.ravel() >= 0
    return pl.DataFrame(
        {
            "member_key": np.repeat(member_keys, n)[keep],
            "rank": np.tile(np.arange(1, n + 1, dtype=np.int32), m)[keep],
            "sku": items[top.ravel()[keep]],
        },
        schema={"member_key": pl.Utf8, "rank": pl.Int32, "sku": pl.Utf8},
    )


def recommendation_frame(fitted: Fitted, n: int, generated_at: dt.datetime) -> pl.DataFrame:
    """ml.recommendations: the top n of every member (ranks 1.. without gaps)."""
    inter = fitted.model.interactions
    rows = np.arange(inter.members.size)
    top, scores, source = fitted.lists(rows, n)
    keep = top.ravel() >= 0
    frame = list_frame(inter.members, top, inter.items).with_columns(
        score=pl.Series(scores.ravel()[keep], dtype=pl.Float64),
        source=pl.Series(source.ravel()[keep], dtype=pl.Utf8),
        generated_at=pl.lit(generated_at),
    )
    return frame.select([pl.col(c).cast(t) for c, t in RECOMMENDATION_SCHEMA.items()])


def example_member(
    fitted: Fitted, lines: pl.DataFrame, products: pl.DataFrame, recs: pl.DataFrame
) -> dict[str, pl.DataFrame]:
    """One member's purchases beside their list (pseudonymous key only): the member with
    history whose key sorts first among those with the most distinct products, capped at 12."""
    inter = fitted.model.interactions
    distinct = np.minimum(np.diff(inter.matrix.indptr), 12)
    if not distinct.any():
        return {}
    member = inter.members[int(np.argmax(distinct))]
    described = products.select("sku", "product_name", "category", "brand")
    history = (
        lines.filter(pl.col("member_key") == member)
        .group_by("sku")
        .agg(units=pl.col("quantity").sum(), last_bought=pl.col("local_date").max())
        .join(described, on="sku", how="left")
        .sort(["last_bought", "sku"], descending=[True, False])
        .select("sku", "product_name", "category", "brand", "units", "last_bought")
    )
    mine = (
        recs.filter(pl.col("member_key") == member)
        .join(described, on="sku", how="left")
        .sort("rank")
        .select("rank", "sku", "product_name", "category", "brand", "score", "source")
    )
    return {"member_key": pl.DataFrame({"member_key": [member]}), "history": history,
            "recommendations": mine}  # fmt: skip
