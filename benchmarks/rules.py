"""Benchmark: footfall's rule miner against mlxtend (fpgrowth + association_rules), side by side.

Both sides start from the same baskets (a list of item lists, the input mlxtend's
TransactionEncoder takes) and end with a rules table; the outputs are checked equal (same rule
set, metrics within 1e-9) before a ratio is printed. Two data sets:

* Groceries (arules), support 0.001 / confidence 0.5: the published arules setting.
* A seeded synthetic set of 1,000,000 baskets (1,000 items with Zipf popularity, mean basket of 4
  items, 25 planted pairs) at support 0.001. Each side runs in its own subprocess, reading the same
  Parquet file, so its peak memory (``ru_maxrss``) is its own. ``--mlxtend-baskets`` limits the
  synthetic run of mlxtend to a subsample if it is too slow or large for the machine.

Run: ``python benchmarks/rules.py`` (about a minute, mostly mlxtend on 1M baskets; ``--quick`` uses
100,000 baskets for both).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from footfall_platform.mining import from_long_frame, mine_rules  # noqa: E402
from footfall_platform.mining.rules import RULE_METRICS  # noqa: E402

GROCERIES = ROOT / "tests" / "data" / "groceries.csv"
METRICS = RULE_METRICS


# --- data ---------------------------------------------------------------------------------


def groceries_lists() -> list[list[str]]:
    return [line.split(",") for line in GROCERIES.read_text().splitlines()]


def synthetic_frame(n_baskets: int, n_items: int = 1000, seed: int = 20240601) -> pl.DataFrame:
    """Long frame (receipt_id, sku): Zipf(1) item popularity, 1 + Poisson(3) draws per basket,
    and 25 planted pairs (x, y): a basket holding x also gets y with probability 0.5."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1)
    popularity /= popularity.sum()
    sizes = 1 + rng.poisson(3.0, n_baskets)
    receipt = np.repeat(np.arange(n_baskets, dtype=np.int64), sizes)
    item = rng.choice(n_items, size=len(receipt), p=popularity)
    ranks = rng.permutation(np.arange(100, 900))[:50]
    partner = np.full(n_items, -1)
    partner[ranks[:25]] = ranks[25:]
    has_partner = np.flatnonzero((partner[item] >= 0) & (rng.random(len(item)) < 0.5))
    receipt = np.concatenate([receipt, receipt[has_partner]])
    item = np.concatenate([item, partner[item[has_partner]]])
    names = pl.Series("sku", [f"SKU-{i:04d}" for i in range(n_items)])
    return pl.DataFrame({"receipt_id": receipt, "sku": names.gather(item)})


def frame_to_lists(frame: pl.DataFrame) -> list[list[str]]:
    return frame.group_by("receipt_id", maintain_order=True).agg("sku")["sku"].to_list()


# --- the two contenders --------------------------------------------------------------------


def run_ours(baskets, min_support: float, min_confidence: float, max_consequent_len):
    started = time.perf_counter()
    result = mine_rules(baskets, min_support, min_confidence, max_consequent_len=max_consequent_len)
    return result.rules, time.perf_counter() - started


def run_mlxtend(lists: list[list[str]], min_support: float, min_confidence: float, max_cons):
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    started = time.perf_counter()
    encoder = TransactionEncoder()
    onehot = pd.DataFrame(encoder.fit(lists).transform(lists), columns=encoder.columns_)
    encoded = time.perf_counter()
    found = fpgrowth(onehot, min_support=min_support, use_colnames=True)
    mined = time.perf_counter()
    rules = association_rules(
        found,
        num_itemsets=len(onehot),
        metric="confidence",
        min_threshold=min_confidence,
        return_metrics=[m.replace("_", " ") for m in METRICS],
    )
    if max_cons is not None:
        rules = rules[rules["consequents"].map(len) <= max_cons]
    done = time.perf_counter()
    table = pl.DataFrame(
        {
            "antecedent": [sorted(a) for a in rules["antecedents"]],
            "consequent": [sorted(c) for c in rules["consequents"]],
            **{m: rules[m.replace("_", " ")].to_numpy(dtype=float) for m in METRICS},
        },
        schema_overrides={"antecedent": pl.List(pl.String), "consequent": pl.List(pl.String)},
    )
    phases = {"encode": encoded - started, "itemsets": mined - encoded, "rules": done - mined}
    return table, done - started, phases


