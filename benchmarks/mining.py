"""Benchmark: the mining engine against named baselines, side by side, on the same data.

* Rules: benchmarks/rules.py (footfall's Eclat vs mlxtend fpgrowth on Groceries and on synthetic
  baskets, identical output checked), called from here.
* Segments: 100,000 synthetic members with five planted habits (the demo world's segments).
  Ours: scaled, standardised features, k chosen over 2..8 by the Davies-Bouldin index. Baselines:
  sklearn KMeans on the raw (unscaled) features with k = 5 given, and ours on the features of
  the first version (basket value instead of products per basket and price position). Printed:
  time, peak memory, and the adjusted Rand index of each against the planted segments.
  ``--segment-worlds demo:11,demo:7`` also segments generated demo worlds as the platform does
  (raw load, ``dbt run`` of marts.dim_customer) and prints the ARI and the confusion matrix.
* Anomalies: 1,000 stores x 2 years of store-days with planted spikes and outages. Ours: the
  vectorised decomposition in footfall_platform.mining.anomalies. Baseline: the same algorithm
  written the ordinary way, a pandas groupby per store with rolling medians. The two must flag
  the same store-days (checked) before the ratio is printed; precision and recall against the
  planted days are printed too.

Each contender runs in its own subprocess, reading the same Parquet file, so the peak memory
(Linux ``VmHWM``) printed is its own. Run: ``python benchmarks/mining.py`` (``--quick`` for smaller
data, ``--skip-rules`` to leave the rules part out).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from footfall_platform.mining.anomalies import (  # noqa: E402
    AnomalyConfig,
    daily_anomalies,
)
from footfall_platform.mining.segments import (  # noqa: E402
    FEATURES,
    segment_customers,
)

START = dt.date(2024, 1, 1)
# share, receipts per day while active, products per receipt, price position within categories
# (the demo world's habits, as measured in its dim_customer)
SEGMENTS = {
    "vip": (0.08, 0.08, 4.2, 1.3),
    "regular": (0.32, 0.02, 3.0, 0.9),
    "bargain": (0.25, 0.012, 1.8, 0.55),
    "lapsed": (0.20, 0.02, 2.6, 0.9),
    "new": (0.15, 0.025, 2.4, 0.9),
}
# The features of the first version: RFM, basket value and tenure.
BASKET_VALUE_FEATURES = ("recency_days", "frequency", "monetary", "avg_basket_value", "tenure_days")


# --- data --------------------------------------------------------------------------------------


def synthetic_members(n: int, days: int = 548, seed: int = 3) -> pl.DataFrame:
    """A dim_customer-shaped frame with a planted segment per member (column ``planted``)."""
    rng = np.random.default_rng(seed)
    names = list(SEGMENTS)
    share = np.array([SEGMENTS[s][0] for s in names])
    seg = rng.choice(len(names), n, p=share / share.sum())
    rate = np.array([SEGMENTS[s][1] for s in names])[seg]
    items = np.array([SEGMENTS[s][2] for s in names])[seg]
    position = np.array([SEGMENTS[s][3] for s in names])[seg]
    tenure = rng.integers(30, 3650, n) + days
    first_day = np.zeros(n)
    last_day = np.full(n, float(days))
    new = seg == names.index("new")
    tenure[new] = rng.integers(int(days * 0.15), int(days * 0.95), new.sum())
    first_day[new] = days - tenure[new]
    lapsed = seg == names.index("lapsed")
    last_day[lapsed] = rng.integers(int(days * 0.15), int(days * 0.5), lapsed.sum())
    active = np.maximum(last_day - first_day, 1.0)
    frequency = rng.poisson(rate * active)
    gap = np.minimum(rng.exponential(1.0 / rate), active)
    recency = np.where(frequency > 0, days - last_day + gap, np.nan)
    bought = np.where(frequency > 0, 1.0, np.nan)
    receipts = np.maximum(frequency, 1)
    lines = receipts + rng.poisson((items - 1) * receipts)
    avg_items = lines / receipts * bought
    price_index = position * rng.lognormal(0.0, 0.5 / np.sqrt(lines)) * bought
    # The category a member favours sets the price level of most of their lines: basket value
    # carries that taste as well as the habits (a segment says nothing about taste).
    taste_price = rng.lognormal(np.log(40.0), 0.8, n)
    avg_basket = avg_items * price_index * taste_price
    monetary = np.nan_to_num(avg_basket) * frequency * rng.uniform(0.93, 1.0, n)
    return pl.DataFrame(
        {
            "member_key": [f"m{i:07d}" for i in range(n)],
            "recency_days": recency.round(),
            "frequency": frequency,
            "monetary": monetary,
            "avg_basket_value": avg_basket,
            "avg_basket_items": avg_items,
            "price_index": price_index,
            "tenure_days": tenure,
            "planted": np.array(names)[seg],
        }
    )


def synthetic_store_days(stores: int, days: int, seed: int = 5) -> tuple[pl.DataFrame, set]:
    """features.store_day-shaped frame, plus the planted anomalous (store, date) set.

    Weekly pattern, yearly wave, trend, holidays (x1.3), promotions (x1.25), closures, Poisson
    noise; per store two planted spikes (x2.5 to x3.5) and one three-day camera outage (x0.6).
    """
    rng = np.random.default_rng(seed)
    dow = np.array([0.86, 0.80, 0.90, 0.95, 1.10, 1.45, 0.94])
    d = np.arange(days)
    weekday = (START.weekday() + d) % 7
    wave = 1 + 0.15 * np.cos(2 * np.pi * (d - 350) / 365.25)
    base = rng.lognormal(np.log(400), 0.6, stores)[:, None] * dow[weekday] * wave
    base = base * (1 + rng.normal(0.05, 0.05, stores)[:, None] * d / 365)
    holiday = np.zeros((stores, days), bool)
    holiday[:, rng.choice(days, 12, replace=False)] = True
    promotion = rng.random((stores, days)) < 0.04
    closure = rng.random((stores, days)) < 0.003
    factor = np.where(holiday, 1.3, 1.0) * np.where(promotion, 1.25, 1.0)
    planted: set[tuple[str, dt.date]] = set()
    ids = [f"S{i:04d}" for i in range(stores)]
    ordinary = ~(holiday | promotion | closure)
    for s in range(stores):
        quiet = np.flatnonzero(ordinary[s, 30:-30]) + 30
        for day in rng.choice(quiet, 2, replace=False):
            factor[s, day] *= rng.uniform(2.5, 3.5)
            planted.add((ids[s], START + dt.timedelta(days=int(day))))
        first = int(rng.choice(quiet[:-3]))
        for day in range(first, first + 3):
            if not closure[s, day]:
                factor[s, day] *= 0.6
                planted.add((ids[s], START + dt.timedelta(days=day)))
    footfall = rng.poisson(np.where(closure, 0.0, base * factor))
    receipts = rng.binomial(footfall, 0.24)
    net_sales = receipts * rng.gamma(25.0, 6.0, (stores, days))
    frame = pl.DataFrame(
        {
            "store_id": np.repeat(ids, days),
            "date": np.tile(np.datetime64(START) + d.astype("timedelta64[D]"), stores),
            "footfall": footfall.ravel(),
            "receipts": receipts.ravel(),
            "net_sales": net_sales.ravel(),
            "is_holiday": holiday.ravel(),
            "is_promotion": promotion.ravel(),
            "is_closure": closure.ravel(),
        }
    )
    return frame, planted


# --- the contenders ------------------------------------------------------------------------------


def segments_ours(
    members: pl.DataFrame, k_range: range, features: tuple[str, ...] = FEATURES
) -> tuple[np.ndarray, dict]:
    result = segment_customers(members, k_range=k_range, features=features)
    labels = members.select("member_key").join(
        result.customer_segments, on="member_key", how="left"
    )["segment_id"]
    return labels.to_numpy(), {"k": result.k}


def segments_unscaled_kmeans(members: pl.DataFrame, k: int = 5) -> tuple[np.ndarray, dict]:
    """The baseline: sklearn KMeans straight on the features as they come (nulls as 0)."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    matrix = members.select(FEATURES).fill_null(0).fill_nan(0).to_numpy()
    with threadpool_limits(limits=1):  # the same single thread as ours
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(matrix)
    return labels, {"k": k}


