"""Association rule engine: arules' published Groceries result, mlxtend agreement, edge cases.

The reference numbers are the published arules output, so a regression in counting, thresholds
or rule generation shows up as a different rule count or metric, not as a silently changed table.
"""

from __future__ import annotations

import inspect
import random
import subprocess
import sys
from collections import Counter
from fractions import Fraction
from itertools import combinations
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import footfall_platform.mining.itemsets as itemsets_module
from footfall_platform.mining import (
    RULE_SCHEMA,
    frequent_itemsets,
    from_lists,
    min_count_for_support,
    mine_rules,
    read_baskets_csv,
)
from footfall_platform.mining.rules import RULE_METRICS
from footfall_platform.mining.rules_cli import main as rules_main

DATA = Path(__file__).parent / "data"
GROCERIES = DATA / "groceries.csv"
METRICS = RULE_METRICS
MLXTEND_METRICS = [m.replace("_", " ") for m in METRICS]


@pytest.fixture(scope="module")
def groceries_lists() -> list[list[str]]:
    return [line.rstrip("\n").split(",") for line in GROCERIES.read_text().splitlines(True)]


@pytest.fixture(scope="module")
def groceries():
    return read_baskets_csv(GROCERIES)


# --- the published arules result -------------------------------------------------------------


def test_groceries_reads_verbatim(groceries) -> None:
    assert groceries.n_baskets == 9835
    assert groceries.n_items == 169
    assert len(groceries.indices) == 43367
    names = list(groceries.item_names)
    assert "cream cheese " in names and "cream cheese" not in names
    counts = dict(zip(names, np.bincount(groceries.indices), strict=True))
    assert [counts[i] for i in ["whole milk", "other vegetables", "rolls/buns", "soda"]] == [
        2513,
        1903,
        1809,
        1715,
    ]


def test_groceries_matches_arules(groceries) -> None:
    result = mine_rules(groceries, min_support=0.001, min_confidence=0.5)
    assert result.n_baskets == 9835
    assert result.min_count == 10  # support >= 0.001 with 9835 baskets means 10 baskets
    assert result.rules.height == 5668
    assert result.rules_by_length() == {2: 11, 3: 1461, 4: 3211, 5: 939, 6: 46}
    assert result.rules.schema == pl.Schema(RULE_SCHEMA)
    top = result.rules.row(0, named=True)
    assert top["antecedent"] == ["Instant food products", "soda"]
    assert top["consequent"] == ["hamburger meat"]
    assert top["count"] == 12
    assert top["support"] == pytest.approx(0.001220132, rel=1e-6)
    assert top["confidence"] == pytest.approx(0.6315789, rel=1e-6)
    assert top["lift"] == pytest.approx(18.99565, rel=1e-6)
    assert f"{top['lift']:.6g}" == "18.9957"
    # Every antecedent is sorted and every consequent has one item (the arules convention).
    assert result.rules["consequent"].list.len().unique().to_list() == [1]
    assert (result.rules["antecedent"] == result.rules["antecedent"].list.sort()).all()
    assert result.rules["lift"].is_sorted(descending=True)


def test_groceries_from_lists_and_long_frame_agree(groceries, groceries_lists) -> None:
    expected = mine_rules(groceries, 0.002, 0.4).rules
    from_list = mine_rules(groceries_lists, 0.002, 0.4).rules
    long = pl.DataFrame(
        {
            "receipt_id": [f"r{i}" for i, b in enumerate(groceries_lists) for _ in b],
            "sku": [item for b in groceries_lists for item in b],
        }
    )
    from_frame = mine_rules(long, 0.002, 0.4).rules
    assert expected.height > 100
    assert from_list.equals(expected)
    assert from_frame.equals(expected)


# --- cross-check against mlxtend ------------------------------------------------------------


@pytest.fixture(scope="module")
def groceries_onehot(groceries_lists):
    pd = pytest.importorskip("pandas")
    preprocessing = pytest.importorskip("mlxtend.preprocessing")
    encoder = preprocessing.TransactionEncoder()
    matrix = encoder.fit(groceries_lists).transform(groceries_lists)
    return pd.DataFrame(matrix, columns=encoder.columns_)


