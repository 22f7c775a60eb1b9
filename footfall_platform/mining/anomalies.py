"""Anomalies: store-days and store-hours far from what the store's own history predicts, plus the
data-quality gaps a data team wants to hear about (a camera missing or counting zero while the
till sells, an RFID reader silent for a day).

The expected value of a store-day is a robust seasonal decomposition, fitted per store on a
dense (stores x days) grid so that every step is one vectorised numpy operation for all stores:

1. a first level: the centred 7-day rolling median of ordinary days (no holiday, promotion or
   closure), which a weekly pattern cannot move;
2. a weekly profile: the median ratio of each weekday to that level, normalised to mean 1;
3. a trend: the centred rolling median (21 days by default) of the deseasonalised ordinary days,
   so that a five-day outage or a one-day spike cannot drag it (they are under half a window);
4. calendar lifts: the median ratio of actual to ``trend x weekday`` on holidays and on promotion
   days, pooled over stores (a store has too few of them alone); closures expect zero.

``expected = trend x weekday x lifts``. The residual is taken on a square-root scale
(``2 (sqrt(y + 3/8) - sqrt(e + 3/8))``, Anscombe's transform), where Poisson counts have unit
variance whatever their level, so that one robust scale per store (1.4826 x the median absolute
deviation, never below the Poisson floor of 1) serves quiet and busy days, and a quiet hour and a
busy one. A cell is an anomaly when its robust score passes the threshold *and* it is far enough
from the expected value in relative terms; its kind is ``outage`` when a count is zero (or a
camera is known to be missing), else ``spike`` or ``drop`` by the sign.

Store-hours use the same daily model on the day's hourly total, spread over the hours by the
store's median hour-of-day shares; missing hours inside a reported day count as zero (a camera
that sends nothing for an afternoon is an outage, not a gap).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from footfall_platform.charts import new_figure, png_bytes

ANOMALY_SCHEMA: dict[str, pl.DataType] = {
    "store_id": pl.String(),
    "local_date": pl.Date(),
    "local_hour": pl.Int32(),  # null for a whole day
    "grain": pl.String(),  # day | hour
    "metric": pl.String(),  # footfall | receipts | net_sales | entries | rfid_reads
    "kind": pl.String(),  # spike | drop | outage
    "check": pl.String(),  # model | camera_missing | camera_zero_while_selling | reader_silent
    "subject": pl.String(),  # the reader (RFID checks); null otherwise
    "expected": pl.Float64(),
    "actual": pl.Float64(),
    "score": pl.Float64(),  # robust z-score of the residual; null for rule-based checks
    "detail": pl.String(),
}
KINDS = ("spike", "drop", "outage")
CHECKS = ("model", "camera_missing", "camera_zero_while_selling", "reader_silent")
DAILY_METRICS = ("footfall", "receipts", "net_sales")
STORE_DAY_COLUMNS = ("store_id", "date", "is_holiday", "is_promotion", "is_closure")

_MAD_TO_SD = 1.4826  # MAD of a normal distribution is 0.6745 sd


class AnomalyInputError(ValueError):
    """An input frame cannot be scored (missing columns, repeated keys, negative counts)."""


@dataclass(frozen=True)
class Rule:
    """When a scored cell is an anomaly: both far in noise units and far in relative terms."""

    threshold: float  # |robust z| at least this
    min_relative_change: float  # and |actual / expected - 1| at least this


# Counts: Iglewicz & Hoaglin's 3.5 for robust z-scores. Money: daily sales of a store are sums of
# a few dozen heavy-tailed baskets, so +/-75 % days come from ordinary big baskets; measured on
# five demo worlds, z >= 3.5 flags 0.8 % of ordinary store-days in net sales and z >= 5 0.15 %.
# Hours: 24 times more cells than days, so a stricter cut keeps the alarms per store as rare.
COUNT_RULE = Rule(3.5, 0.2)
MONEY_RULE = Rule(5.0, 0.5)
HOURLY_RULE = Rule(4.0, 0.35)


def _default_rules() -> dict[str, Rule]:
    return {"footfall": COUNT_RULE, "receipts": COUNT_RULE, "net_sales": MONEY_RULE}


@dataclass(frozen=True)
class AnomalyConfig:
    """Thresholds and windows; docs/mining.md argues the defaults."""

    rules: dict[str, Rule] = field(default_factory=_default_rules)  # by daily metric
    default_rule: Rule = COUNT_RULE  # a daily metric not named in ``rules``
    hourly_rule: Rule = HOURLY_RULE
    weekly_window: int = 7
    trend_window: int = 21
    min_expected: float = 5.0  # cells expecting less are not scored (nothing to tell apart)
    min_event_days: int = 3  # fewer holidays/promotion days than this: no lift is estimated
    min_reader_reads: float = 20.0  # readers with fewer reads on a typical day are not checked
    chunk_stores: int = 256  # stores per block of the rolling median (bounds memory)

    def rule(self, metric: str) -> Rule:
        return self.rules.get(metric, self.default_rule)


# --- the dense grid ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """Stores x consecutive days; ``locate`` maps a frame's rows to cells."""

    stores: list[str]
    start: dt.date
    days: int

    @classmethod
    def spanning(cls, *frames: tuple[pl.DataFrame, str]) -> _Grid:
        stores: set[str] = set()
        lo: dt.date | None = None
        hi: dt.date | None = None
        for frame, date_column in frames:
            if frame.height == 0:
                continue
            stores.update(frame.get_column("store_id").unique().to_list())
            dates = frame.get_column(date_column)
            lo = dates.min() if lo is None else min(lo, dates.min())
            hi = dates.max() if hi is None else max(hi, dates.max())
        if lo is None or hi is None:
            return cls([], dt.date(2000, 1, 1), 0)
        return cls(sorted(stores), lo, (hi - lo).days + 1)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.stores), self.days

    def locate(self, frame: pl.DataFrame, date_column: str) -> tuple[np.ndarray, np.ndarray]:
        codes = pl.Series(self.stores, dtype=pl.String)
        store = (
            frame.get_column("store_id")
            .replace_strict(codes, pl.Series(np.arange(len(codes))), return_dtype=pl.Int64)
            .to_numpy()
        )
        day = frame.select((pl.col(date_column) - self.start).dt.total_days()).to_series()
        return store, day.to_numpy().astype(np.int64)

    def dates(self) -> pl.Series:
        return pl.date_range(
            self.start, self.start + dt.timedelta(days=max(self.days - 1, 0)), eager=True
        )

    def weekdays(self) -> np.ndarray:
        return (self.start.weekday() + np.arange(self.days)) % 7  # 0 = Monday

    def fill(self, frame: pl.DataFrame, date_column: str, value_column: str) -> np.ndarray:
        out = np.full(self.shape, np.nan)
        if frame.height:
            s, d = self.locate(frame, date_column)
            out[s, d] = frame.get_column(value_column).cast(pl.Float64).to_numpy()
        return out

    def flags(self, store_days: pl.DataFrame, column: str) -> np.ndarray:
        return np.nan_to_num(self.fill(store_days, "date", column), nan=0.0) > 0


