"""Comparisons: each segment (or store) against the whole, KPI by KPI, with a significance test.

Every KPI is measured per unit (a member for segments, a trading store-day for stores), so a
group's figure, the whole's figure and the test all rest on the same numbers:

* ``value`` is the group's mean, ``whole`` the mean over every unit, ``rest`` over the others;
* the test is Mann-Whitney U of the group against the rest (two-sided, normal approximation
  with tie and continuity corrections, as ``scipy.stats.mannwhitneyu(method="asymptotic")``).
  Because the rest is everything but the group, one ranking of all units serves every group of
  a KPI: U comes from the group's rank sum, so 1,000 stores cost one sort, not 1,000;
* p-values are corrected for multiple testing over the whole table (Benjamini-Hochberg), since a
  table of a few hundred tests would otherwise show a dozen "significant" differences by chance.

KPIs: visit frequency, basket value, spend and recency per member (segments) or entries,
receipts, conversion, basket value and sales per visitor per store-day (stores); the category
mix as each unit's share of basket lines per category; the hour-of-day profile as the share of a
store-day's entries per hour, or for members the share whose preferred hour it is (the marts keep
no hour per receipt). Conversion does not apply to segments: footfall is not tied to members.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy.special import ndtr
from scipy.stats import false_discovery_control

ALPHA = 0.05
MIN_UNITS = 2  # a group (and its rest) needs this many units for a test
TEST = "mann-whitney-u"

COMPARISON_COLUMNS: dict[str, pl.DataType] = {
    "kpi": pl.String(),
    "level": pl.String(),  # the category or hour of a mix KPI; null otherwise
    "unit": pl.String(),  # what one observation is: member | store-day
    "n": pl.Int64(),
    "value": pl.Float64(),
    "whole": pl.Float64(),
    "rest": pl.Float64(),
    "difference": pl.Float64(),  # value - whole
    "relative_difference": pl.Float64(),  # value / whole - 1 (null when whole is 0)
    "prob_superiority": pl.Float64(),  # P(group unit > rest unit) + P(tie) / 2 = U / (n1 n2)
    "test": pl.String(),
    "p_value": pl.Float64(),
    "p_adjusted": pl.Float64(),  # Benjamini-Hochberg over the table
    "significant": pl.Boolean(),
}
SEGMENT_KPIS = {
    "visit_frequency": "frequency",
    "basket_value": "avg_basket_value",
    "monetary": "monetary",
    "recency_days": "recency_days",
}
STORE_KPIS = {
    "entries": "entries",
    "receipts": "receipts",
    "conversion": "conversion",
    "basket_value": "avg_basket_value",
    "sales_per_visitor": "sales_per_visitor",
}


class ComparisonInputError(ValueError):
    """An input frame cannot be compared (missing columns, no groups)."""


def _require(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = sorted(set(columns) - set(frame.columns))
    if missing:
        raise ComparisonInputError(f"{what} frame lacks columns {missing}")


# --- the test --------------------------------------------------------------------------------


def compare_groups(
    values: pl.DataFrame, group: str, unit: str, alpha: float = ALPHA
) -> pl.DataFrame:
    """Compare every group with the whole, per (kpi, level).

    ``values`` is long: one row per unit, KPI and level, with columns ``group``, ``kpi``,
    ``level`` and ``value``; null values are left out of that KPI.
    """
    _require(values, [group, "kpi", "level", "value"], "KPI values")
    values = values.filter(pl.col("value").is_not_null() & pl.col("value").is_not_nan())
    parts = []
    for (kpi, level), part in values.group_by("kpi", "level", maintain_order=True):
        parts.append(_compare_one(part, group, kpi, level, unit))
    if not parts:
        return pl.DataFrame(schema={group: pl.String(), **COMPARISON_COLUMNS})
    table = pl.concat(parts)
    p = table.get_column("p_value").to_numpy()
    tested = ~np.isnan(p)
    adjusted = np.full(len(p), np.nan)
    if tested.any():
        adjusted[tested] = false_discovery_control(p[tested], method="bh")
    return (
        table.with_columns(p_adjusted=pl.Series(adjusted).fill_nan(None))
        .with_columns(
            pl.col("p_value").fill_nan(None),
            pl.col("prob_superiority").fill_nan(None),
            significant=pl.col("p_adjusted").fill_nan(None) < alpha,
        )
        .select(group, *COMPARISON_COLUMNS)
        .sort(group, "kpi", "level", nulls_last=True)
    )


def _compare_one(part: pl.DataFrame, group: str, kpi: str, level: str | None, unit: str):
    x = part.get_column("value").cast(pl.Float64).to_numpy()
    labels = part.get_column(group).cast(pl.String)
    names = labels.unique().sort()
    codes = labels.replace_strict(
        names, pl.Series(np.arange(len(names))), return_dtype=pl.Int64
    ).to_numpy()
    n_total = len(x)
    n = np.bincount(codes, minlength=len(names)).astype(np.float64)
    sums = np.bincount(codes, weights=x, minlength=len(names))
    whole = x.mean()
    rest_n = n_total - n
    with np.errstate(all="ignore"):
        value = sums / n
        rest = (x.sum() - sums) / rest_n
        relative = np.where(whole != 0, value / whole - 1.0, np.nan)
    u, p = _mann_whitney_against_rest(x, codes, len(names))
    with np.errstate(all="ignore"):
        superiority = u / (n * rest_n)
    return pl.DataFrame(
        {
            group: names,
            "kpi": [kpi] * len(names),
            "level": [level] * len(names),
            "unit": [unit] * len(names),
            "n": n.astype(np.int64),
            "value": value,
            "whole": np.full(len(names), whole),
            "rest": rest,
            "difference": value - whole,
            "relative_difference": relative,
            "prob_superiority": superiority,
            "test": [TEST if not np.isnan(v) else None for v in p],
            "p_value": p,
        },
        schema_overrides={"level": pl.String(), "test": pl.String()},
    ).with_columns(
        pl.col("rest").fill_nan(None),
        pl.col("relative_difference").fill_nan(None),
    )


def _mann_whitney_against_rest(
    x: np.ndarray, codes: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """U of each group against all other units and its two-sided p-value; NaN where the test
    does not apply (too few units on a side, or every value tied)."""
    ranks = _average_ranks(x)
    n_total = len(x)
    n1 = np.bincount(codes, minlength=n_groups).astype(np.float64)
    n2 = n_total - n1
    rank_sum = np.bincount(codes, weights=ranks, minlength=n_groups)
    u = rank_sum - n1 * (n1 + 1) / 2
    _, ties = np.unique(x, return_counts=True)
    tie_term = float((ties**3 - ties).sum())
    with np.errstate(all="ignore"):
        variance = n1 * n2 / 12 * ((n_total + 1) - tie_term / (n_total * (n_total - 1)))
        mean = n1 * n2 / 2
        z = (np.abs(u - mean) - 0.5) / np.sqrt(variance)
        p = np.minimum(1.0, 2 * ndtr(-np.maximum(z, 0.0)))
    applies = (n1 >= MIN_UNITS) & (n2 >= MIN_UNITS) & (variance > 0)
    # |U - mean| below the continuity correction: scipy reports p = 1, so do we.
    p = np.where(applies, p, np.nan)
    return np.where(applies | (n1 > 0), u, np.nan), p


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (``scipy.stats.rankdata``'s default)."""
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    fresh = np.r_[True, ordered[1:] != ordered[:-1]]
    run = np.cumsum(fresh) - 1
    starts = np.flatnonzero(fresh)
    ends = np.r_[starts[1:], len(x)]
    average = (starts + ends + 1) / 2.0  # mean of the 1-based ranks start+1 .. end
    ranks = np.empty(len(x))
    ranks[order] = average[run]
    return ranks