def _mlxtend_rules(onehot, min_support, min_confidence, max_len, max_consequent_len):
    patterns = pytest.importorskip("mlxtend.frequent_patterns")
    found = patterns.fpgrowth(onehot, min_support=min_support, use_colnames=True, max_len=max_len)
    rules = patterns.association_rules(
        found,
        num_itemsets=len(onehot),
        metric="confidence",
        min_threshold=min_confidence,
        return_metrics=MLXTEND_METRICS,
    )
    table = {}
    for a, c, values in zip(
        rules["antecedents"], rules["consequents"], rules[MLXTEND_METRICS].to_numpy(), strict=True
    ):
        if max_consequent_len is None or len(c) <= max_consequent_len:
            table[(tuple(sorted(a)), tuple(sorted(c)))] = values
    return table


@pytest.mark.parametrize(
    ("min_support", "min_confidence", "max_len", "max_consequent_len"),
    [
        (0.005, 0.2, None, 1),
        (0.01, 0.1, None, 1),
        (0.002, 0.3, 3, 1),
        (0.005, 0.1, None, None),
        (0.003, 0.25, 4, 2),
    ],
)
def test_matches_mlxtend(
    groceries, groceries_onehot, min_support, min_confidence, max_len, max_consequent_len
) -> None:
    ours = mine_rules(
        groceries,
        min_support,
        min_confidence,
        max_len=max_len,
        max_consequent_len=max_consequent_len,
    ).rules
    theirs = _mlxtend_rules(
        groceries_onehot, min_support, min_confidence, max_len, max_consequent_len
    )
    mine = {
        (tuple(a), tuple(c)): (np.array(values), count)
        for a, c, count, *values in ours.select(
            "antecedent", "consequent", "count", *METRICS
        ).iter_rows()
    }
    assert len(mine) == ours.height > 50
    # mlxtend divides two rounded supports, so an exact tie at the threshold can fall one ulp
    # short there; we compare counts. Any difference must be exactly such a tie, kept by us.
    threshold = Fraction(str(min_confidence))
    assert not set(theirs) - set(mine)
    for key in set(mine) - set(theirs):
        values, count = mine[key]
        count_a = round(values[0] * 9835)
        assert Fraction(count, count_a) == threshold, key
    for key, expected in theirs.items():
        got = mine[key][0]
        assert np.array_equal(np.isinf(got), np.isinf(expected)), key
        finite = ~np.isinf(expected)
        assert np.abs(got[finite] - expected[finite]).max() <= 1e-9, key


def test_confidence_tie_is_kept(groceries) -> None:
    """{other vegetables, sausage} => {shopping bags} has confidence exactly 53/265 = 1/5."""
    rules = mine_rules(groceries, 0.005, 0.2).rules
    row = rules.filter(
        (pl.col("antecedent") == ["other vegetables", "sausage"])
        & (pl.col("consequent") == ["shopping bags"])
    )
    assert row.height == 1
    assert row["confidence"][0] == 0.2
    assert row["count"][0] * 5 == round(row["antecedent_support"][0] * 9835)


# --- multi-item consequents -------------------------------------------------------------------


def test_multi_item_consequents_on_request(groceries, groceries_lists) -> None:
    single = mine_rules(groceries, 0.003, 0.2).rules
    upto2 = mine_rules(groceries, 0.003, 0.2, max_consequent_len=2).rules
    every = mine_rules(groceries, 0.003, 0.2, max_consequent_len=None).rules
    sizes = upto2["consequent"].list.len()
    assert sizes.max() == 2 and (sizes == 2).sum() > 0
    assert upto2.filter(pl.col("consequent").list.len() == 1).equals(single)
    assert every.height >= upto2.height > single.height
    assert every.filter(pl.col("consequent").list.len() <= 2).equals(upto2)
    # Recount a few two-item-consequent rules by brute force over the raw baskets.
    sets = [set(b) for b in groceries_lists]
    for row in upto2.filter(sizes == 2).head(5).iter_rows(named=True):
        a, c = set(row["antecedent"]), set(row["consequent"])
        assert not a & c
        n_rule = sum(1 for b in sets if a | c <= b)
        n_a = sum(1 for b in sets if a <= b)
        n_c = sum(1 for b in sets if c <= b)
        assert row["count"] == n_rule
        assert row["confidence"] == pytest.approx(n_rule / n_a, abs=1e-12)
        assert row["lift"] == pytest.approx(n_rule * 9835 / (n_a * n_c), rel=1e-12)


