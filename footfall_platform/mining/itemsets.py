"""Frequent itemsets: Eclat on packed bitsets, projected by first item, batched level-wise.

Why this shape:

* Eclat (vertical layout) turns support counting into ``popcount(a & b)`` over 64-bit words, which
  numpy does in C for a whole block of candidates at once, so the Python interpreter runs a few
  dozen operations per *level*, not per basket or per itemset.
* Items are ordered by ascending count and every itemset is extended only with later (more
  frequent) items. Each first item ("root") gets its own projected database: only the baskets that
  contain it, renumbered densely. A rare root therefore has short bitsets and many extensions, a
  common root long bitsets and few extensions, which keeps ``candidates x words`` small, and no
  bit row is ever as long as the whole data set unless its root is in every basket.
* The projections are built straight from the CSR baskets ("occurrence delivery"): for a root at
  position ``q`` of a basket, the later items of that basket are its co-occurring items. Their
  counts give every frequent pair, their positions give the bit rows.
* Roots of similar projected size are batched (widths within a factor of two), so a batch is a
  rectangular array and one level of one batch is one vectorised step.
* A candidate ``P + {x, y}`` is only counted when the pair ``{x, y}`` is frequent (Apriori's
  subset check, restricted to pairs, where it is cheap and prunes most).

Counts are exact integers throughout; ``min_count`` is the only threshold the miner sees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import numpy as np
import polars as pl

from footfall_platform.mining.baskets import BasketInput, Baskets, to_baskets

# Upper bound on the words of one temporary candidate block (16 MB of uint64 per array).
_CHUNK_WORDS = 1 << 21
# Upper bound on the (root, co-item) triples gathered for one batch of roots.
_BATCH_TRIPLES = 1 << 21
# Projected widths (in 64-bit words) up to this are batched together regardless of their ratio.
_SMALL_WIDTH = 8
# Above this many frequent items the frequent-pair table is a sorted array, not a dense matrix.
_DENSE_PAIRS_MAX_ITEMS = 4096
# More frequent itemsets than this and mining stops with a clear error instead of filling memory
# (each itemset of size k keeps 4k + 8 bytes, and rules multiply them): 20 million is ~1 GB.
MAX_ITEMSETS = 20_000_000


class TooManyItemsets(RuntimeError):
    """The support threshold is so low that the frequent itemsets would not fit in memory."""


def as_fraction(threshold: float) -> Fraction:
    """A threshold as the decimal the user wrote: ``0.1`` is exactly 1/10, not the binary double.

    ``repr`` of a float is the shortest decimal that reads back as the same double, so this
    recovers ``0.001``, ``0.07`` or ``0.5`` exactly and lets ties be decided in integers.
    """
    value = float(threshold)
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    return Fraction(repr(value))


def min_count_for_support(min_support: float, n_baskets: int) -> int:
    """The smallest basket count ``c >= 1`` with ``c / n_baskets >= min_support``, exactly.

    arules keeps an itemset when its relative support is ``>= minsup``; deciding that on the
    integer count (``ceil(p * n / q)`` for ``min_support = p / q`` as written) gives the same
    answer without the rounding trap of ``ceil(min_support * n)``, where the product can land one
    ulp above an integer (``0.07 * 100 == 7.000000000000001``) and demand one basket too many.
    On Groceries ``0.001 * 9835 = 9.835``, so the count threshold is 10, as in arules.
    """
    exact = as_fraction(min_support)
    if not 0 <= exact <= 1:
        raise ValueError(f"min_support must be a fraction in [0, 1], got {min_support!r}")
    if n_baskets <= 0:
        return 1
    return max(1, math.ceil(exact * n_baskets))


@dataclass(frozen=True, eq=False)
class ItemsetLevel:
    """All frequent itemsets of one size ``k``.

    ``items`` is ``(p, k)`` int32 item codes, each row ascending (so in item-name order) and the
    rows in lexicographic order, which makes exact lookup a binary search.
    """

    items: np.ndarray
    counts: np.ndarray  # int64, shape (p,)
    n_items: int

    def __len__(self) -> int:
        return len(self.counts)

    def _keys(self, rows: np.ndarray) -> np.ndarray:
        k = rows.shape[1]
        if self.n_items**k < 2**62:  # mixed radix fits an int64 and keeps lexicographic order
            key = np.zeros(len(rows), np.int64)
            for j in range(k):
                key = key * self.n_items + rows[:, j]
            return key
        packed = np.ascontiguousarray(rows.astype(">u4"))  # big-endian bytes sort like the rows
        return packed.view(f"V{4 * k}").ravel()

    def lookup(self, rows: np.ndarray) -> np.ndarray:
        """Counts of the given itemsets (rows ascending). Every row must be frequent."""
        if len(rows) == 0:
            return np.zeros(0, np.int64)
        table = self.sorted_keys
        keys = self._keys(rows)
        at = np.searchsorted(table, keys)
        at_ok = np.minimum(at, len(table) - 1)
        if not np.array_equal(table[at_ok], keys):
            raise KeyError("itemset lookup found an itemset that is not frequent")
        return self.counts[at_ok]

    @cached_property
    def sorted_keys(self) -> np.ndarray:
        """One sortable key per row (rows are already in lexicographic order)."""
        return self._keys(self.items)


@dataclass(frozen=True, eq=False)
class FrequentItemsets:
    """Every itemset contained in at least ``min_count`` of ``n_baskets`` baskets, by size."""

    n_baskets: int
    min_count: int
    item_names: np.ndarray
    item_counts: np.ndarray  # count of every item, frequent or not
    levels: dict[int, ItemsetLevel]

    def __len__(self) -> int:
        return sum(len(level) for level in self.levels.values())

    def to_frame(self) -> pl.DataFrame:
        """One row per itemset: ``itemset`` (sorted names), ``length``, ``count``, ``support``."""
        frames = [
            pl.DataFrame(
                {
                    "itemset": codes_to_lists(level.items, self.item_names),
                    "length": np.full(len(level), k, np.int64),
                    "count": level.counts,
                },
                schema={"itemset": pl.List(pl.String), "length": pl.Int64, "count": pl.Int64},
            )
            for k, level in sorted(self.levels.items())
        ]
        if not frames:
            return pl.DataFrame(
                schema={
                    "itemset": pl.List(pl.String),
                    "length": pl.Int64,
                    "count": pl.Int64,
                    "support": pl.Float64,
                }
            )
        out = pl.concat(frames)
        return out.with_columns((pl.col("count") / max(self.n_baskets, 1)).alias("support"))


def codes_to_lists(codes: np.ndarray, names: np.ndarray) -> pl.Series:
    """A ``list[str]`` series from a ``(p, k)`` code matrix without a Python object per row."""
    p, k = codes.shape
    if k == 0:
        return pl.Series("", [[]] * p, dtype=pl.List(pl.String))
    values = pl.Series("v", names, dtype=pl.String).gather(codes.ravel().astype(np.int64))
    return values.reshape((p, k)).cast(pl.List(pl.String))


def frequent_itemsets(
    baskets: BasketInput,
    min_support: float,
    max_len: int | None = None,
    max_itemsets: int = MAX_ITEMSETS,
) -> FrequentItemsets:
    """Mine all itemsets with support ``>= min_support`` and at most ``max_len`` items."""
    data = to_baskets(baskets)
    min_count = min_count_for_support(min_support, data.n_baskets)
    return mine_counts(data, min_count, max_len, max_itemsets)


def mine_counts(
    data: Baskets, min_count: int, max_len: int | None = None, max_itemsets: int = MAX_ITEMSETS
) -> FrequentItemsets:
    """Mine with an absolute count threshold (``min_count >= 1``).

    Raises :class:`TooManyItemsets` as soon as more than ``max_itemsets`` itemsets are found,
    before they can exhaust memory.
    """
    if max_len is not None and max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    if max_itemsets < 1:
        raise ValueError(f"max_itemsets must be at least 1, got {max_itemsets}")
    limit = max_len if max_len is not None else np.iinfo(np.int32).max
    min_count = max(1, int(min_count))
    m = data.n_items
    item_counts = np.bincount(data.indices, minlength=m).astype(np.int64)
    frequent = np.flatnonzero(item_counts >= min_count)
    levels: dict[int, ItemsetLevel] = {}
    if len(frequent) > max_itemsets:
        raise TooManyItemsets(_too_many(max_itemsets, min_count, data.n_baskets))
    if len(frequent):
        levels[1] = ItemsetLevel(frequent[:, None].astype(np.int32), item_counts[frequent], m)
    if limit >= 2 and len(frequent) >= 2:
        # f-order: ascending count, ties by name; fid is the position in this order.
        order = frequent[np.lexsort((frequent, item_counts[frequent]))]
        found = _Eclat(data, order, min_count, limit, max_itemsets, len(frequent)).run()
        for k, (rows, counts) in found.items():
            names = np.sort(order[rows], axis=1).astype(np.int32)
            sort = np.lexsort(names.T[::-1])
            levels[k] = ItemsetLevel(names[sort], counts[sort], m)
    return FrequentItemsets(data.n_baskets, min_count, data.item_names, item_counts, levels)


def _too_many(max_itemsets: int, min_count: int, n_baskets: int) -> str:
    return (
        f"more than {max_itemsets:,} frequent itemsets at a support of {min_count:,} of "
        f"{n_baskets:,} baskets: raise min_support or set max_len (or max_itemsets, if the "
        "memory is there)"
    )


class _PairTable:
    """Which pairs of frequent items (by fid, ``x < y``) are frequent: the pruning oracle."""

    def __init__(self, n: int) -> None:
        self._n = n
        self._dense = np.zeros((n, n), bool) if n <= _DENSE_PAIRS_MAX_ITEMS else None
        self._parts: list[np.ndarray] = []
        self._sorted: np.ndarray | None = np.zeros(0, np.int64)

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        if self._dense is not None:
            self._dense[x, y] = True
        else:
            self._parts.append(x.astype(np.int64) * self._n + y)
            self._sorted = None

    def contains(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if self._dense is not None:
            return self._dense[x, y]
        if self._sorted is None:
            self._sorted = np.sort(np.concatenate(self._parts)) if self._parts else np.zeros(0)
        keys = x.astype(np.int64) * self._n + y
        at = np.minimum(np.searchsorted(self._sorted, keys), max(len(self._sorted) - 1, 0))
        return self._sorted[at] == keys if len(self._sorted) else np.zeros(len(keys), bool)


def _segments(lengths: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(starts[i], starts[i] + lengths[i])`` for all i, vectorised."""
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    return np.arange(total, dtype=np.int64) - np.repeat(offsets - starts, lengths)