def anomalies_ours(store_days: pl.DataFrame) -> pl.DataFrame:
    found = daily_anomalies(store_days, metrics=["footfall"])
    return found.select("store_id", "local_date", "kind").sort("store_id", "local_date")


def anomalies_pandas(store_days: pl.DataFrame) -> pl.DataFrame:
    """The baseline: the same decomposition written the ordinary way, store by store in pandas."""
    import pandas as pd

    config = AnomalyConfig()
    rule = config.rule("footfall")
    frame = store_days.to_pandas().sort_values(["store_id", "date"])
    frame["weekday"] = pd.to_datetime(frame["date"]).dt.weekday
    parts = []
    for _, g in frame.groupby("store_id", sort=True):
        g = g.copy()
        ordinary = ~(g["is_holiday"] | g["is_promotion"] | g["is_closure"])
        plain = g["footfall"].astype(float).where(ordinary)
        level = plain.rolling(7, center=True, min_periods=4).median()
        ratio = (plain / level).where(level > 0)
        weekly = ratio.groupby(g["weekday"]).median().reindex(range(7))
        weekly = weekly.where(weekly > 0).fillna(1.0)
        weekly = weekly / weekly.mean()
        g["seasonal"] = g["weekday"].map(weekly)
        deseasonalised = plain / g["seasonal"]
        trend = deseasonalised.rolling(21, center=True, min_periods=7).median()
        g["base"] = trend.fillna(deseasonalised.median()) * g["seasonal"]
        parts.append(g)
    frame = pd.concat(parts)

    def lift(on: pd.Series) -> float:
        days = on & ~frame["is_closure"] & (frame["base"] > 0)
        if days.sum() < config.min_event_days:
            return 1.0
        return float((frame["footfall"][days] / frame["base"][days]).median())

    holiday_lift = lift(frame["is_holiday"] & ~frame["is_promotion"])
    promotion_lift = lift(frame["is_promotion"] & ~frame["is_holiday"])
    factor = frame["is_holiday"].map({True: holiday_lift, False: 1.0}) * frame["is_promotion"].map(
        {True: promotion_lift, False: 1.0}
    )
    frame["expected"] = (frame["base"] * factor).where(~frame["is_closure"], 0.0)
    y, e = frame["footfall"].astype(float), frame["expected"]
    frame["r"] = 2 * (np.sqrt(y + 0.375) - np.sqrt(e + 0.375))
    scored = frame["expected"] >= config.min_expected
    out = []
    for _, g in frame[scored].groupby("store_id", sort=True):
        centre = g["r"].median()
        dev = g["r"] - centre
        upper = max(1.4826 * dev[dev >= 0].median(), 1.0)
        lower = max(1.4826 * (-dev[dev <= 0]).median(), 1.0)
        score = np.where(dev >= 0, dev / upper, dev / lower)
        change = (g["footfall"] / g["expected"] - 1).abs()
        agrees = np.sign(score) == np.sign(g["footfall"] - g["expected"])
        hit = (np.abs(score) >= rule.threshold) & (change >= rule.min_relative_change) & agrees
        kind = np.where(g["footfall"] == 0, "outage", np.where(score > 0, "spike", "drop"))
        out.append(g.assign(kind=kind)[hit][["store_id", "date", "kind"]])
    result = pd.concat(out).rename(columns={"date": "local_date"})
    return pl.from_pandas(result).sort("store_id", "local_date")