# --- the miner against an exhaustive count ---------------------------------------------------


def _random_baskets(seed: int, n: int, n_items: int, mean: float) -> list[list[str]]:
    rng = random.Random(seed)
    weights = [1.0 / (i + 1) for i in range(n_items)]
    names = [f"i{i:02d}" for i in range(n_items)]
    out = []
    for _ in range(n):
        size = min(n_items, max(0, int(rng.expovariate(1 / mean))))
        out.append(rng.choices(names, weights, k=size))
    return out


def _exhaustive(baskets: list[list[str]], min_count: int, max_len: int | None) -> Counter:
    counts: Counter = Counter()
    for basket in baskets:
        items = sorted(set(basket))
        for k in range(1, (max_len or len(items)) + 1):
            counts.update(combinations(items, k))
    return Counter({k: v for k, v in counts.items() if v >= min_count})


@pytest.mark.parametrize("tiny_blocks", [False, True])
@pytest.mark.parametrize(("seed", "min_support", "max_len"), [(1, 0.01, None), (2, 0.03, 3)])
def test_itemsets_match_exhaustive_count(monkeypatch, tiny_blocks, seed, min_support, max_len):
    if tiny_blocks:  # force many batches, chunked joins and the sparse pair table
        monkeypatch.setattr(itemsets_module, "_BATCH_TRIPLES", 50)
        monkeypatch.setattr(itemsets_module, "_CHUNK_WORDS", 3)
        monkeypatch.setattr(itemsets_module, "_SMALL_WIDTH", 1)
        monkeypatch.setattr(itemsets_module, "_DENSE_PAIRS_MAX_ITEMS", 0)
    baskets = _random_baskets(seed, n=700, n_items=18, mean=5.0)
    found = frequent_itemsets(baskets, min_support, max_len=max_len)
    expected = _exhaustive(baskets, min_count_for_support(min_support, len(baskets)), max_len)
    got = {tuple(s): c for s, c in found.to_frame().select("itemset", "count").iter_rows()}
    assert len(got) > 100
    assert got == dict(expected)


# --- edge cases ---------------------------------------------------------------------------


def test_empty_input() -> None:
    result = mine_rules([], 0.1, 0.5)
    assert result.n_baskets == 0
    assert result.rules.height == 0
    assert result.rules.schema == pl.Schema(RULE_SCHEMA)
    assert mine_rules(pl.DataFrame({"receipt_id": [], "sku": []}), 0.1, 0.5).rules.height == 0


def test_single_basket() -> None:
    rules = mine_rules([["b", "a"]], 1.0, 1.0).rules
    assert rules.select("antecedent", "consequent").rows() == [(["a"], ["b"]), (["b"], ["a"])]
    assert rules["lift"].to_list() == [1.0, 1.0]
    assert rules["leverage"].to_list() == [0.0, 0.0]
    assert rules["conviction"].to_list() == [float("inf")] * 2  # confidence 1 => inf
    assert rules["count"].to_list() == [1, 1]


def test_duplicate_items_in_a_basket_count_once() -> None:
    baskets = [["a", "a", "b"], ["a", "c", "c"], ["b", "b"], []]
    found = frequent_itemsets(baskets, 0.25)
    counts = dict(found.to_frame().select(pl.col("itemset").list.join("+"), "count").iter_rows())
    assert counts == {"a": 2, "b": 2, "c": 1, "a+b": 1, "a+c": 1}
    rules = mine_rules(baskets, 0.25, 0.5).rules
    a_to_b = rules.filter(pl.col("antecedent") == ["a"], pl.col("consequent") == ["b"])
    assert a_to_b["support"].item() == 0.25  # the empty basket counts in the denominator
    assert a_to_b["confidence"].item() == 0.5
    assert a_to_b["lift"].item() == 1.0
    long = pl.DataFrame({"receipt_id": [1, 1, 1, 2, 2], "sku": ["x", "x", "y", "x", "y"]})
    assert mine_rules(long, 0.5, 0.5).rules["count"].to_list() == [2, 2]