def _pack_bits(rows: np.ndarray, positions: np.ndarray, n_rows: int, width: int) -> np.ndarray:
    """Bit matrix ``(n_rows, width)`` of uint64 with bit ``positions[i]`` set in ``rows[i]``.

    Each (row, position) pair occurs once, so OR equals SUM: two float bincounts (bits 0-31 and
    32-63, exact below 2**53) build the words without a Python loop or a byte matrix.
    """
    word = rows * width + (positions >> 6)
    bit = positions & 63
    low = bit < 32
    size = n_rows * width
    lo = np.bincount(word[low], weights=np.ldexp(1.0, bit[low]), minlength=size)
    hi = np.bincount(word[~low], weights=np.ldexp(1.0, bit[~low] - 32), minlength=size)
    packed = lo.astype(np.uint64) | (hi.astype(np.uint64) << np.uint64(32))
    return packed.reshape(n_rows, width)


_BYTE_BITS = np.array([bin(i).count("1") for i in range(256)], np.uint8)


def _popcount_rows(words: np.ndarray) -> np.ndarray:
    """Set bits per row of a uint64 matrix (``np.bitwise_count`` on numpy 2, a table before)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words).sum(axis=1, dtype=np.int64)
    as_bytes = words.view(np.uint8).reshape(len(words), -1)
    return _BYTE_BITS[as_bytes].sum(axis=1, dtype=np.int64)


class _Eclat:
    """One mining run over baskets already restricted to frequent items."""

    def __init__(
        self, data: Baskets, order: np.ndarray, min_count: int, limit: int, max_itemsets: int,
        found_already: int,
    ) -> None:  # fmt: skip
        self.min_count = min_count
        self.limit = limit
        self.max_itemsets = max_itemsets
        self.budget = max_itemsets - found_already  # itemsets that may still be found
        self.n_baskets = data.n_baskets
        self.mf = mf = len(order)
        fid_of = np.full(data.n_items, -1, np.int32)
        fid_of[order] = np.arange(mf)
        owner = np.repeat(np.arange(data.n_baskets, dtype=np.int32), data.lengths)
        fid = fid_of[data.indices]
        keep = fid >= 0
        owner, fid = owner[keep], fid[keep]
        # Baskets with fewer than two frequent items hold no pair: drop them.
        keep = np.bincount(owner, minlength=data.n_baskets)[owner] >= 2
        owner, fid = owner[keep], fid[keep]
        # CSR with items in fid order inside each basket (owner is already ascending).
        key = pl.Series("k", owner.astype(np.int64) * mf + fid, dtype=pl.Int64).sort().to_numpy()
        del owner, fid, keep
        owner = key // mf
        self.csr_fid = (key - owner * mf).astype(np.int32)
        del key
        first = np.ones(len(owner), bool)
        first[1:] = owner[1:] != owner[:-1]
        starts = np.flatnonzero(first)
        ends = np.append(starts[1:], len(owner))
        del owner
        # End of the basket holding each entry (int32 where it fits: this and csc are the big ones).
        index = np.int32 if len(first) < 2**31 else np.int64
        self.entry_end = ends.astype(index)[np.cumsum(first, dtype=index) - 1]
        # CSC: entries grouped by fid, baskets ascending (a stable sort; radix for <= 16 bits).
        sort_key = self.csr_fid.astype(np.uint16) if mf <= 1 << 16 else self.csr_fid
        self.csc = np.argsort(sort_key, kind="stable").astype(index)
        self.col_ptr = np.zeros(mf + 1, np.int64)
        np.cumsum(np.bincount(self.csr_fid, minlength=mf), out=self.col_ptr[1:])
        self.pairs = _PairTable(mf)
        self.found: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}

    def run(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        for lo, hi in self._batches():
            self._mine_batch(lo, hi)
        return {
            k: (np.concatenate([r for r, _ in parts]), np.concatenate([c for _, c in parts]))
            for k, parts in self.found.items()
        }

    def _batches(self) -> list[tuple[int, int]]:
        """Contiguous root ranges, most frequent first, of similar width and bounded work."""
        n_root = np.diff(self.col_ptr)
        suffix = self.entry_end[self.csc] - self.csc - 1  # later items after each occurrence
        cum = np.concatenate(([0], np.cumsum(suffix)))
        work = cum[self.col_ptr[1:]] - cum[self.col_ptr[:-1]]
        words = np.maximum((n_root + 63) // 64, 1)
        batches: list[tuple[int, int]] = []
        hi = self.mf - 1
        while hi >= 0:
            lo, w_min, w_max, total = hi, words[hi], words[hi], work[hi]
            while lo > 0:
                w = words[lo - 1]
                w_min2, w_max2 = min(w_min, w), max(w_max, w)
                fits = w_max2 <= max(2 * w_min2, _SMALL_WIDTH)
                small = total + work[lo - 1] <= _BATCH_TRIPLES
                narrow = (hi - lo + 2) * self.mf <= 1 << 24
                if not (fits and small and narrow):
                    break
                lo, w_min, w_max, total = lo - 1, w_min2, w_max2, total + work[lo - 1]
            if total > 0:
                batches.append((lo, hi))
            hi = lo - 1
        return batches

    def _spend(self, n: int) -> None:
        """Count ``n`` more itemsets against the budget; stop the run when it is spent."""
        self.budget -= n
        if self.budget < 0:
            raise TooManyItemsets(_too_many(self.max_itemsets, self.min_count, self.n_baskets))

    def _store(self, k: int, rows: np.ndarray, counts: np.ndarray) -> None:
        if len(counts):
            self.found.setdefault(k, []).append((rows, counts))

    def _mine_batch(self, lo: int, hi: int) -> None:
        mf, min_count = self.mf, self.min_count
        n_roots = hi - lo + 1
        s, e = self.col_ptr[lo], self.col_ptr[hi + 1]
        n_root = np.diff(self.col_ptr[lo : hi + 2])
        q = self.csc[s:e]  # CSR position of each occurrence of a root
        root = np.repeat(np.arange(n_roots, dtype=np.int64), n_root)
        pos = np.arange(e - s, dtype=np.int64) - np.repeat(self.col_ptr[lo : hi + 1] - s, n_root)
        later = self.entry_end[q] - q - 1
        gather = _segments(later, q + 1)
        co_item = self.csr_fid[gather]
        pair_key = np.repeat(root, later) * mf + co_item
        pair_count = np.bincount(pair_key, minlength=n_roots * mf)
        frequent = np.flatnonzero(pair_count >= min_count)
        if len(frequent) == 0:
            return
        first, last = frequent // mf, frequent % mf
        counts = pair_count[frequent].astype(np.int64)
        self._spend(len(frequent))
        self.pairs.add(first + lo, last)
        self._store(2, np.column_stack((first + lo, last)), counts)
        if self.limit <= 2:
            return
        row_of = np.full(n_roots * mf, -1, np.int64)
        row_of[frequent] = np.arange(len(frequent))
        rows = row_of[pair_key]
        hit = rows >= 0
        width = int((n_root.max() + 63) // 64)
        bits = _pack_bits(rows[hit], np.repeat(pos, later)[hit], len(frequent), width)
        items = np.column_stack((first + lo, last))
        self._deepen(bits, first, last, items)

    def _deepen(self, bits: np.ndarray, cls: np.ndarray, last: np.ndarray, items: np.ndarray):
        """Level-wise Eclat inside one batch: join siblings (same prefix) pairwise, count, keep."""
        k = items.shape[1]
        while k < self.limit and len(cls) > 1:
            n = len(cls)
            new_class = np.ones(n, bool)
            new_class[1:] = cls[1:] != cls[:-1]
            class_start = np.flatnonzero(new_class)
            class_end = np.append(class_start[1:], n)[np.cumsum(new_class) - 1]
            partners = class_end - np.arange(n) - 1
            left = np.repeat(np.arange(n, dtype=np.int64), partners)
            right = _segments(partners, np.arange(1, n + 1, dtype=np.int64))
            if len(left) == 0:
                return
            ok = self.pairs.contains(last[left], last[right])
            left, right = left[ok], right[ok]
            if len(left) == 0:
                return
            keep_left, keep_right, keep_bits, keep_counts = [], [], [], []
            deeper = k + 1 < self.limit  # the last level needs counts only, not bit rows
            width = bits.shape[1]
            step = max(1, _CHUNK_WORDS // max(width, 1))
            for c in range(0, len(left), step):
                li, ri = left[c : c + step], right[c : c + step]
                joined = bits[li]
                np.bitwise_and(joined, bits[ri], out=joined)
                counts = _popcount_rows(joined)
                good = counts >= self.min_count
                if good.any():
                    self._spend(int(good.sum()))  # before the level grows any further
                    keep_left.append(li[good])
                    keep_right.append(ri[good])
                    keep_counts.append(counts[good])
                    if deeper:
                        keep_bits.append(joined[good])
            if not keep_left:
                return
            li, ri = np.concatenate(keep_left), np.concatenate(keep_right)
            counts = np.concatenate(keep_counts)
            k += 1
            items = np.column_stack((items[li], last[ri]))
            self._store(k, items, counts)
            bits = np.concatenate(keep_bits) if deeper else bits[:0]
            cls, last = li, last[ri]