# --- subprocess side (own peak memory) ---------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM starts afresh at exec; ru_maxrss would
    carry over the peak of the parent that spawned us (measured: 373 MB for a 20 MB child)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    frame = pl.read_parquet(args.data)
    base = peak_rss_mb()
    started = time.perf_counter()
    report: dict = {}
    if args.child.startswith("segments_"):
        if args.child == "segments_unscaled":
            labels, info = segments_unscaled_kmeans(frame)
        elif args.child == "segments_basket_value":
            labels, info = segments_ours(frame, range(2, 9), BASKET_VALUE_FEATURES)
        else:
            k_range = range(5, 6) if args.child == "segments_ours_k5" else range(2, 9)
            labels, info = segments_ours(frame, k_range)
        report.update(info)
        out = pl.DataFrame({"label": labels})
    else:
        out = anomalies_ours(frame) if args.child == "anomalies_ours" else anomalies_pandas(frame)
    report["seconds"] = time.perf_counter() - started
    report.update(base_rss_mb=base, peak_rss_mb=peak_rss_mb(), rows=out.height)
    out.write_parquet(args.out)
    print(json.dumps(report))


def spawn(kind: str, data: Path, out: Path) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--data", str(data), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_contenders(frame: pl.DataFrame, kinds: list[str]) -> dict[str, tuple[dict, pl.DataFrame]]:
    """Each contender in its own process on the same Parquet file: (its report, its output)."""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "input.parquet"
        frame.write_parquet(data)
        for kind in kinds:
            out = Path(tmp) / f"{kind}.parquet"
            results[kind] = (spawn(kind, data, out), pl.read_parquet(out))
    return results


