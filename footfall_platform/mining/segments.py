"""Customer segments: KMeans on scaled RFM and behaviour features of ``marts.dim_customer``.

Why this shape:

* Money and counts are heavy-tailed (a few members spend a hundred times the median), so they
  are put on a log scale (``sign(x) * log1p(|x|)``, which keeps a net refund negative); without
  it KMeans spends its clusters splitting the top spenders. Shares and the days since the last
  purchase are bounded and stay linear: on a log scale a purchase 2 rather than 30 days ago
  would weigh more than 300 rather than 500 days ago, and the far end is where a lapse shows.
  Every feature is then standardised.
* Basket value is clustered on as its two habits, products per basket and the price position
  within each category (``price_index``): basket value also carries the price level of the
  categories a member favours, i.e. taste, which says nothing about a segment (a bargain hunter
  of electronics spends more per basket than a regular of groceries).
* k is chosen over a range by the Davies-Bouldin index (lowest wins): each cluster against the
  one most like it, spreads over centroid distance, which is the question a named segment has
  to answer (can it be told from its nearest neighbour?). The mean silhouette is measured too
  (on a seeded sample: it costs O(n^2)) and reported. docs/mining.md shows why the index, not
  the silhouette, decides.
* Labels must not move from run to run: rows are sorted by member_key before fitting, KMeans is
  seeded, and clusters are numbered by revenue per member (segment 0 is the most valuable), not
  by KMeans' arbitrary cluster index.
* A segment is named from its centroid's standard scores (``lapsed`` when recency is far above
  the average, ``frequent high spenders`` when frequency and spend both are, ...), so the name
  says why a member is in it.
* KMeans runs on one thread: OpenMP's threads spin-wait on a busy shared machine (a 400-member
  fit took 3.7 s instead of 0.03 s), and a single thread sums in the same order every run.
* Members with no sale receipt have no recency, basket or spend to cluster on; they form their
  own segment ``no purchases yet`` instead of being imputed into one.

docs/mining.md records the features, the k range and what the demo world gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from matplotlib import colormaps
from sklearn import config_context
from sklearn.cluster import KMeans
from sklearn.metrics import davies_bouldin_score, silhouette_score
from threadpoolctl import threadpool_limits

from footfall_platform.charts import new_figure, png_bytes

# RFM, the basket's size and price position, and the membership age: what tells a big spender
# from a bargain hunter, a lapsed member from a new one. docs/mining.md shows what each choice
# (and what was left out, e.g. promotion_share) gives against the planted segments.
FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "avg_basket_items",
    "price_index",
    "tenure_days",
)
# Bounded features, kept on their own scale; every other feature is log-scaled.
LINEAR_FEATURES = frozenset({"recency_days", "promotion_share", "weekend_share", "return_rate"})
# The means per segment in ml.segment_profiles (its columns are a published contract).
PROFILE_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "avg_basket_value",
    "tenure_days",
    "units",
    "return_rate",
    "distinct_categories",
    "weekend_share",
)
K_RANGE = range(2, 9)
SILHOUETTE_SAMPLE = 10_000
NO_PURCHASES = "no purchases yet"

SEGMENT_SCHEMA: dict[str, pl.DataType] = {
    "member_key": pl.String(),
    "segment": pl.String(),
    "segment_id": pl.Int32(),
}

# Standard-score thresholds for naming a centroid, and the words for a feature's low/high side.
_STRONG = 0.75
_TRAITS: dict[str, tuple[str, str]] = {
    "recency_days": ("recently active", "long absent"),
    "frequency": ("rare visits", "frequent visits"),
    "monetary": ("low spend", "high spend"),
    "avg_basket_value": ("small baskets", "big baskets"),
    "avg_basket_items": ("few products per basket", "many products per basket"),
    "price_index": ("cheap picks", "dear picks"),
    "promotion_share": ("rarely on promotion days", "promotion-day shoppers"),
    "tenure_days": ("newer members", "long-standing members"),
    "units": ("few units", "many units"),
    "return_rate": ("few returns", "many returns"),
    "distinct_categories": ("few categories", "many categories"),
    "weekend_share": ("weekday shoppers", "weekend shoppers"),
}


class SegmentationError(ValueError):
    """The input cannot be segmented (too few members, nothing varies, missing columns)."""


@dataclass(frozen=True, eq=False)
class SegmentationResult:
    """Assignments, profiles and the evidence behind the choice of k."""

    customer_segments: pl.DataFrame  # member_key, segment, segment_id
    profiles: pl.DataFrame  # one row per segment
    k: int
    davies_bouldin: dict[int, float]  # k -> Davies-Bouldin index (lower is better): decides k
    silhouettes: dict[int, float]  # k -> mean silhouette on the (sampled) members, for the record
    features: tuple[str, ...]  # the features clustered on
    constant_features: tuple[str, ...]  # requested but constant, so left out
    centroids: pl.DataFrame  # standard scores of each cluster's centre (segment, features...)


def signed_log1p(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def segment_customers(
    customers: pl.DataFrame,
    *,
    features: Sequence[str] = FEATURES,
    k_range: Sequence[int] = K_RANGE,
    seed: int = 0,
    n_init: int = 10,
    silhouette_sample: int = SILHOUETTE_SAMPLE,
) -> SegmentationResult:
    """Segment the members of a ``dim_customer`` frame; see the module docstring for why.

    Raises :class:`SegmentationError` with the reason for empty input, duplicate or null
    member keys, too few buying members for the smallest k, or features that are all constant.
    """
    features = tuple(features)
    ks = sorted({int(k) for k in k_range})
    _check_input(customers, features, ks, k_range)
    frame = customers.sort("member_key")  # the input's row order must not matter
    buyers = frame.filter(pl.col("frequency") > 0)
    idle = frame.filter(~(pl.col("frequency") > 0))
    if buyers.height < ks[0] + 1:
        raise SegmentationError(
            f"{buyers.height} member(s) with a purchase: at least {ks[0] + 1} are needed "
            f"to compare {ks[0]} segments (the smallest k asked for)"
        )
    raw = _feature_matrix(buyers, features)
    spread = np.nanmax(raw, axis=0) - np.nanmin(raw, axis=0)
    varying = tuple(f for f, s in zip(features, spread, strict=True) if s > 0)
    if not varying:
        raise SegmentationError(
            f"every feature is constant across the {buyers.height} buying members "
            f"({', '.join(features)}): there is nothing to segment on"
        )
    scaled = _standardise(raw[:, [features.index(f) for f in varying]])
    k, model, davies_bouldin, silhouettes = _choose_k(scaled, ks, seed, n_init, silhouette_sample)

    # Number clusters by revenue per member, highest first, so ids and names are stable.
    monetary = buyers.get_column("monetary").cast(pl.Float64).fill_null(0.0).to_numpy()
    order = sorted(range(k), key=lambda c: (-monetary[model.labels_ == c].mean(), c))
    rank = np.empty(k, np.int32)
    rank[order] = np.arange(k, dtype=np.int32)
    centres = model.cluster_centers_[order]
    names = name_segments(centres, varying)
    assigned = _assignments(buyers, rank[model.labels_], names, idle)
    return SegmentationResult(
        customer_segments=assigned,
        profiles=segment_profiles(frame, assigned),
        k=k,
        davies_bouldin=davies_bouldin,
        silhouettes=silhouettes,
        features=varying,
        constant_features=tuple(f for f in features if f not in varying),
        centroids=pl.DataFrame(
            {"segment": names, "segment_id": np.arange(k, dtype=np.int32)}
            | {f: centres[:, j] for j, f in enumerate(varying)}
        ),
    )


def _check_input(
    customers: pl.DataFrame, features: tuple[str, ...], ks: list[int], k_range: Sequence[int]
) -> None:
    if not features:
        raise SegmentationError("no features given to cluster on")
    if not ks or ks[0] < 2:
        raise SegmentationError(f"k must be at least 2, got the range {list(k_range)}")
    missing = sorted({"member_key", "frequency", "monetary", *features} - set(customers.columns))
    if missing:
        raise SegmentationError(f"dim_customer frame lacks columns {missing}")
    if customers.height == 0:
        raise SegmentationError("no members to segment: the customer table is empty")
    keys = customers.get_column("member_key")
    if keys.null_count():
        raise SegmentationError(f"{keys.null_count()} member(s) have no member_key")
    if keys.n_unique() != customers.height:
        raise SegmentationError(
            f"member_key is not unique: {customers.height - keys.n_unique()} repeated row(s)"
        )


def _choose_k(
    scaled: np.ndarray, ks: list[int], seed: int, n_init: int, silhouette_sample: int
) -> tuple[int, KMeans, dict[int, float], dict[int, float]]:
    """Fit every usable k; keep the lowest Davies-Bouldin index (ties: the smaller k)."""
    distinct = len(np.unique(scaled, axis=0))
    usable = [k for k in ks if k < min(len(scaled), distinct + 1)]
    if not usable:
        raise SegmentationError(
            f"only {distinct} distinct feature profile(s) among {len(scaled)} members: "
            f"cannot form {ks[0]} segments"
        )
    rng = np.random.default_rng(seed)
    sample = (
        np.sort(rng.choice(len(scaled), silhouette_sample, replace=False))
        if len(scaled) > silhouette_sample
        else slice(None)
    )
    davies_bouldin: dict[int, float] = {}
    silhouettes: dict[int, float] = {}
    fits: dict[int, KMeans] = {}
    # Silhouettes are computed over distance blocks of at most 64 MB (sklearn's default is 1 GB).
    with threadpool_limits(limits=1), config_context(working_memory=64):
        for k in usable:
            model = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(scaled)
            if len(np.unique(model.labels_)) < 2:
                continue
            davies_bouldin[k] = float(davies_bouldin_score(scaled, model.labels_))
            labels = model.labels_[sample]
            if len(np.unique(labels)) > 1:  # a sample can miss a tiny cluster
                silhouettes[k] = float(silhouette_score(scaled[sample], labels))
            fits[k] = model
    if not davies_bouldin:
        raise SegmentationError("no k in the range gave two or more distinct clusters")
    k = min(davies_bouldin, key=lambda x: (davies_bouldin[x], x))
    return k, fits[k], davies_bouldin, silhouettes


def _assignments(
    buyers: pl.DataFrame, segment_id: np.ndarray, names: list[str], idle: pl.DataFrame
) -> pl.DataFrame:
    """member_key, segment, segment_id for every member; the idle ones after the clusters."""
    k = len(names)
    parts = [
        pl.DataFrame(
            {
                "member_key": buyers.get_column("member_key"),
                "segment": [names[i] for i in segment_id],
                "segment_id": segment_id,
            },
            schema=SEGMENT_SCHEMA,
        )
    ]
    if idle.height:
        parts.append(
            pl.DataFrame(
                {
                    "member_key": idle.get_column("member_key"),
                    "segment": [NO_PURCHASES] * idle.height,
                    "segment_id": [k] * idle.height,
                },
                schema=SEGMENT_SCHEMA,
            )
        )
    return pl.concat(parts).sort("member_key")


def _feature_matrix(frame: pl.DataFrame, features: Sequence[str]) -> np.ndarray:
    """Features on their scale (log but for LINEAR_FEATURES); a missing value (e.g. no price
    measured) becomes the median."""
    columns = []
    for name in features:
        values = frame.get_column(name).cast(pl.Float64).to_numpy().astype(np.float64)
        if name not in LINEAR_FEATURES:
            values = signed_log1p(values)
        if np.isnan(values).all():
            values = np.zeros_like(values)
        elif np.isnan(values).any():
            values = np.where(np.isnan(values), np.nanmedian(values), values)
        columns.append(values)
    return np.column_stack(columns)


def _standardise(matrix: np.ndarray) -> np.ndarray:
    return (matrix - matrix.mean(axis=0)) / matrix.std(axis=0)


def name_segments(centres: np.ndarray, features: tuple[str, ...]) -> list[str]:
    """A readable, unique name per centroid (rows are standard scores in ``features`` order)."""
    z = [dict(zip(features, row, strict=True)) for row in centres]
    names = [_primary_name(scores) for scores in z]
    for name in dict.fromkeys(names):
        same = [i for i, n in enumerate(names) if n == name]
        if len(same) < 2:
            continue
        used: set[str] = set()
        for i in same[1:]:
            trait = _distinguishing_trait(z[i], z[same[0]], used)
            used.add(trait)
            names[i] = f"{name} ({trait})"
    seen: dict[str, int] = {}
    for i, name in enumerate(names):  # a last resort: equal names and equal traits
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[i] = f"{name} #{seen[name]}"
    return names


def _primary_name(z: dict[str, float]) -> str:
    def score(feature: str) -> float:
        return z.get(feature, 0.0)

    if score("recency_days") >= _STRONG:
        return "lapsed"
    if score("tenure_days") <= -_STRONG:
        return "new members"
    if score("frequency") >= _STRONG and score("monetary") >= _STRONG:
        return "frequent high spenders"
    if (
        score("price_index") <= -_STRONG
        or score("promotion_share") >= _STRONG
        or score("avg_basket_value") <= -_STRONG
    ):
        return "bargain hunters"
    if score("frequency") >= _STRONG:
        return "frequent visitors"
    if score("monetary") >= _STRONG or score("avg_basket_value") >= _STRONG:
        return "high spenders"
    if score("frequency") <= -_STRONG:
        return "occasional"
    return "regulars"


def _distinguishing_trait(z: dict[str, float], other: dict[str, float], used: set[str]) -> str:
    gaps = sorted(z, key=lambda f: (-abs(z[f] - other.get(f, 0.0)), f))
    for feature in gaps:
        low, high = _TRAITS.get(feature, (f"lower {feature}", f"higher {feature}"))
        trait = high if z[feature] > other.get(feature, 0.0) else low
        if trait not in used:
            return trait
    return "variant"


def segment_profiles(customers: pl.DataFrame, assigned: pl.DataFrame) -> pl.DataFrame:
    """Size, member and revenue shares, and mean features per segment (ordered by segment_id)."""
    present = [f for f in PROFILE_FEATURES if f in customers.columns]
    joined = assigned.join(customers.select("member_key", *present), on="member_key")
    total_revenue = float(joined.get_column("monetary").cast(pl.Float64).sum() or 0.0)
    members = joined.height
    return (
        joined.group_by("segment_id", "segment")
        .agg(
            pl.len().cast(pl.Int64).alias("size"),
            pl.col("monetary").cast(pl.Float64).sum().alias("revenue"),
            *[pl.col(f).cast(pl.Float64).mean().alias(f"mean_{f}") for f in present],
        )
        .with_columns(
            (pl.col("size") / members).alias("member_share"),
            (
                pl.col("revenue") / total_revenue if total_revenue else pl.lit(None, pl.Float64)
            ).alias("revenue_share"),
        )
        .sort("segment_id")
        .select(
            "segment",
            "segment_id",
            "size",
            "member_share",
            "revenue",
            "revenue_share",
            *[f"mean_{f}" for f in present],
        )
    )


def segment_chart(customers: pl.DataFrame, result: SegmentationResult) -> bytes:
    """Members by visits and spend, coloured by segment, beside each segment's member and
    revenue shares: what a segment is and what it is worth, in one picture (PNG bytes)."""
    figure = new_figure(11.0, 4.5)
    scatter, bars = figure.subplots(1, 2, width_ratios=[3, 2])
    joined = result.customer_segments.join(
        customers.select("member_key", "frequency", "monetary"), on="member_key"
    )
    profiles = result.profiles
    cmap = colormaps["tab10"]
    for i, row in enumerate(profiles.iter_rows(named=True)):
        part = joined.filter(pl.col("segment_id") == row["segment_id"])
        scatter.scatter(
            part.get_column("frequency").cast(pl.Float64).to_numpy() + 1,
            np.maximum(part.get_column("monetary").cast(pl.Float64).to_numpy(), 0) + 1,
            s=8,
            alpha=0.6,
            color=cmap(i % 10),
            label=f"{row['segment']} ({row['size']})",
        )
    scatter.set_xscale("log")
    scatter.set_yscale("log")
    scatter.set_xlabel("sale receipts + 1")
    scatter.set_ylabel("net revenue + 1")
    scatter.set_title(
        f"{result.k} segments (Davies-Bouldin index {result.davies_bouldin[result.k]:.2f})"
    )
    scatter.legend(fontsize=8, markerscale=2)
    y = np.arange(profiles.height)
    bars.barh(y - 0.2, profiles.get_column("member_share").to_numpy(), 0.4, label="members")
    revenue = profiles.get_column("revenue_share").fill_null(0.0).to_numpy()
    bars.barh(y + 0.2, revenue, 0.4, label="revenue")
    bars.set_yticks(y, profiles.get_column("segment").to_list(), fontsize=8)
    bars.invert_yaxis()
    bars.set_xlabel("share")
    bars.legend(fontsize=8)
    return png_bytes(figure)
