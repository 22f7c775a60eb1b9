"""Benchmark: fit + backtest time of each forecasting model, and its accuracy, against the
seasonal-naive baseline, on 50 and 500 synthetic daily series over two years.

The series follow the demo world's planted model (weekday x yearly x trend from
footfall_platform.demo.footfall.FootfallPlan, holiday lift 1.30, promotion lift 1.25, closures on
25 December and 1 January, Poisson noise), with store sizes drawn log-normally. Each model runs
the full job the platform runs: a rolling-origin backtest (3 folds of 28 days) plus the refit
on all history and the 28-day forecast. Printed side by side: seconds per model for each size,
the ratio to the baseline, and WAPE per model against the baseline's.

Prophet fits one model per series per fold (4 x n fits) in a process pool on every core. On a
2-core machine 500 series take many minutes, so by default Prophet is measured on the first
`--prophet-sample` series of the 500 and the time is extrapolated linearly (the fits are
independent, so time grows with their number; the printout says so); `--full` fits them all.
Run: ``python benchmarks/forecast.py`` (``--quick`` for 20 and 60 series).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from footfall_platform.demo.footfall import FootfallPlan  # noqa: E402
from footfall_platform.forecast.backtest import run_backtest  # noqa: E402
from footfall_platform.forecast.baseline import SeasonalNaive  # noqa: E402
from footfall_platform.forecast.frame import Panel, prepare_panel  # noqa: E402
from footfall_platform.forecast.gbm import LightGBMGlobal  # noqa: E402
from footfall_platform.forecast.metrics import overall  # noqa: E402
from footfall_platform.forecast.prophet_model import ProphetModel, prophet_pool  # noqa: E402
from footfall_platform.warehouse.inspect import text_table  # noqa: E402

START = dt.date(2023, 1, 2)
DAYS = 730
HORIZON = 28
FOLDS = 3


def synthetic_panel(n: int, seed: int = 0) -> Panel:
    """n stores x two years of daily entries from the demo world's planted model."""
    rng = np.random.default_rng(seed)
    plan = FootfallPlan()
    shape = plan.day_factors(START, DAYS)
    dates = [START + dt.timedelta(days=d) for d in range(DAYS)]
    holiday = np.array([d.timetuple().tm_yday % 37 == 3 for d in dates])  # ~10 a year
    closed = np.array([(d.month, d.day) in ((12, 25), (1, 1)) for d in dates])
    frames = []
    for s in range(n):
        promo = np.zeros(DAYS, bool)
        day = int(rng.integers(5, 40))
        while day < DAYS:
            promo[day : day + 3] = True
            day += int(rng.integers(35, 57))
        mean = rng.lognormal(np.log(400), 0.5) * shape
        mean = (
            mean * np.where(holiday, plan.holiday_lift, 1) * np.where(promo, plan.promotion_lift, 1)
        )
        y = np.where(closed, 0, rng.poisson(mean)).astype(float)
        frames.append(pl.DataFrame({"series_id": f"S{s:04d}", "date": dates, "y": y,
                                    "is_holiday": holiday.astype(float),
                                    "is_promotion": promo.astype(float),
                                    "is_closure": closed.astype(float)}))  # fmt: skip
    return prepare_panel(pl.concat(frames), regressors=["is_holiday", "is_promotion"],
                         closure="is_closure", freq="D")  # fmt: skip


def timed_job(panel: Panel, name: str, make) -> tuple[float, pl.DataFrame]:
    """Backtest (3 folds) + refit and forecast: the whole job, wall-clock seconds."""
    started = time.perf_counter()
    result = run_backtest(panel, HORIZON, {name: make}, FOLDS)
    make().fit(panel).predict(HORIZON, panel.frame)
    return time.perf_counter() - started, result.points