def memory(report: dict) -> str:
    return (
        f"peak RSS {report['peak_rss_mb']:.0f} MB "
        f"(+{report['peak_rss_mb'] - report['base_rss_mb']:.0f} MB over the loaded data)"
    )


# --- the report ----------------------------------------------------------------------------------


def bench_rules(quick: bool) -> None:
    spec = importlib.util.spec_from_file_location("rules_benchmark", ROOT / "benchmarks/rules.py")
    rules_benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rules_benchmark)
    rules_benchmark.bench_groceries()
    n = 100_000 if quick else 1_000_000
    rules_benchmark.bench_synthetic(n, n)


def bench_segments(n: int) -> None:
    from sklearn.metrics import adjusted_rand_score

    members = synthetic_members(n)
    planted = members["planted"].to_numpy()
    print(
        f"\n== Segments: {n:,} synthetic members, 5 planted habits; features "
        f"{', '.join(FEATURES)} =="
    )
    kinds = ["segments_ours", "segments_ours_k5", "segments_unscaled", "segments_basket_value"]
    results = run_contenders(members, kinds)
    for report, labels in results.values():
        report["ari"] = adjusted_rand_score(planted, labels["label"].fill_null(-1).to_numpy())
    ours, fixed, base, first = (results[k][0] for k in kinds)
    print(
        f"  ours, k over 2..8 by Davies-Bouldin (silhouette on a 10,000-member sample, "
        f"reported): k={ours['k']}, ARI {ours['ari']:.3f}, {ours['seconds']:.2f} s, "
        f"{memory(ours)}"
    )
    print(
        f"  baseline, ours on the first features ({', '.join(BASKET_VALUE_FEATURES)}): "
        f"k={first['k']}, ARI {first['ari']:.3f}, {first['seconds']:.2f} s"
    )
    print(
        f"  ours, k=5 given:                 ARI {fixed['ari']:.3f}, "
        f"{fixed['seconds']:.2f} s, {memory(fixed)}"
    )
    print(
        f"  baseline, sklearn KMeans on unscaled features, k=5 given: ARI {base['ari']:.3f}, "
        f"{base['seconds']:.2f} s, {memory(base)}"
    )
    print(
        f"  ratio at k=5: time {fixed['seconds'] / base['seconds']:.2f}x the baseline's, "
        f"ARI {fixed['ari'] - base['ari']:+.3f}; choosing k costs "
        f"{ours['seconds'] / fixed['seconds']:.1f}x one fit"
    )


