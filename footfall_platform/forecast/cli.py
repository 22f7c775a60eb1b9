"""``footfall forecast``: the platform's forecasting engine on any CSV file.

It runs exactly what the assets run (validation, backtest, champion per series, refit) so an
analyst can try a series by hand and get the figures the platform would give. The input is a
long CSV: a date column (YYYY-MM-DD), a value column and optionally a series column. It prints
the backtest table and the champion per series, and writes every model's forecast with its
80 % and 95 % intervals (``is_champion`` marks the one to use). A bad file stops with the line
and value at fault, exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from footfall_platform.mining.rules_cli import _positive

if TYPE_CHECKING:  # the engine (polars, Prophet, LightGBM) loads only when the command runs
    import polars as pl

    from footfall_platform.forecast.pipeline import ForecastRun

INPUT_ERROR = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forecast`` subcommand; the parsed namespace carries ``func``."""
    parser = subparsers.add_parser(
        "forecast",
        help="backtest and forecast the series of a CSV file",
        description=(
            "Forecast every series of INPUT.csv (long format: date, value, optional series id) "
            "with the seasonal-naive baseline, Prophet, a global LightGBM and their ensemble; "
            "print the rolling-origin backtest and the champion per series; write the forecasts "
            "with 80 %% and 95 %% intervals to --out."
        ),
    )
    parser.add_argument("input", type=Path, metavar="INPUT.csv")
    parser.add_argument("--horizon", type=_positive, required=True, metavar="H",
                        help="steps to forecast after each series' last date")  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, metavar="OUT.csv")
    parser.add_argument("--date-col", default="ds", help="date column, YYYY-MM-DD (default ds)")
    parser.add_argument("--value-col", default="y", help="value column (default y)")
    parser.add_argument("--series-col", default=None,
                        help="series id column (default: the whole file is one series)")  # fmt: skip
    parser.add_argument("--freq", choices=["D", "W", "M"], default=None,
                        help="D, W or M (default: inferred from the dates)")  # fmt: skip
    parser.add_argument("--folds", type=int, default=3, help="backtest folds (at least 3)")
    parser.add_argument("--jobs", type=int, default=0,
                        help="Prophet worker processes (default 0: every core)")  # fmt: skip
    parser.set_defaults(func=run)


def read_input(path: Path, date_col: str, value_col: str, series_col: str | None) -> pl.DataFrame:
    """The CSV as text, then dates and values parsed strictly: a bad cell names its line."""
    import polars as pl

    from footfall_platform.forecast.frame import ForecastInputError

    if not path.is_file():
        raise ForecastInputError(f"{path}: no such file")
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as error:
        raise ForecastInputError(f"{path}: not a readable CSV file ({error})") from error
    wanted = [date_col, value_col] + ([series_col] if series_col else [])
    missing = [c for c in wanted if c not in raw.columns]
    if missing:
        raise ForecastInputError(f"{path}: no column(s) {missing}; the header has {raw.columns}")
    parsed = raw.with_row_index("line", offset=2).with_columns(
        pl.col(date_col).str.strip_chars().str.to_date("%Y-%m-%d", strict=False).alias("_date"),
        pl.col(value_col).str.strip_chars().cast(pl.Float64, strict=False).alias("_value"),
    )
    for source, target, kind in ((date_col, "_date", "a date as YYYY-MM-DD"),
                                 (value_col, "_value", "a number")):  # fmt: skip
        bad = parsed.filter(pl.col(target).is_null() & pl.col(source).is_not_null())
        if bad.height:
            row = bad.row(0, named=True)
            raise ForecastInputError(
                f"{path} line {row['line']}: {source} {row[source]!r} is not {kind} "
                f"({bad.height} such line(s))"
            )
    empty = parsed.filter(pl.col(date_col).is_null())
    if empty.height:
        raise ForecastInputError(f"{path} line {empty['line'][0]}: {date_col} is empty")
    columns = [pl.col("_date").alias("date"), pl.col("_value").alias("y")]
    if series_col:
        columns.insert(0, pl.col(series_col).alias("series_id"))
    return parsed.select(columns)


def run(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    """Execute a parsed ``forecast`` command; returns the process exit code."""
    from footfall_platform.forecast.frame import ForecastInputError, prepare_panel
    from footfall_platform.forecast.pipeline import ForecastSettings, forecast_panel

    out = stdout or sys.stdout
    try:
        frame = read_input(args.input, args.date_col, args.value_col, args.series_col)
        panel = prepare_panel(frame, series_col="series_id" if args.series_col else None,
                              freq=args.freq)  # fmt: skip
        settings = ForecastSettings(horizon=args.horizon, folds=args.folds, n_jobs=args.jobs)
        result = forecast_panel(panel, settings)
    except (ForecastInputError, ValueError) as error:
        print(f"footfall forecast: {error}", file=sys.stderr)
        return INPUT_ERROR
    print(report(result), file=out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result.forecasts.write_csv(args.out)
    print(f"wrote {result.forecasts.height} forecast rows to {args.out}", file=out)
    return 0


def report(result: ForecastRun) -> str:
    """The backtest per model (all series pooled) and per series, champions, fallbacks."""
    import polars as pl

    from footfall_platform.forecast.metrics import POOLED, overall
    from footfall_platform.warehouse.inspect import text_table

    lines = []
    if result.backtest is not None:
        table = overall(result.backtest.points)
        lines += [
            "backtest, all series (pooled over folds):",
            text_table(table.columns, table.rows()),
        ]
        wape = (
            result.backtest.metrics.filter(
                (pl.col("fold") == POOLED) & (pl.col("metric") == "wape")
            )
            .pivot(on="model", index="series_id", values="value")
            .sort("series_id")
        )
        lines += ["", "WAPE per series:", text_table(wape.columns, wape.rows())]
    champions = result.champions.sort("series_id")
    lines += ["", "champion per series:", text_table(champions.columns, champions.rows())]
    if result.fallbacks.height:
        lines += ["", "fallbacks:", text_table(result.fallbacks.columns, result.fallbacks.rows())]
    return "\n".join(lines)
