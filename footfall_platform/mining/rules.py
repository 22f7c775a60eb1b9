"""Association rules ``A => C`` from frequent itemsets, with arules' conventions.

Every rule is a split of one frequent itemset ``I`` into a non-empty antecedent ``A`` and a
consequent ``C``; its counts are looked up, never re-counted, because ``A`` and ``C`` are subsets of
a frequent itemset and so are frequent themselves. Splits are enumerated per (itemset size,
consequent positions), so each one is a vectorised gather + binary search over all itemsets of that
size at once.

Conventions (chosen to reproduce ``arules::apriori`` exactly):

* Single-item consequents by default, as arules makes them; ``max_consequent_len`` > 1 (or
  ``None`` for any length) adds multi-item consequents, as mlxtend's ``association_rules`` does.
* Rules with an empty antecedent (``{} => {x}``, confidence = support of ``x``) are *not* produced
  by default. arules' ``minlen=1`` default does produce them when an item's support reaches the
  confidence threshold; ``include_empty_antecedent=True`` turns that on. On Groceries at
  confidence 0.5 no item qualifies (whole milk has 0.256), so the published 5,668 rules hold either
  way.
* ``max_len`` bounds the itemset, i.e. antecedent plus consequent (arules ``maxlen``, default 10;
  here the default is no bound).
* Thresholds are decided on integer counts against the threshold as written in decimal
  (:func:`~footfall_platform.mining.itemsets.as_fraction`): support as a minimum basket count
  (:func:`~footfall_platform.mining.itemsets.min_count_for_support`), confidence as
  ``count * q >= count_A * p`` for ``min_confidence = p / q``. So a rule at exactly the threshold
  (53/265 against 0.2) is kept, as in arules; mlxtend divides two already rounded supports and can
  lose such a tie by one ulp. (Only if ``q * count_A`` could overflow int64, e.g. a threshold with
  16 decimals on huge data, does the test fall back to double division, which agrees for any
  realistic count.)
* ``conviction`` is ``float('inf')`` where confidence is 1 (as mlxtend; R's division in arules
  gives ``Inf`` too), never null.
* Metrics are computed from the integer counts (lift as ``count * n / (count_A * count_C)``, one
  rounding), so they are as exact as a double allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import polars as pl
import pyarrow as pa

from footfall_platform.mining.baskets import BasketInput, to_baskets
from footfall_platform.mining.itemsets import (
    MAX_ITEMSETS,
    FrequentItemsets,
    as_fraction,
    min_count_for_support,
    mine_counts,
)

RULE_SCHEMA: dict[str, pl.DataType] = {
    "antecedent": pl.List(pl.String),
    "consequent": pl.List(pl.String),
    "antecedent_support": pl.Float64(),
    "consequent_support": pl.Float64(),
    "support": pl.Float64(),
    "confidence": pl.Float64(),
    "lift": pl.Float64(),
    "leverage": pl.Float64(),
    "conviction": pl.Float64(),
    "count": pl.Int64(),
}
RULE_METRICS: list[str] = [n for n, t in RULE_SCHEMA.items() if t == pl.Float64()]


@dataclass(frozen=True, eq=False)
class RuleMiningResult:
    """Rules plus what is needed to read them: the basket total and the itemsets behind them."""

    rules: pl.DataFrame
    itemsets: FrequentItemsets
    min_support: float
    min_confidence: float
    max_len: int | None
    max_consequent_len: int | None

    @property
    def n_baskets(self) -> int:
        """The support denominator: every basket, empty ones included."""
        return self.itemsets.n_baskets

    @property
    def n_items(self) -> int:
        """Distinct items in the input (frequent or not)."""
        return len(self.itemsets.item_names)

    @property
    def min_count(self) -> int:
        """The support threshold as the basket count actually applied."""
        return self.itemsets.min_count

    def rules_by_length(self) -> dict[int, int]:
        """Rule count by total length (antecedent + consequent), the way arules summarises."""
        if self.rules.height == 0:
            return {}
        lengths = (
            self.rules.select(
                (pl.col("antecedent").list.len() + pl.col("consequent").list.len()).alias("n")
            )
            .get_column("n")
            .value_counts()
            .sort("n")
        )
        return dict(zip(lengths["n"].to_list(), lengths["count"].to_list(), strict=True))


def mine_rules(
    baskets: BasketInput,
    min_support: float,
    min_confidence: float,
    max_len: int | None = None,
    max_consequent_len: int | None = 1,
    include_empty_antecedent: bool = False,
    max_itemsets: int = MAX_ITEMSETS,
) -> RuleMiningResult:
    """Frequent itemsets and association rules in one call.

    ``baskets`` is a list of item lists, a long polars frame with ``receipt_id`` and ``sku``
    columns, or :class:`~footfall_platform.mining.baskets.Baskets`. ``min_support`` is a fraction of
    baskets; ``max_len`` bounds the rule's total length; ``max_consequent_len`` bounds the
    right-hand side (1 = arules, ``None`` = any split, as mlxtend). Rules come sorted by lift,
    then confidence and support, all descending. More than ``max_itemsets`` frequent itemsets
    raise :class:`~footfall_platform.mining.itemsets.TooManyItemsets` instead of running out of
    memory.
    """
    data = to_baskets(baskets)
    min_count = min_count_for_support(min_support, data.n_baskets)
    found = mine_counts(data, min_count, max_len, max_itemsets)
    rules = association_rules(found, min_confidence, max_consequent_len, include_empty_antecedent)
    return RuleMiningResult(rules, found, min_support, min_confidence, max_len, max_consequent_len)


def association_rules(
    itemsets: FrequentItemsets,
    min_confidence: float,
    max_consequent_len: int | None = 1,
    include_empty_antecedent: bool = False,
) -> pl.DataFrame:
    """All rules ``A => C`` with ``A | C`` frequent and confidence ``>= min_confidence``.

    Sorted by lift, confidence and support (descending), then antecedent and consequent names, so
    the output is deterministic.
    """
    if not 0 <= as_fraction(min_confidence) <= 1:
        raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence!r}")
    if max_consequent_len is not None and max_consequent_len < 1:
        raise ValueError(f"max_consequent_len must be at least 1, got {max_consequent_len}")
    n = itemsets.n_baskets
    splits: list[_Split] = []
    for k, level in sorted(itemsets.levels.items()):
        largest = k if include_empty_antecedent else k - 1
        if max_consequent_len is not None:
            largest = min(largest, max_consequent_len)
        for c in range(1, largest + 1):
            for consequent_at in combinations(range(k), c):
                antecedent_at = [j for j in range(k) if j not in consequent_at]
                split = _split(
                    itemsets,
                    level.items,
                    level.counts,
                    antecedent_at,
                    list(consequent_at),
                    min_confidence,
                )
                if split is not None:
                    splits.append(split)
    if not splits:
        return pl.DataFrame(schema=RULE_SCHEMA)
    return _rules_frame(splits, itemsets.item_names, n)


@dataclass(frozen=True, eq=False)
class _Split:
    """Rules of one split pattern: item codes of both sides (rows ascending) and the counts."""

    antecedent: np.ndarray
    consequent: np.ndarray
    count: np.ndarray
    count_a: np.ndarray
    count_c: np.ndarray


def _split(
    itemsets: FrequentItemsets,
    items: np.ndarray,
    count: np.ndarray,
    antecedent_at: list[int],
    consequent_at: list[int],
    min_confidence: float,
) -> _Split | None:
    """Rules from one way of splitting every itemset of one size; ``None`` if none qualify."""
    antecedent = items[:, antecedent_at]
    if antecedent_at:
        count_a = itemsets.levels[len(antecedent_at)].lookup(antecedent)
    else:
        count_a = np.full(len(items), itemsets.n_baskets, np.int64)
    keep = _confident(count, count_a, min_confidence)
    if not keep.any():
        return None
    consequent = items[keep][:, consequent_at]
    count_c = itemsets.levels[len(consequent_at)].lookup(consequent)
    return _Split(antecedent[keep], consequent, count[keep], count_a[keep], count_c)


def _confident(count: np.ndarray, count_a: np.ndarray, min_confidence: float) -> np.ndarray:
    """``count / count_a >= min_confidence`` decided exactly, in integers."""
    exact = as_fraction(min_confidence)
    p, q = exact.numerator, exact.denominator
    largest = int(count_a.max(initial=1))
    if q * largest < 2**62 and p * largest < 2**62:
        return count * q >= count_a * p
    return count / count_a >= min_confidence


def _padded(parts: list[np.ndarray]) -> np.ndarray:
    """Stack code matrices of different widths, padding on the right with -1."""
    width = max(p.shape[1] for p in parts)
    out = np.full((sum(len(p) for p in parts), width), -1, np.int64)
    row = 0
    for p in parts:
        out[row : row + len(p), : p.shape[1]] = p
        row += len(p)
    return out


def _lists(codes: np.ndarray, names: pl.Series) -> pl.Series:
    """``list[str]`` from a -1-padded code matrix, built from offsets (no object per row)."""
    present = codes >= 0
    offsets = np.zeros(len(codes) + 1, np.int64)
    np.cumsum(present.sum(axis=1), out=offsets[1:])
    values = names.gather(codes[present]).to_arrow()
    # from_buffers, not pa.array: pa.array probes for pandas and imports it (~0.2 s, once).
    offsets_array = pa.Array.from_buffers(pa.int64(), len(offsets), [None, pa.py_buffer(offsets)])
    return pl.Series(pa.LargeListArray.from_arrays(offsets_array, values))


def _rules_frame(splits: list[_Split], item_names: np.ndarray, n: int) -> pl.DataFrame:
    """Metrics from integer counts, sorted, as one frame."""
    antecedent = _padded([s.antecedent for s in splits])
    consequent = _padded([s.consequent for s in splits])
    count = np.concatenate([s.count for s in splits])
    count_a = np.concatenate([s.count_a for s in splits])
    count_c = np.concatenate([s.count_c for s in splits])
    nf = float(n)
    confidence = count / count_a
    support = count / nf
    lift = (count * nf) / (count_a.astype(np.float64) * count_c)
    leverage = (count * n - count_a * count_c) / (nf * nf)
    with np.errstate(divide="ignore", invalid="ignore"):
        conviction = ((n - count_c) * count_a) / (nf * (count_a - count))
    conviction[count == count_a] = np.inf
    # np.lexsort: the last key is the primary one. -1 padding sorts a prefix before its extensions.
    keys = [consequent[:, j] for j in reversed(range(consequent.shape[1]))]
    keys += [antecedent[:, j] for j in reversed(range(antecedent.shape[1]))]
    order = np.lexsort([*keys, -support, -confidence, -lift])
    names = pl.Series("name", item_names, dtype=pl.String)
    return pl.DataFrame(
        {
            "antecedent": _lists(antecedent[order], names),
            "consequent": _lists(consequent[order], names),
            "antecedent_support": count_a[order] / nf,
            "consequent_support": count_c[order] / nf,
            "support": support[order],
            "confidence": confidence[order],
            "lift": lift[order],
            "leverage": leverage[order],
            "conviction": conviction[order],
            "count": count[order],
        },
        schema=RULE_SCHEMA,
    )