def check_equal(ours: pl.DataFrame, theirs: pl.DataFrame, min_confidence: float, n: int) -> str:
    """Same rules and metrics to 1e-9; the only allowed difference is an exact confidence tie,
    which we keep (integer counts) and mlxtend may lose to one ulp of rounding. Raises if not."""
    key = [pl.col("antecedent").list.join("\x1f"), pl.col("consequent").list.join("\x1f")]
    a = ours.with_columns(ka=key[0], kc=key[1])
    b = theirs.with_columns(ka=key[0], kc=key[1])
    only_theirs = b.join(a, on=["ka", "kc"], how="anti")
    only_ours = a.join(b, on=["ka", "kc"], how="anti")
    if only_theirs.height:
        raise AssertionError(f"mlxtend has {only_theirs.height} rules we lack")
    threshold = Fraction(str(min_confidence))
    for row in only_ours.iter_rows(named=True):
        count, count_a = round(row["support"] * n), round(row["antecedent_support"] * n)
        if Fraction(count, count_a) != threshold:
            raise AssertionError(f"extra rule that is not a tie: {row}")
    both = a.join(b, on=["ka", "kc"], suffix="_m")
    worst = 0.0
    for m in METRICS:
        x, y = both[m].to_numpy(), both[f"{m}_m"].to_numpy()
        if not np.array_equal(np.isinf(x), np.isinf(y)):
            raise AssertionError(f"{m}: infinities differ")
        finite = ~np.isinf(x)
        worst = max(worst, float(np.abs(x[finite] - y[finite]).max(initial=0.0)))
    if worst > 1e-9:
        raise AssertionError(f"metrics differ by {worst:g}")
    ties = f", {only_ours.height} exact tie(s) kept only by us" if only_ours.height else ""
    return f"equal: {both.height} rules, max |metric diff| {worst:.1e}{ties}"