def bench_segment_worlds(worlds: list[tuple[str, int]]) -> None:
    """Segment generated demo worlds as the platform does; ARI and confusion against the truth."""
    from sklearn.metrics import adjusted_rand_score

    from tests.test_segments import build_world, planted_segments

    for scale, seed in worlds:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            world = build_world(Path(tmp), [], dbt_select="+dim_customer", scale=scale, seed=seed)
            con, truth = next(world)
            customers = con.execute("SELECT * FROM marts.dim_customer").pl()
            world.close()
            built = time.perf_counter() - started
            started = time.perf_counter()
            result = segment_customers(customers)
            seconds = time.perf_counter() - started
        joined = result.customer_segments.join(planted_segments(truth), on="member_key")
        ari = adjusted_rand_score(joined["planted"], joined["segment_id"])
        print(
            f"\n== Segments of the {scale} world, seed {seed}: {customers.height:,} members "
            f"(built in {built:.0f} s) ==\n  k={result.k}, ARI {ari:.3f}, {seconds:.1f} s; "
            "Davies-Bouldin by k: "
            + " ".join(f"{k}:{v:.3f}" for k, v in result.davies_bouldin.items())
        )
        confusion = (
            joined.group_by("segment_id", "segment")
            .agg(*[(pl.col("planted") == p).sum().alias(p) for p in SEGMENTS])
            .sort("segment_id")
        )
        with pl.Config(tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
            print(confusion)


def bench_anomalies(stores: int, days: int) -> None:
    store_days, planted = synthetic_store_days(stores, days)
    print(
        f"\n== Anomalies: {stores:,} stores x {days} days = {store_days.height:,} store-days, "
        f"{len(planted):,} planted anomalous days; footfall metric =="
    )
    results = run_contenders(store_days, ["anomalies_ours", "anomalies_pandas"])
    (ours, a), (theirs, b) = results["anomalies_ours"], results["anomalies_pandas"]
    same = a.equals(b)
    if not same:
        only_ours = a.join(b, on=["store_id", "local_date"], how="anti").height
        only_theirs = b.join(a, on=["store_id", "local_date"], how="anti").height
        verdict = f"DIFFERENT: {only_ours} only ours, {only_theirs} only pandas"
    else:
        verdict = f"identical: {a.height:,} flagged store-days"
    found = set(a.select("store_id", "local_date").iter_rows())
    hits = len(found & planted)
    print(f"  ours (numpy on a stores x days grid): {ours['seconds']:.2f} s, {memory(ours)}")
    print(f"  baseline (pandas groupby per store):  {theirs['seconds']:.2f} s, {memory(theirs)}")
    print(f"  ratio {theirs['seconds'] / ours['seconds']:.1f}x faster   [{verdict}]")
    print(
        f"  against the planted days: precision {hits / max(len(found), 1):.3f}, "
        f"recall {hits / len(planted):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k members, 100 stores")
    parser.add_argument("--skip-rules", action="store_true")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--stores", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument(
        "--segment-worlds",
        default="",
        help="scale:seed,... demo worlds to segment as the platform does (about 3 min each)",
    )
    parser.add_argument("--segments-only", action="store_true", help="no rules, no anomalies")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if not (args.skip_rules or args.segments_only):
        bench_rules(args.quick)
    bench_segments(10_000 if args.quick else args.members)
    worlds = [w.split(":") for w in args.segment_worlds.split(",") if w]
    bench_segment_worlds([(scale, int(seed)) for scale, seed in worlds])
    if not args.segments_only:
        bench_anomalies(100 if args.quick else args.stores, args.days)


if __name__ == "__main__":
    main()