def test_support_above_every_item_gives_nothing(groceries) -> None:
    result = mine_rules(groceries, 0.3, 0.0)  # whole milk, the top item, has 0.256
    assert len(result.itemsets) == 0
    assert result.rules.height == 0
    assert result.rules.schema == pl.Schema(RULE_SCHEMA)


def test_support_threshold_uses_counts() -> None:
    assert min_count_for_support(0.001, 9835) == 10
    assert min_count_for_support(0.07, 100) == 7  # 0.07 * 100 == 7.000000000000001
    assert min_count_for_support(0.0, 50) == 1
    assert min_count_for_support(1.0, 50) == 50
    baskets = [["a", "b"]] * 7 + [["c"]] * 93
    assert mine_rules(baskets, 0.07, 1.0).rules.height == 2
    with pytest.raises(ValueError):
        mine_rules(baskets, 1.5, 0.5)
    with pytest.raises(ValueError):
        mine_rules(baskets, 0.1, -0.1)


def test_confidence_ties_are_exact() -> None:
    baskets = [["a", "b"]] + [["a"]] * 9 + [["c", "d"]] * 3 + [["c"]] * 4
    rules = mine_rules(baskets, 0.05, 0.1).rules  # a => b at exactly 1/10
    assert ["b"] in rules.filter(pl.col("antecedent") == ["a"])["consequent"].to_list()
    rules = mine_rules(baskets, 0.05, 3 / 7).rules  # c => d at exactly 3/7
    assert rules.filter(pl.col("antecedent") == ["c"]).height == 1
    assert mine_rules(baskets, 0.05, 0.4286).rules.filter(pl.col("antecedent") == ["c"]).is_empty()


def test_no_pairs_and_bad_baskets() -> None:
    result = mine_rules([["a"], ["b"], ["a"], []], 0.25, 0.0)
    assert sorted(result.itemsets.levels) == [1]
    assert result.rules.height == 0
    with pytest.raises(TypeError):
        mine_rules(["milk,bread"], 0.5, 0.5)  # a string is not a basket


def test_only_empty_baskets_give_no_itemsets() -> None:
    result = mine_rules([[], [], []], 0.1, 0.1)
    assert result.n_baskets == 3 and len(result.itemsets) == 0
    assert result.rules.height == 0 and result.rules.schema == pl.Schema(RULE_SCHEMA)
    nulls = pl.DataFrame({"receipt_id": ["r1", "r2"], "sku": [None, None]},
                         schema={"receipt_id": pl.String, "sku": pl.String})  # fmt: skip
    assert mine_rules(nulls, 0.1, 0.1).n_baskets == 2  # receipts without items still count


def test_one_item_baskets_only_give_items_but_no_rules() -> None:
    result = mine_rules([["a"]] * 5 + [["b"]] * 3 + [["a"]], 0.1, 0.0)
    counts = dict(result.itemsets.to_frame().select(pl.col("itemset").list.first(), "count").rows())
    assert counts == {"a": 6, "b": 3}
    assert result.rules.height == 0


_HAS_GUARD = "max_itemsets" in inspect.signature(mine_rules).parameters


@pytest.mark.skipif(
    not _HAS_GUARD,
    reason="the max-itemsets guard is a change to itemsets.py/rules.py awaiting their owner "
    "(patch in the issue 8 report)",
)
def test_exploding_itemsets_stop_with_a_clear_message(groceries) -> None:
    too_many = itemsets_module.TooManyItemsets
    # 40 copies of one 20-item basket: all 2**20 - 1 subsets are frequent.
    same = [[f"i{j:02d}" for j in range(20)]] * 40
    with pytest.raises(too_many, match=r"more than 10,000 frequent itemsets.*raise min_support"):
        mine_rules(same, 0.5, 0.5, max_itemsets=10_000)
    bounded = mine_rules(same, 0.5, 0.5, max_len=2, max_itemsets=10_000)
    assert len(bounded.itemsets) == 20 + 190
    exact = len(mine_rules(groceries, 0.001, 0.5).itemsets)
    assert mine_rules(groceries, 0.001, 0.5, max_itemsets=exact).rules.height == 5668
    with pytest.raises(too_many):
        mine_rules(groceries, 0.001, 0.5, max_itemsets=exact - 1)
    with pytest.raises(too_many):
        frequent_itemsets(same, 0.5, max_itemsets=19)  # the single items alone are too many