# --- subprocess side (own peak memory) -------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    frame = pl.read_parquet(args.data)
    if args.child == "mlxtend":
        lists = frame_to_lists(frame)
        del frame
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rules, seconds, phases = run_mlxtend(lists, args.min_support, args.min_confidence, None)
        report = {"seconds": seconds, "phases": phases}
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        baskets = from_long_frame(frame)
        encoded = time.perf_counter()
        result = mine_rules(baskets, args.min_support, args.min_confidence, max_consequent_len=None)
        done = time.perf_counter()
        rules = result.rules
        report = {
            "seconds": done - started,
            "phases": {"encode": encoded - started, "mine+rules": done - encoded},
            "itemsets": len(result.itemsets),
            "baskets": result.n_baskets,
        }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.child == "ours":  # a second, traced run: numpy's own peak (not polars' Rust heap)
        tracemalloc.start()
        mine_rules(
            from_long_frame(frame), args.min_support, args.min_confidence, max_consequent_len=None
        )
        report["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    report.update(rows=rules.height, base_rss_mb=base / 1024, peak_rss_mb=peak / 1024)
    rules.select("antecedent", "consequent", *METRICS).write_parquet(args.out)
    print(json.dumps(report))


def spawn(kind: str, data: Path, out: Path, min_support: float, min_confidence: float) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--data",
        str(data),
        "--out",
        str(out),
        "--min-support",
        str(min_support),
        "--min-confidence",
        str(min_confidence),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the report --------------------------------------------------------------------------------


def best_of(repeats: int, fn):
    results = [fn() for _ in range(repeats)]
    return min(results, key=lambda r: r[1])


def bench_groceries() -> None:
    lists = groceries_lists()
    support, confidence = 0.001, 0.5
    print(f"== Groceries: {len(lists):,} baskets, support {support}, confidence {confidence} ==")
    for label, max_cons in (("single-item consequents (arules)", 1), ("all consequents", None)):
        ours, ours_s = best_of(7, lambda m=max_cons: run_ours(lists, support, confidence, m))
        theirs, theirs_s, phases = best_of(
            3, lambda m=max_cons: run_mlxtend(lists, support, confidence, m)
        )
        verdict = check_equal(ours, theirs, confidence, len(lists))
        note = " (mlxtend has no consequent bound: builds all, then filters)" if max_cons else ""
        print(f"  {label}: {ours.height} rules{note}")
        print(f"    ours    {ours_s * 1000:8.1f} ms  (list of baskets -> rules frame, best of 7)")
        print(
            f"    mlxtend {theirs_s * 1000:8.1f} ms  (encode {phases['encode'] * 1000:.0f}, "
            f"fpgrowth {phases['itemsets'] * 1000:.0f}, rules {phases['rules'] * 1000:.0f}; "
            "best of 3)"
        )
        print(f"    ratio   {theirs_s / ours_s:8.1f}x faster   [{verdict}]")


def bench_synthetic(n_baskets: int, mlxtend_baskets: int) -> None:
    support, confidence = 0.001, 0.1
    frame = synthetic_frame(n_baskets)
    print(
        f"\n== Synthetic: {n_baskets:,} baskets, 1,000 Zipf items, mean 4 items, 25 planted "
        f"pairs; support {support}, confidence {confidence}, all consequents =="
    )
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "baskets.parquet"
        frame.write_parquet(data)
        ours = spawn("ours", data, Path(tmp) / "ours.parquet", support, confidence)
        print(
            f"  ours: {ours['rows']} rules from {ours['itemsets']} frequent itemsets in "
            f"{ours['seconds']:.2f} s (encode {ours['phases']['encode']:.2f} s, mine + rules "
            f"{ours['phases']['mine+rules']:.2f} s)"
        )
        print(
            f"        peak RSS {ours['peak_rss_mb']:.0f} MB for the whole process "
            f"({ours['base_rss_mb']:.0f} MB after reading the data, so "
            f"+{ours['peak_rss_mb'] - ours['base_rss_mb']:.0f} MB to mine); numpy traced peak "
            f"{ours['traced_peak_mb']:.0f} MB"
        )
        if mlxtend_baskets < n_baskets:
            print(
                f"  mlxtend is run on a {mlxtend_baskets:,}-basket subsample only "
                "(--mlxtend-baskets); ours is re-run on the same subsample for the ratio"
            )
            sample = frame.filter(pl.col("receipt_id") < mlxtend_baskets)
            data = Path(tmp) / "sample.parquet"
            sample.write_parquet(data)
            ours = spawn("ours", data, Path(tmp) / "ours.parquet", support, confidence)
        theirs = spawn("mlxtend", data, Path(tmp) / "mlxtend.parquet", support, confidence)
        verdict = check_equal(
            pl.read_parquet(Path(tmp) / "ours.parquet"),
            pl.read_parquet(Path(tmp) / "mlxtend.parquet"),
            confidence,
            ours["baskets"],
        )
        ph = theirs["phases"]
        print(
            f"  mlxtend ({mlxtend_baskets:,} baskets): {theirs['seconds']:.2f} s (encode "
            f"{ph['encode']:.2f}, fpgrowth {ph['itemsets']:.2f}, rules {ph['rules']:.2f}); "
            f"peak RSS {theirs['peak_rss_mb']:.0f} MB"
        )
        print(
            f"  ratio {theirs['seconds'] / ours['seconds']:.1f}x faster, peak memory "
            f"{theirs['peak_rss_mb'] / ours['peak_rss_mb']:.1f}x smaller   [{verdict}]"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 synthetic baskets")
    parser.add_argument("--baskets", type=int, default=1_000_000)
    parser.add_argument(
        "--mlxtend-baskets",
        type=int,
        default=None,
        help="run mlxtend on the first N synthetic baskets only",
    )
    parser.add_argument("--child", choices=["ours", "mlxtend"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--min-support", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--min-confidence", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    n = 100_000 if args.quick else args.baskets
    bench_groceries()
    bench_synthetic(n, min(n, args.mlxtend_baskets or n))


if __name__ == "__main__":
    main()