def run_size(n: int, prophet_sample: int | None) -> tuple[dict[str, float], pl.DataFrame, str]:
    panel = synthetic_panel(n)
    times: dict[str, float] = {}
    points = []
    note = ""
    for name, make in (("seasonal_naive", SeasonalNaive),
                       ("lightgbm", lambda: LightGBMGlobal(HORIZON))):  # fmt: skip
        times[name], p = timed_job(panel, name, make)
        points.append(p.with_columns(pl.lit(name).alias("model")))
    sample = panel if not prophet_sample or prophet_sample >= n else panel.select(
        panel.series[:prophet_sample])  # fmt: skip
    with prophet_pool(0) as pool:
        seconds, p = timed_job(sample, "prophet", lambda: ProphetModel(pool=pool))
    fitted = len(sample.series)
    times["prophet"] = seconds * n / fitted
    if fitted < n:
        note = (f"prophet at {n} series: measured on {fitted} series ({seconds:.1f} s), "
                f"extrapolated x{n / fitted:.1f}")  # fmt: skip
    points.append(p.with_columns(pl.lit("prophet").alias("model")))
    both = pl.concat(points, how="diagonal_relaxed")
    members = both.filter(pl.col("model").is_in(["prophet", "lightgbm"]))
    shared = members.group_by("series_id", "fold", "date").agg(
        pl.col("yhat").mean(), pl.col("lo80").mean(), pl.col("hi80").mean(),
        pl.col("lo95").mean(), pl.col("hi95").mean(), pl.first("y"), pl.first("scale"),
        pl.first("event"), pl.len().alias("_n"),
    ).filter(pl.col("_n") == 2).with_columns(pl.lit("ensemble").alias("model"))  # fmt: skip
    times["ensemble"] = times["prophet"] + times["lightgbm"]
    scored = pl.concat([both, shared.drop("_n")], how="diagonal_relaxed")
    # accuracy on the series every model forecast (Prophet's sample when extrapolated)
    return times, scored.filter(pl.col("series_id").is_in(sample.series)), note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 and 60 series")
    parser.add_argument("--full", action="store_true", help="fit Prophet on every series")
    parser.add_argument("--prophet-sample", type=int, default=100)
    args = parser.parse_args()
    sizes = (20, 60) if args.quick else (50, 500)
    sample = None if args.full else args.prophet_sample
    results = {n: run_size(n, sample) for n in sizes}

    models = ["seasonal_naive", "lightgbm", "prophet", "ensemble"]
    print(f"\nfit + backtest ({FOLDS} folds x {HORIZON} days) + refit, {DAYS} days per series, "
          "seconds (ratio to the seasonal-naive baseline):")  # fmt: skip
    rows = []
    for m in models:
        row = [m]
        for n in sizes:
            t, base = results[n][0][m], results[n][0]["seasonal_naive"]
            row += [f"{t:.1f}", f"{t / base:.0f}x", f"{1000 * t / n:.0f}"]
        rows.append(row)
    headers = ["model"] + [f"{h} ({n})" for n in sizes for h in ("s", "vs naive", "ms/series")]
    print(text_table(headers, rows))
    for n in sizes:
        if results[n][2]:
            print(f"note: {results[n][2]}")

    print("\naccuracy over the backtest (series every model forecast, pooled; "
          "ratio = WAPE / seasonal-naive WAPE):")  # fmt: skip
    acc_rows = []
    for n in sizes:
        table = overall(results[n][1])
        naive = table.filter(pl.col("model") == "seasonal_naive")["wape"][0]
        for r in table.sort(pl.col("model").replace_strict(
                {m: i for i, m in enumerate(models)})).iter_rows(named=True):  # fmt: skip
            acc_rows.append([n, r["model"], f"{r['wape']:.4f}", f"{r['wape'] / naive:.2f}",
                             f"{r['mase']:.3f}", f"{r['coverage80']:.3f}",
                             f"{r['coverage95']:.3f}"])  # fmt: skip
    print(text_table(["series", "model", "wape", "ratio", "mase", "cover80", "cover95"],
                     acc_rows))  # fmt: skip


if __name__ == "__main__":
    main()
