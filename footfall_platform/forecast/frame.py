"""The long frame every model reads: validated once, put on a regular grid, frequency known.

Models should never meet a bad input: a NaN deep inside Prophet or a duplicate date inside a
LightGBM lag is a crash nobody can read. So every check happens here, with a message that names
the column, the series and a date, and the models get a `Panel`: one row per series and grid
step from the series' first to last date, `y` null on a gap (a day the feed sent nothing), the
known-in-advance regressors as floats.

Documented fallbacks rather than errors: unsorted rows are sorted; a gap becomes a null `y`.
Errors: an empty frame, missing columns, null/NaN/infinite values, duplicate dates, dates off the
frequency's grid, a horizon below 1.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

FREQUENCIES = ("D", "W", "M")
SEASON = {"D": 7, "W": 52, "M": 12}  # the seasonal period the baseline repeats
YEAR = {"D": 365, "W": 52, "M": 12}  # grid steps in a year
STEP_NAME = {"D": "day", "W": "week", "M": "month"}
CLOSURE = "is_closure"  # the conventional name of the closure flag (store_day's)


class ForecastInputError(ValueError):
    """The input cannot be forecast as given; the message says what to fix."""


@dataclass(frozen=True)
class Panel:
    """Series on a regular grid: series_id, date, y (null on gaps), regressors (floats).

    `closure` names the regressor whose 1s mark days known to be closed: models leave them out
    of training and forecast 0 for them, so a closed day does not drag the level.
    """

    frame: pl.DataFrame
    freq: str
    regressors: tuple[str, ...] = ()
    closure: str | None = None

    @property
    def season(self) -> int:
        return SEASON[self.freq]

    @property
    def series(self) -> list[str]:
        return self.frame["series_id"].unique(maintain_order=True).to_list()

    @property
    def last_date(self) -> dt.date:
        return self.frame["date"].max()

    def until(self, cutoff: dt.date) -> Panel:
        """The history known at `cutoff` (inclusive): what a backtest fold may train on."""
        cut = self.frame.filter(pl.col("date") <= cutoff)
        cut = cut.filter(pl.col("y").is_not_null().any().over("series_id"))
        return Panel(cut, self.freq, self.regressors, self.closure)

    def select(self, series: list[str]) -> Panel:
        kept = self.frame.filter(pl.col("series_id").is_in(series))
        return Panel(kept, self.freq, self.regressors, self.closure)

    def observed(self) -> pl.DataFrame:
        """Rows with a value, closures included (their 0 is a true observation)."""
        return self.frame.filter(pl.col("y").is_not_null())

    def training_rows(self) -> pl.DataFrame:
        """Rows a model learns the level from: observed and not a known closure."""
        rows = self.observed()
        if self.closure:
            rows = rows.filter(pl.col(self.closure) < 0.5)
        return rows


def check_horizon(horizon: int) -> int:
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ForecastInputError(f"horizon must be a whole number of steps >= 1, got {horizon!r}")
    return horizon


def shift(dates: pl.Expr, steps: int | pl.Expr, freq: str) -> pl.Expr:
    """Dates moved by `steps` grid steps (months keep the day of month, clamped)."""
    if isinstance(steps, int):
        steps = pl.lit(steps)
    unit = {"D": "d", "W": "w", "M": "mo"}[freq]
    return dates.dt.offset_by(pl.format("{}" + unit, steps))


def infer_freq(frame: pl.DataFrame) -> str:
    """D, W or M from the most common gap between consecutive dates of the same series."""
    gaps = (
        frame.sort("series_id", "date")
        .select(
            (pl.col("date").diff().over("series_id").dt.total_days()).alias("gap"),
        )
        .drop_nulls()
    )
    if gaps.is_empty():
        raise ForecastInputError(
            "cannot infer the frequency: no series has two dates; pass freq (D, W or M)"
        )
    gap = int(gaps["gap"].mode().sort()[0])
    if gap == 1:
        return "D"
    if gap == 7:
        return "W"
    if 28 <= gap <= 31:
        return "M"
    raise ForecastInputError(
        f"cannot infer the frequency: the usual gap between dates is {gap} days "
        "(expected 1, 7 or 28-31); pass freq (D, W or M)"
    )


def _first(frame: pl.DataFrame, mask: pl.Expr) -> str:
    row = frame.filter(mask).row(0, named=True)
    return f"series {row['series_id']!r} on {row['date']}"


def prepare_panel(
    frame: pl.DataFrame,
    *,
    date_col: str = "date",
    value_col: str = "y",
    series_col: str | None = "series_id",
    regressors: tuple[str, ...] | list[str] = (),
    closure: str | None = None,
    freq: str | None = None,
) -> Panel:
    """Validate a long frame and put it on its grid (see the module docstring for the rules).

    `series_col=None` (or a missing column named the default) means one series called "y".
    Regressors must be numeric or boolean and complete; `closure` must be one of them.
    """
    regressors = tuple(regressors)
    if closure is not None and closure not in regressors:
        regressors = (*regressors, closure)
    if frame.height == 0:
        raise ForecastInputError("the input is empty: no rows to forecast from")
    if series_col is not None and series_col not in frame.columns and series_col == "series_id":
        series_col = None
    wanted = [date_col, value_col, *regressors] + ([series_col] if series_col else [])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ForecastInputError(f"missing column(s) {missing}; the input has {frame.columns}")
    series = pl.col(series_col).cast(pl.Utf8) if series_col else pl.lit(value_col)
    try:
        long = frame.select(
            series.alias("series_id"),
            pl.col(date_col).cast(pl.Date).alias("date"),
            pl.col(value_col).cast(pl.Float64).alias("y"),
            *[pl.col(r).cast(pl.Float64) for r in regressors],
        )
    except pl.exceptions.PolarsError as error:
        raise ForecastInputError(
            f"{date_col!r} must hold dates and {value_col!r} and the regressors numbers: {error}"
        ) from error

    _reject_bad_values(long, date_col, value_col, regressors)
    duplicated = long.select("series_id", "date").is_duplicated()
    if duplicated.any():
        pairs = long.filter(duplicated).select("series_id", "date").n_unique()
        raise ForecastInputError(
            f"{pairs} (series, date) pair(s) appear on more than one row, e.g. "
            f"{_first(long, duplicated)}: aggregate them to one value per date first"
        )
    long = long.sort("series_id", "date")  # unsorted input: sorted, not refused
    freq = freq.upper() if freq else infer_freq(long)
    if freq not in FREQUENCIES:
        raise ForecastInputError(f"freq must be one of {FREQUENCIES}, got {freq!r}")
    return Panel(_on_grid(long, freq, regressors), freq, regressors, closure)


def _reject_bad_values(
    long: pl.DataFrame, date_col: str, value_col: str, regressors: tuple[str, ...]
) -> None:
    if long["series_id"].null_count():
        raise ForecastInputError("the series column has empty values: every row needs a series")
    if long["date"].null_count():
        raise ForecastInputError(f"{date_col!r} has empty values: every row needs a date")
    for column, name in [("y", value_col), *[(r, r) for r in regressors]]:
        values = pl.col(column)
        bad = values.is_null() | values.is_nan() | values.is_infinite()
        count = long.select(bad.sum()).item()
        if count:
            hint = (
                " (drop those rows instead: a missing date is a gap the models handle)"
                if column == "y"
                else " (regressors are known in advance: fill them with 0 or 1)"
            )
            raise ForecastInputError(
                f"{name!r} has {count} null, NaN or infinite value(s), e.g. "
                f"{_first(long, bad)}{hint}"
            )


def _on_grid(long: pl.DataFrame, freq: str, regressors: tuple[str, ...]) -> pl.DataFrame:
    """One row per series and grid step; a date off the grid is an error, a gap a null y."""
    firsts = long.group_by("series_id", maintain_order=True).agg(
        pl.col("date").min().alias("first"), pl.col("date").max().alias("last")
    )
    if freq == "D":
        grid = firsts.select(
            "series_id", pl.date_ranges("first", "last", interval="1d").alias("date")
        )
    else:
        # Months are counted from the first date (so day 31 clamps to day 30 in April, ...).
        steps = firsts.select(
            "series_id",
            "first",
            pl.int_ranges(0, _steps_between(firsts, freq) + 1).alias("k"),
        ).explode("k")
        grid = steps.select("series_id", shift(pl.col("first"), pl.col("k"), freq).alias("date"))
        grid = grid.group_by("series_id", maintain_order=True).agg("date")
    grid = grid.explode("date")
    off_grid = long.join(grid, on=["series_id", "date"], how="anti")
    if off_grid.height:
        row = off_grid.row(0, named=True)
        raise ForecastInputError(
            f"{off_grid.height} date(s) are not on the {STEP_NAME[freq]}ly grid of their series, "
            f"e.g. series {row['series_id']!r} on {row['date']}: pass the right freq or fix "
            "the dates"
        )
    full = grid.join(long, on=["series_id", "date"], how="left")
    return full.with_columns([pl.col(r).fill_null(0.0) for r in regressors]).sort(
        "series_id", "date"
    )


def _steps_between(firsts: pl.DataFrame, freq: str) -> pl.Expr:
    if freq == "W":
        return (pl.col("last") - pl.col("first")).dt.total_days() // 7
    return (pl.col("last").dt.year() - pl.col("first").dt.year()) * 12 + (
        pl.col("last").dt.month() - pl.col("first").dt.month()
    )


def future_frame(panel: Panel, horizon: int, known: pl.DataFrame | None = None) -> pl.DataFrame:
    """The `horizon` grid steps after each series' last date, with the regressors known then.

    `known` holds regressor values by series_id and date (the calendar, or in a backtest the
    panel itself); a regressor missing for a future date is 0 (no event known).
    """
    check_horizon(horizon)
    lasts = panel.frame.group_by("series_id", maintain_order=True).agg(
        pl.col("date").max().alias("last")
    )
    future = (
        lasts.with_columns(pl.int_ranges(1, horizon + 1).alias("step"))
        .explode("step")
        .with_columns(shift(pl.col("last"), pl.col("step"), panel.freq).alias("date"))
        .select("series_id", "date", "step")
    )
    if not panel.regressors:
        return future
    if known is None:
        return future.with_columns([pl.lit(0.0).alias(r) for r in panel.regressors])
    values = known.select(
        pl.col("series_id").cast(pl.Utf8),
        pl.col("date").cast(pl.Date),
        *[pl.col(r).cast(pl.Float64) for r in panel.regressors],
    ).unique(["series_id", "date"], keep="last")
    return future.join(values, on=["series_id", "date"], how="left").with_columns(
        [pl.col(r).fill_null(0.0).fill_nan(0.0) for r in panel.regressors]
    )