def test_reader_handles_crlf_blank_lines_quotes_and_bom(tmp_path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_bytes(b"\xef\xbb\xbfmilk,cream cheese \r\n\r\nmilk,,bread\r\nbread\r\n")
    baskets = read_baskets_csv(plain)
    assert baskets.n_baskets == 3  # the blank line is skipped, the empty field ignored
    assert list(baskets.item_names) == ["bread", "cream cheese ", "milk"]
    assert baskets.lengths.tolist() == [2, 2, 1]
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('"flour, plain",sugar\nsugar\n')
    assert list(read_baskets_csv(quoted).item_names) == ["flour, plain", "sugar"]


def test_empty_antecedent_rules_are_opt_in() -> None:
    baskets = [["milk", "bread"], ["milk"], ["milk", "eggs"], ["bread", "eggs"]]
    assert mine_rules(baskets, 0.25, 0.7).rules.height == 0
    rules = mine_rules(baskets, 0.25, 0.7, include_empty_antecedent=True).rules
    assert rules.select("antecedent", "consequent", "confidence").rows() == [([], ["milk"], 0.75)]


def test_max_len_bounds_the_whole_rule(groceries) -> None:
    result = mine_rules(groceries, 0.001, 0.5, max_len=3)
    assert result.rules_by_length() == {2: 11, 3: 1461}
    assert max(result.itemsets.levels) == 3


# --- the command line -----------------------------------------------------------------------


def test_cli_long_format(tmp_path, capsys) -> None:
    path = tmp_path / "lines.csv"
    rows = ["receipt_id,sku,quantity"]
    baskets = [["tea", "milk"], ["tea", "milk", "sugar"], ["tea", "sugar"], ["milk"], ["tea"]]
    for i, basket in enumerate(baskets):
        rows += [f"R{i},{sku},1" for sku in basket]
    rows.append("R1,tea,2")  # a repeated line: counts once
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "rules.csv"
    code = rules_main(
        ["rules", str(path), "--min-support", "0.4", "--min-confidence", "0.6", "--out", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "baskets: 5" in printed and "items: 3" in printed
    assert "rules by length: 2: 2" in printed
    written = pl.read_csv(out)
    assert written.columns == list(RULE_SCHEMA)
    assert set(written.select("antecedent", "consequent").rows()) == {
        ("sugar", "tea"),
        ("milk", "tea"),
    }
    assert written.filter(pl.col("antecedent") == "sugar")["confidence"].item() == 1.0


def test_cli_basket_per_line_parquet(tmp_path, groceries_lists) -> None:
    path = tmp_path / "baskets.csv"
    path.write_text("\n".join(",".join(b) for b in groceries_lists[:2000]) + "\n")
    out = tmp_path / "rules.parquet"
    code = rules_main(
        [
            "rules",
            str(path),
            "--min-support",
            "0.005",
            "--min-confidence",
            "0.3",
            "--max-len",
            "3",
            "--max-consequent-len",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    written = pl.read_parquet(out)
    expected = mine_rules(from_lists(groceries_lists[:2000]), 0.005, 0.3, 3, 2).rules
    assert written.height > 20
    assert written.equals(expected)
    assert "cream cheese " in set(written["antecedent"].explode().to_list())


def test_cli_module_runs(tmp_path) -> None:
    out = tmp_path / "rules.csv"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "footfall_platform.mining.rules_cli",
            "rules",
            str(GROCERIES),
            "--min-support",
            "0.001",
            "--min-confidence",
            "0.5",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "rules: 5668" in completed.stdout
    assert "{Instant food products, soda} => {hamburger meat}" in completed.stdout
    written = pl.read_csv(out)
    assert written.height == 5668
    assert written.row(0, named=True)["antecedent"] == "Instant food products | soda"