# --- robust building blocks ---------------------------------------------------------------------


def rolling_nanmedian(
    values: np.ndarray, window: int, min_count: int, chunk: int = 256
) -> np.ndarray:
    """Centred rolling median along the last axis ignoring NaN; NaN where too few values.

    Sorting each window (NaN sorts last) and picking the middle of the valid values is one
    vectorised step for all rows, where ``np.nanmedian`` over windows falls back to masked arrays
    and a pandas groupby-rolling runs one series at a time.
    """
    half = window // 2
    out = np.full(values.shape, np.nan)
    padded = np.pad(values, [(0, 0)] * (values.ndim - 1) + [(half, half)], constant_values=np.nan)
    for lo in range(0, values.shape[0], chunk):
        block = np.lib.stride_tricks.sliding_window_view(
            padded[lo : lo + chunk], 2 * half + 1, axis=-1
        )
        ordered = np.sort(block, axis=-1)
        n = (~np.isnan(block)).sum(axis=-1)
        low = np.take_along_axis(ordered, np.maximum((n - 1) // 2, 0)[..., None], -1)[..., 0]
        high = np.take_along_axis(ordered, np.minimum(n // 2, window - 1)[..., None], -1)[..., 0]
        out[lo : lo + chunk] = np.where(n >= min_count, (low + high) / 2, np.nan)
    return out


def robust_scores(residual: np.ndarray, scored: np.ndarray, floor: float = 1.0) -> np.ndarray:
    """(r - median) / (1.4826 MAD) per row (store) over the scored cells; NaN elsewhere.

    The MAD is taken separately above and below the median (the "double MAD"): sales are skewed
    to the right (one big basket lifts a day, nothing lowers it as much), and one symmetric
    scale would call the ordinary big days spikes. For symmetric noise both halves agree.
    """
    flat = residual.reshape(residual.shape[0], -1)
    mask = scored.reshape(flat.shape)
    kept = np.where(mask, flat, np.nan)
    if kept.size == 0:
        return np.full(residual.shape, np.nan)
    centre = np.nan_to_num(nanmedian(kept, axis=1))
    deviation = kept - centre[:, None]
    with np.errstate(invalid="ignore"):
        upper = nanmedian(np.where(deviation >= 0, deviation, np.nan), axis=1)
        lower = nanmedian(np.where(deviation <= 0, -deviation, np.nan), axis=1)
    upper = np.fmax(np.nan_to_num(_MAD_TO_SD * upper, nan=floor), floor)
    lower = np.fmax(np.nan_to_num(_MAD_TO_SD * lower, nan=floor), floor)
    deviation = flat - centre[:, None]
    score = np.where(deviation >= 0, deviation / upper[:, None], deviation / lower[:, None])
    return np.where(mask, score, np.nan).reshape(residual.shape)


def nanmedian(values: np.ndarray, axis: int) -> np.ndarray:
    """``np.nanmedian`` that returns NaN for an all-NaN slice without a warning (a store with no
    ordinary Tuesday is a normal case here, not a surprise)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(values, axis=axis)


def anscombe_residual(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return 2.0 * (np.sqrt(np.fmax(actual, 0) + 0.375) - np.sqrt(np.fmax(expected, 0) + 0.375))


# --- the expected value of a store-day --------------------------------------------------------


@dataclass(frozen=True)
class DailyModel:
    """Expected values and their parts on the grid (stores x days)."""

    actual: np.ndarray
    expected: np.ndarray
    weekly: np.ndarray  # stores x 7, Monday first, mean 1
    holiday_lift: float
    promotion_lift: float


def fit_daily(
    actual: np.ndarray,
    weekday: np.ndarray,
    holiday: np.ndarray,
    promotion: np.ndarray,
    closure: np.ndarray,
    config: AnomalyConfig,
) -> DailyModel:
    """The robust seasonal decomposition of the module docstring, for every store at once."""
    ordinary = ~np.isnan(actual) & ~holiday & ~promotion & ~closure
    plain = np.where(ordinary, actual, np.nan)
    w = config.weekly_window
    level = rolling_nanmedian(plain, w, max(2, w // 2 + 1), config.chunk_stores)
    with np.errstate(all="ignore"):
        ratio = np.where(level > 0, plain / level, np.nan)
    weekly = np.ones((actual.shape[0], 7))
    for d in range(7):
        on_day = ratio[:, weekday == d]
        if on_day.size:
            weekly[:, d] = nanmedian(on_day, axis=1)
    known = np.isfinite(weekly) & (weekly > 0)
    weekly = np.where(known, weekly, 1.0)  # a weekday never seen counts as average
    weekly = weekly / weekly.mean(axis=1, keepdims=True)
    seasonal = weekly[:, weekday]
    deseasonalised = plain / seasonal
    t = config.trend_window
    trend = rolling_nanmedian(deseasonalised, t, max(3, t // 3), config.chunk_stores)
    fallback = nanmedian(deseasonalised, axis=1) if deseasonalised.size else np.zeros(0)
    trend = np.where(np.isnan(trend), np.nan_to_num(fallback)[:, None], trend)
    base = trend * seasonal

    def lift(on: np.ndarray) -> float:
        days = on & ~closure & ~np.isnan(actual) & (base > 0)
        if days.sum() < config.min_event_days:
            return 1.0
        return float(np.median(actual[days] / base[days]))

    holiday_lift = lift(holiday & ~promotion)
    promotion_lift = lift(promotion & ~holiday)
    factor = np.where(holiday, holiday_lift, 1.0) * np.where(promotion, promotion_lift, 1.0)
    expected = np.where(closure, 0.0, base * factor)
    expected = np.where(np.isnan(actual), np.nan, expected)
    return DailyModel(actual, expected, weekly, holiday_lift, promotion_lift)


def _check_store_days(store_days: pl.DataFrame, metrics: Sequence[str]) -> None:
    missing = sorted({*STORE_DAY_COLUMNS, *metrics} - set(store_days.columns))
    if missing:
        raise AnomalyInputError(f"store-day frame lacks columns {missing}")
    _check_unique(store_days, ["store_id", "date"], "store-day")


def _check_unique(frame: pl.DataFrame, keys: list[str], what: str) -> None:
    nulls = frame.select(pl.any_horizontal(pl.col(k).is_null() for k in keys).sum()).item()
    if nulls:
        raise AnomalyInputError(f"{nulls} {what} row(s) have a null in {keys}")
    repeated = frame.height - frame.select(keys).n_unique()
    if repeated:
        raise AnomalyInputError(f"{repeated} repeated {what} row(s) for the same {keys}")


def _check_not_negative(frame: pl.DataFrame, column: str, what: str) -> None:
    negative = frame.filter(pl.col(column) < 0).height
    if negative:
        raise AnomalyInputError(f"{negative} {what} row(s) have a negative {column}")


def score_store_days(
    store_days: pl.DataFrame, metric: str, config: AnomalyConfig | None = None
) -> pl.DataFrame:
    """Every store-day of one metric with its expected value and robust score (null if not
    scored: closures, too small an expectation, no value)."""
    config = config or AnomalyConfig()
    _check_store_days(store_days, [metric])
    grid = _Grid.spanning((store_days, "date"))
    model = _daily_model(grid, store_days, metric, config)
    score = _scores(model.actual, model.expected, config)
    s, d = np.nonzero(~np.isnan(model.actual))
    return pl.DataFrame(
        {
            "store_id": pl.Series(grid.stores, dtype=pl.String).gather(s),
            "local_date": grid.dates().gather(d),
            "metric": [metric] * len(s),
            "actual": model.actual[s, d],
            "expected": model.expected[s, d],
            "score": score[s, d],
        },
        schema_overrides={"score": pl.Float64},
    ).with_columns(pl.col("score").fill_nan(None))


def _daily_model(
    grid: _Grid, store_days: pl.DataFrame, column: str, config: AnomalyConfig
) -> DailyModel:
    return fit_daily(
        grid.fill(store_days, "date", column),
        grid.weekdays(),
        grid.flags(store_days, "is_holiday"),
        grid.flags(store_days, "is_promotion"),
        grid.flags(store_days, "is_closure"),
        config,
    )


def _scores(actual: np.ndarray, expected: np.ndarray, config: AnomalyConfig) -> np.ndarray:
    scored = ~np.isnan(actual) & (np.nan_to_num(expected) >= config.min_expected)
    return robust_scores(anscombe_residual(actual, expected), scored)


def _flagged(actual: np.ndarray, expected: np.ndarray, score: np.ndarray, rule: Rule) -> np.ndarray:
    with np.errstate(all="ignore"):
        change = np.abs(actual / expected - 1.0)
        agrees = np.sign(np.nan_to_num(score)) == np.sign(actual - expected)  # a spike is above
    return (
        (np.abs(np.nan_to_num(score)) >= rule.threshold)
        & (np.nan_to_num(change) >= rule.min_relative_change)
        & agrees
    )


def _kind(actual: np.ndarray, score: np.ndarray) -> np.ndarray:
    return np.where(actual == 0, "outage", np.where(score > 0, "spike", "drop"))


# --- the checks ------------------------------------------------------------------------------


def daily_anomalies(
    store_days: pl.DataFrame,
    footfall_daily: pl.DataFrame | None = None,
    metrics: Sequence[str] = DAILY_METRICS,
    config: AnomalyConfig | None = None,
) -> pl.DataFrame:
    """Store-day anomalies of each metric of ``features.store_day``, with the camera checks.

    ``footfall_daily`` (``marts.fct_footfall_daily``) adds ``cameras_reporting``: a day with
    fewer cameras than the store usually has is an ``outage`` of footfall even when the model
    alone would not flag it. A day whose cameras count zero while the till sells is one too.
    """
    config = config or AnomalyConfig()
    _check_store_days(store_days, metrics)
    if store_days.height == 0:
        return empty_anomalies()
    for metric in metrics:
        if metric != "net_sales":
            _check_not_negative(store_days, metric, "store-day")
    grid = _Grid.spanning((store_days, "date"))
    closure = grid.flags(store_days, "is_closure")
    parts = []
    for metric in metrics:
        model = _daily_model(grid, store_days, metric, config)
        score = _scores(model.actual, model.expected, config)
        flagged = _flagged(model.actual, model.expected, score, config.rule(metric))
        kind = _kind(model.actual, score)
        check = np.full(grid.shape, "model", dtype=object)
        detail = np.full(grid.shape, None, dtype=object)
        if metric == "footfall":
            dq_kind, dq_detail = _camera_checks(grid, store_days, footfall_daily, closure)
            dq = dq_kind != ""
            flagged |= dq
            kind = np.where(dq, "outage", kind)
            check = np.where(dq, dq_kind, check)
            detail = np.where(dq, dq_detail, detail)
        s, d = np.nonzero(flagged)
        parts.append(
            _frame(
                grid,
                s,
                d,
                metric=metric,
                kind=kind[s, d],
                check=check[s, d],
                expected=model.expected[s, d],
                actual=model.actual[s, d],
                score=score[s, d],
                detail=[
                    detail[i, j] or _model_detail(metric, model, i, j)
                    for i, j in zip(s, d, strict=True)
                ],
            )
        )
    return _sorted(pl.concat(parts))


def _model_detail(metric: str, model: DailyModel, s: int, d: int) -> str:
    actual, expected = model.actual[s, d], model.expected[s, d]
    change = actual / expected - 1.0 if expected else float("inf")
    return f"{metric} {actual:,.0f} against {expected:,.0f} expected ({change:+.0%})"


def _camera_checks(
    grid: _Grid,
    store_days: pl.DataFrame,
    footfall_daily: pl.DataFrame | None,
    closure: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: the camera check that fired ('' if none) and why."""
    kind = np.full(grid.shape, "", dtype=object)
    detail = np.full(grid.shape, None, dtype=object)
    footfall = grid.fill(store_days, "date", "footfall")
    receipts = (
        grid.fill(store_days, "date", "receipts")
        if "receipts" in store_days.columns
        else np.zeros(grid.shape)
    )
    if footfall_daily is not None and footfall_daily.height:
        missing = sorted(
            {"store_id", "local_date", "cameras_reporting"} - set(footfall_daily.columns)
        )
        if missing:
            raise AnomalyInputError(f"footfall-daily frame lacks columns {missing}")
        known = footfall_daily.filter(pl.col("store_id").is_in(grid.stores))
        cameras = grid.fill(known, "local_date", "cameras_reporting")
        usual = _usual_cameras(cameras, closure)
        short = ~closure & ~np.isnan(cameras) & (cameras < usual[:, None])
        for s, d in zip(*np.nonzero(short), strict=True):
            kind[s, d] = "camera_missing"
            detail[s, d] = (
                f"{cameras[s, d]:.0f} of the usual {usual[s]:.0f} cameras reported: footfall "
                "is undercounted"
            )
    # No count at all (NULL footfall: the feed sent nothing) is as telling as a count of zero.
    silent = ~closure & (np.nan_to_num(footfall) == 0) & (np.nan_to_num(receipts) > 0)
    for s, d in zip(*np.nonzero(silent), strict=True):
        kind[s, d] = "camera_zero_while_selling"
        counted = "sent no counts" if np.isnan(footfall[s, d]) else "counted 0 entries"
        detail[s, d] = f"cameras {counted} while the till made {receipts[s, d]:.0f} sales"
    return kind, detail


def _usual_cameras(cameras: np.ndarray, closure: np.ndarray) -> np.ndarray:
    """The most common camera count of each store on open days (ties: the larger)."""
    usual = np.zeros(cameras.shape[0])
    for s in range(cameras.shape[0]):
        seen = cameras[s][~np.isnan(cameras[s]) & ~closure[s]]
        if seen.size:
            values, counts = np.unique(seen, return_counts=True)
            usual[s] = values[counts == counts.max()].max()
    return usual


def hourly_anomalies(
    hourly: pl.DataFrame,
    store_days: pl.DataFrame | None = None,
    metric: str = "entries",
    config: AnomalyConfig | None = None,
) -> pl.DataFrame:
    """Store-hour anomalies of ``metric`` in an hourly frame (``marts.fct_footfall_hourly``).

    ``store_days`` supplies the calendar flags (``features.store_day``); without it every day is
    an ordinary day. Only days that have at least one hourly row are scored. A row with a null
    ``local_hour`` is a count known only for the whole day (a camera sending daily totals): its
    day cannot be split into hours, so that store-day is left out rather than read as a drop.
    """
    config = config or AnomalyConfig()
    missing = sorted({"store_id", "local_date", "local_hour", metric} - set(hourly.columns))
    if missing:
        raise AnomalyInputError(f"hourly frame lacks columns {missing}")
    whole_day = hourly.filter(pl.col("local_hour").is_null()).select("store_id", "local_date")
    hourly = hourly.join(whole_day.unique(), on=["store_id", "local_date"], how="anti")
    _check_unique(hourly, ["store_id", "local_date", "local_hour"], "store-hour")
    _check_not_negative(hourly, metric, "store-hour")
    bad_hours = hourly.filter(~pl.col("local_hour").is_between(0, 23)).height
    if bad_hours:
        raise AnomalyInputError(f"{bad_hours} store-hour row(s) have local_hour outside 0-23")
    if hourly.height == 0:
        return empty_anomalies()
    calendar = (
        store_days
        if store_days is not None
        else hourly.select("store_id", pl.col("local_date").alias("date"))
        .unique()
        .with_columns(
            is_holiday=pl.lit(False), is_promotion=pl.lit(False), is_closure=pl.lit(False)
        )
    )
    _check_store_days(calendar, [])
    grid = _Grid.spanning((hourly, "local_date"))
    cells = np.full((*grid.shape, 24), np.nan)
    s, d = grid.locate(hourly, "local_date")
    hour = hourly.get_column("local_hour").to_numpy().astype(np.int64)
    present = np.zeros(grid.shape, bool)
    present[s, d] = True
    cells[present] = 0.0  # a reported day: hours without a row counted nobody
    cells[s, d, hour] = hourly.get_column(metric).cast(pl.Float64).to_numpy()
    totals = np.where(present, np.nansum(np.nan_to_num(cells), axis=2), np.nan)
    known = calendar.filter(pl.col("store_id").is_in(grid.stores))
    in_range = known.filter(
        (pl.col("date") >= grid.start)
        & (pl.col("date") < grid.start + dt.timedelta(days=grid.days))
    )
    holiday = grid.flags(in_range, "is_holiday")
    promotion = grid.flags(in_range, "is_promotion")
    closure = grid.flags(in_range, "is_closure")
    model = fit_daily(totals, grid.weekdays(), holiday, promotion, closure, config)
    ordinary = present & ~holiday & ~promotion & ~closure & (totals > 0)
    with np.errstate(all="ignore"):
        shares = np.where(ordinary[..., None], cells / totals[..., None], np.nan)
        profile = np.nan_to_num(nanmedian(shares, axis=1))
        profile = profile / np.where(profile.sum(axis=1) > 0, profile.sum(axis=1), 1.0)[:, None]
    expected = model.expected[..., None] * profile[:, None, :]
    expected = np.where(present[..., None], expected, np.nan)
    usual_hour = (profile > 0)[:, None, :] | (np.nan_to_num(cells) > 0)
    actual = np.where(usual_hour, cells, np.nan)
    score = _scores(actual, expected, config)
    flagged = _flagged(actual, expected, score, config.hourly_rule)
    fs, fd, fh = np.nonzero(flagged)
    frame = _frame(
        grid,
        fs,
        fd,
        metric=metric,
        kind=_kind(actual, score)[fs, fd, fh],
        check=["model"] * len(fs),
        expected=expected[fs, fd, fh],
        actual=actual[fs, fd, fh],
        score=score[fs, fd, fh],
        detail=[
            f"{metric} {actual[i, j, h]:,.0f} in hour {h} against {expected[i, j, h]:,.1f} expected"
            for i, j, h in zip(fs, fd, fh, strict=True)
        ],
        hour=fh,
    )
    return _sorted(frame)


def silent_readers(
    reader_days: pl.DataFrame, store_days: pl.DataFrame, config: AnomalyConfig | None = None
) -> pl.DataFrame:
    """RFID readers that read nothing on a day their store was open and trading.

    A reader is checked from its first read on, up to the last day its store's RFID system read
    anything (so a reader that dies for good is caught too), on days the store was open with
    footfall or sales, and only if it usually reads at least ``min_reader_reads`` a day.
    """
    config = config or AnomalyConfig()
    missing = sorted({"store_id", "reader_id", "local_date", "reads"} - set(reader_days.columns))
    if missing:
        raise AnomalyInputError(f"reader-day frame lacks columns {missing}")
    _check_unique(reader_days, ["store_id", "reader_id", "local_date"], "reader-day")
    _check_store_days(store_days, ["footfall", "receipts"])
    active = reader_days.filter(pl.col("reads") > 0)
    if active.height == 0:
        return empty_anomalies()
    open_days = store_days.filter(
        ~pl.col("is_closure") & ((pl.col("footfall") > 0) | (pl.col("receipts") > 0))
    ).select("store_id", pl.col("date").alias("local_date"))
    readers = active.group_by("store_id", "reader_id").agg(
        pl.col("local_date").min().alias("first"),
        pl.col("reads").median().cast(pl.Float64).alias("typical"),
    )
    store_last = active.group_by("store_id").agg(pl.col("local_date").max().alias("last"))
    expected_days = (
        readers.filter(pl.col("typical") >= config.min_reader_reads)
        .join(store_last, on="store_id")
        .join(open_days, on="store_id")
        .filter(pl.col("local_date").is_between(pl.col("first"), pl.col("last")))
    )
    silent = expected_days.join(
        active.select("store_id", "reader_id", "local_date"),
        on=["store_id", "reader_id", "local_date"],
        how="anti",
    )
    return _sorted(
        silent.select(
            "store_id",
            "local_date",
            pl.lit(None, pl.Int32).alias("local_hour"),
            pl.lit("day").alias("grain"),
            pl.lit("rfid_reads").alias("metric"),
            pl.lit("outage").alias("kind"),
            pl.lit("reader_silent").alias("check"),
            pl.col("reader_id").alias("subject"),
            pl.col("typical").alias("expected"),
            pl.lit(0.0).alias("actual"),
            pl.lit(None, pl.Float64).alias("score"),
            pl.format(
                "reader {} read nothing on an open day (typically {} reads a day)",
                "reader_id",
                pl.col("typical").round(0).cast(pl.Int64),
            ).alias("detail"),
        ).cast(ANOMALY_SCHEMA)
    )


def find_anomalies(
    store_days: pl.DataFrame,
    footfall_daily: pl.DataFrame | None = None,
    footfall_hourly: pl.DataFrame | None = None,
    reader_days: pl.DataFrame | None = None,
    config: AnomalyConfig | None = None,
) -> pl.DataFrame:
    """Every check on whatever inputs are given, as one ``ml.anomalies`` frame."""
    parts = [daily_anomalies(store_days, footfall_daily, config=config)]
    if footfall_hourly is not None:
        parts.append(hourly_anomalies(footfall_hourly, store_days, config=config))
    if reader_days is not None:
        parts.append(silent_readers(reader_days, store_days, config))
    return _sorted(pl.concat(parts))


# --- frames ----------------------------------------------------------------------------------


def empty_anomalies() -> pl.DataFrame:
    return pl.DataFrame(schema=ANOMALY_SCHEMA)


def _frame(
    grid: _Grid,
    s: np.ndarray,
    d: np.ndarray,
    *,
    metric: str,
    kind: Sequence[str] | np.ndarray,
    check: Sequence[str] | np.ndarray,
    expected: np.ndarray,
    actual: np.ndarray,
    score: np.ndarray,
    detail: Sequence[str],
    hour: np.ndarray | None = None,
) -> pl.DataFrame:
    n = len(s)
    return pl.DataFrame(
        {
            "store_id": pl.Series(grid.stores, dtype=pl.String).gather(s) if n else [],
            "local_date": grid.dates().gather(d) if n else [],
            "local_hour": hour.astype(np.int32) if hour is not None else [None] * n,
            "grain": ["hour" if hour is not None else "day"] * n,
            "metric": [metric] * n,
            "kind": list(kind),
            "check": list(check),
            "subject": [None] * n,
            "expected": expected.astype(np.float64),
            "actual": actual.astype(np.float64),
            "score": np.asarray(score, np.float64),
            "detail": list(detail),
        },
        schema=ANOMALY_SCHEMA,
    ).with_columns(pl.col("score").fill_nan(None))


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(
        "store_id", "local_date", "grain", "local_hour", "metric", "subject", nulls_last=True
    )


def anomaly_chart(store_days: pl.DataFrame, anomalies: pl.DataFrame, max_stores: int = 4) -> bytes:
    """Daily footfall against its expected value for the stores with the most footfall-day
    anomalies, anomalies marked by kind (PNG bytes)."""
    scored = score_store_days(store_days, "footfall")
    days = anomalies.filter(pl.col("grain") == "day", pl.col("metric") == "footfall")
    ranked = (
        days.group_by("store_id").len().sort("len", "store_id", descending=[True, False])
        if days.height
        else pl.DataFrame({"store_id": sorted(set(scored["store_id"]))[:max_stores]})
    )
    stores = ranked.get_column("store_id").head(max_stores).to_list()
    figure = new_figure(11.0, 2.4 * max(len(stores), 1))
    axes = figure.subplots(max(len(stores), 1), 1, squeeze=False)[:, 0]
    markers = {"spike": ("^", "tab:red"), "drop": ("v", "tab:orange"), "outage": ("x", "black")}
    for ax, store in zip(axes, stores, strict=False):
        series = scored.filter(pl.col("store_id") == store).sort("local_date")
        ax.plot(series["local_date"], series["actual"], lw=1, label="footfall")
        ax.plot(series["local_date"], series["expected"], lw=1, ls="--", label="expected")
        marked = days.filter(pl.col("store_id") == store).join(
            series.select("local_date", pl.col("actual").alias("footfall")), on="local_date"
        )
        for kind, (marker, colour) in markers.items():
            part = marked.filter(pl.col("kind") == kind).unique("local_date")
            if part.height:
                ax.scatter(part["local_date"], part["footfall"], marker=marker, color=colour,
                           s=40, zorder=3, label=kind)  # fmt: skip
        ax.set_title(f"{store}: daily footfall", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    return png_bytes(figure)