# --- what is measured per unit ---------------------------------------------------------------


def basket_lines(baskets: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """One row per (receipt, SKU) with its category (``unknown`` for a SKU not in products)."""
    _require(baskets, ["receipt_id", "store_id", "local_date", "member_key", "skus"], "baskets")
    _require(products, ["sku", "category"], "products")
    categories = products.select("sku", "category").unique("sku", keep="last")
    return (
        baskets.select("receipt_id", "store_id", "local_date", "member_key", "skus")
        .explode("skus")
        .rename({"skus": "sku"})
        .filter(pl.col("sku").is_not_null())
        .unique(["receipt_id", "sku"])
        .join(categories, on="sku", how="left")
        .with_columns(pl.col("category").fill_null("unknown"))
    )


def _category_shares(lines: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Each unit's share of lines per category, zero-filled over every category seen."""
    counts = lines.group_by(*keys, "category").agg(pl.len().alias("lines"))
    units = counts.select(keys).unique()
    categories = counts.select("category").unique()
    return (
        units.join(categories, how="cross")
        .join(counts, on=[*keys, "category"], how="left")
        .with_columns(pl.col("lines").fill_null(0))
        .with_columns((pl.col("lines") / pl.col("lines").sum().over(keys)).alias("value"))
        .select(
            *keys, pl.lit("category_share").alias("kpi"), pl.col("category").alias("level"), "value"
        )  # fmt: skip
    )


def _long(frame: pl.DataFrame, keys: list[str], kpis: dict[str, str]) -> pl.DataFrame:
    return pl.concat(
        [
            frame.select(
                *keys,
                pl.lit(kpi).alias("kpi"),
                pl.lit(None, pl.String).alias("level"),
                pl.col(column).cast(pl.Float64).alias("value"),
            )
            for kpi, column in kpis.items()
        ]
    )


def segment_comparison(
    customers: pl.DataFrame,
    segments: pl.DataFrame,
    baskets: pl.DataFrame | None = None,
    products: pl.DataFrame | None = None,
    alpha: float = ALPHA,
) -> pl.DataFrame:
    """Every segment of ``customer_segments`` against all members (``ml.segment_comparison``)."""
    _require(customers, ["member_key", *SEGMENT_KPIS.values(), "preferred_hour"], "dim_customer")
    _require(segments, ["member_key", "segment"], "customer_segments")
    members = segments.select("member_key", "segment").join(customers, on="member_key", how="inner")
    if members.height == 0:
        raise ComparisonInputError("no member of customer_segments is in dim_customer")
    keys = ["member_key", "segment"]
    parts = [_long(members, keys, SEGMENT_KPIS)]
    hours = members.filter(pl.col("preferred_hour").is_not_null())
    if hours.height:
        parts.append(
            hours.select(keys)
            .join(hours.select(pl.col("preferred_hour").unique().alias("hour")), how="cross")
            .join(hours.select("member_key", "preferred_hour"), on="member_key")
            .select(
                *keys,
                pl.lit("hour_share").alias("kpi"),
                pl.format("{}", pl.col("hour")).str.zfill(2).alias("level"),
                (pl.col("preferred_hour") == pl.col("hour")).cast(pl.Float64).alias("value"),
            )
        )
    if baskets is not None and products is not None:
        lines = basket_lines(baskets, products).filter(pl.col("member_key").is_not_null())
        lines = lines.join(segments.select("member_key", "segment"), on="member_key")
        if lines.height:
            parts.append(_category_shares(lines, keys))
    return compare_groups(pl.concat(parts).drop("member_key"), "segment", "member", alpha)


def store_comparison(
    conversion_daily: pl.DataFrame,
    footfall_hourly: pl.DataFrame | None = None,
    baskets: pl.DataFrame | None = None,
    products: pl.DataFrame | None = None,
    alpha: float = ALPHA,
) -> pl.DataFrame:
    """Every store against the whole chain, per trading day (``ml.store_comparison``).

    A day with neither entries nor receipts is a closed day and is left out: it says nothing of
    how a store trades.
    """
    keys = ["store_id", "local_date"]
    _require(conversion_daily, [*keys, *STORE_KPIS.values()], "fct_conversion_daily")
    trading = conversion_daily.filter((pl.col("entries") > 0) | (pl.col("receipts") > 0))
    if trading.height == 0:
        raise ComparisonInputError("no trading store-day (every day has no entries and no sales)")
    parts = [_long(trading, keys, STORE_KPIS)]
    days = trading.select(keys)
    if footfall_hourly is not None and footfall_hourly.height:
        _require(footfall_hourly, [*keys, "local_hour", "entries"], "fct_footfall_hourly")
        hourly = footfall_hourly.join(days, on=keys)
        per_day = hourly.group_by(keys).agg(pl.col("entries").sum().alias("total"))
        open_hours = (  # hours in which some store counted someone
            hourly.filter(pl.col("entries") > 0).select(
                pl.col("local_hour").cast(pl.Int32).unique()
            )
        )
        parts.append(
            per_day.filter(pl.col("total") > 0)
            .join(open_hours, how="cross")
            .join(
                hourly.select(*keys, pl.col("local_hour").cast(pl.Int32), "entries"),
                on=[*keys, "local_hour"],
                how="left",
            )
            .select(
                *keys,
                pl.lit("hour_share").alias("kpi"),
                pl.format("{}", pl.col("local_hour")).str.zfill(2).alias("level"),
                (pl.col("entries").fill_null(0) / pl.col("total")).alias("value"),
            )
        )
    if baskets is not None and products is not None:
        lines = basket_lines(baskets, products).join(days, on=keys)
        if lines.height:
            parts.append(_category_shares(lines, keys))
    return compare_groups(pl.concat(parts).drop("local_date"), "store_id", "store-day", alpha)
