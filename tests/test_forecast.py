"""The forecasting engine on synthetic series whose truth is known: validation and every bad
input of the issue, the baseline, LightGBM's horizon-safe features and conformal intervals,
Prophet's process pool, the backtest and champions, fallbacks, and the `footfall forecast` CLI.

The demo-world targets (accuracy against the baseline, event days, coverage) are checked end to
end in test_forecast_platform.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from footfall_platform.cli import main as footfall
from footfall_platform.forecast.backtest import champions, cutoffs, run_backtest
from footfall_platform.forecast.baseline import SeasonalNaive
from footfall_platform.forecast.clean import outliers
from footfall_platform.forecast.ensemble import combine
from footfall_platform.forecast.frame import ForecastInputError, Panel, infer_freq, prepare_panel
from footfall_platform.forecast.gbm import LightGBMGlobal
from footfall_platform.forecast.metrics import score
from footfall_platform.forecast.pipeline import ForecastSettings, forecast_panel, triage
from footfall_platform.forecast.prophet_model import ProphetModel, prophet_pool
from footfall_platform.forecast.staffing import (
    StaffingInputError,
    StaffingSettings,
    staffing_forecast,
)

START = dt.date(2024, 1, 1)
WEEKLY = (0.85, 0.8, 0.9, 0.95, 1.1, 1.5, 0.9)
FAST = ("seasonal_naive", "lightgbm")


def synthetic(
    series: dict[str, float] | None = None, days: int = 140, seed: int = 0
) -> pl.DataFrame:
    """Daily counts: level x weekday x 1.3 on holidays (every 11th day), 0 on a closure day."""
    rng = np.random.default_rng(seed)
    rows = []
    for sid, level in (series or {"A": 200.0, "B": 120.0}).items():
        for d in range(days):
            date = START + dt.timedelta(days=d)
            holiday = d % 11 == 5
            closed = d == 30
            mean = level * WEEKLY[date.weekday()] * (1.3 if holiday else 1.0)
            y = 0.0 if closed else float(rng.poisson(mean))
            rows.append((sid, date, y, float(holiday), float(closed)))
    return pl.DataFrame(
        rows, schema=["series_id", "date", "y", "is_holiday", "is_closure"], orient="row"
    )


def panel_of(frame: pl.DataFrame, **kwargs) -> Panel:
    return prepare_panel(frame, regressors=["is_holiday"], closure="is_closure", **kwargs)


def future_flags(panel: Panel, days: int, holiday_on: int | None = None,
                 closed_on: int | None = None) -> pl.DataFrame:  # fmt: skip
    last = panel.last_date
    rows = [
        (sid, last + dt.timedelta(days=k), float(k == holiday_on), float(k == closed_on))
        for sid in panel.series
        for k in range(1, days + 1)
    ]
    return pl.DataFrame(
        rows, schema=["series_id", "date", "is_holiday", "is_closure"], orient="row"
    )


@pytest.fixture(scope="module")
def panel() -> Panel:
    return panel_of(synthetic())


# -- validation and the bad inputs -------------------------------------------------------------


def test_an_empty_input_is_refused() -> None:
    with pytest.raises(ForecastInputError, match="empty"):
        prepare_panel(synthetic().head(0))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), None])
def test_nan_infinite_or_missing_values_are_refused_with_series_and_date(bad) -> None:
    frame = synthetic().with_columns(
        pl.when((pl.col("series_id") == "B") & (pl.col("date") == dt.date(2024, 2, 3)))
        .then(bad)
        .otherwise(pl.col("y"))
        .alias("y")
    )
    with pytest.raises(
        ForecastInputError, match=r"'y' has 1 null, NaN or infinite.*'B' on 2024-02-03"
    ):
        panel_of(frame)


def test_a_nan_regressor_is_refused() -> None:
    frame = synthetic().with_columns(
        pl.when(pl.col("date") == START).then(float("nan")).otherwise(pl.col("is_holiday"))
        .alias("is_holiday")
    )  # fmt: skip
    with pytest.raises(ForecastInputError, match="'is_holiday'.*fill them with 0 or 1"):
        panel_of(frame)


def test_duplicate_dates_are_refused() -> None:
    frame = synthetic()
    doubled = pl.concat([frame, frame.filter(pl.col("date") == dt.date(2024, 3, 1))])
    with pytest.raises(
        ForecastInputError, match=r"2 \(series, date\) pair\(s\) appear on more than one row"
    ):
        panel_of(doubled)


def test_unsorted_dates_are_sorted_and_forecast_the_same(panel: Panel) -> None:
    shuffled = synthetic().sample(fraction=1.0, shuffle=True, seed=3)
    assert not shuffled["date"].is_sorted()
    again = panel_of(shuffled)
    assert again.frame.equals(panel.frame)
    first = SeasonalNaive().fit(panel).predict(7)
    assert SeasonalNaive().fit(again).predict(7).equals(first)


@pytest.mark.parametrize("horizon", [0, -3])
def test_a_horizon_below_one_is_refused(panel: Panel, horizon: int) -> None:
    with pytest.raises(ForecastInputError, match="horizon must be a whole number of steps >= 1"):
        forecast_panel(panel, ForecastSettings(horizon=horizon, models=FAST))
    with pytest.raises(ForecastInputError, match="horizon"):
        SeasonalNaive().fit(panel).predict(horizon)


def test_a_single_value_is_left_out_with_its_reason_and_alone_is_an_error(panel: Panel) -> None:
    lone = pl.DataFrame({"series_id": ["C"], "date": [START], "y": [5.0],
                         "is_holiday": [0.0], "is_closure": [0.0]})  # fmt: skip
    mixed = panel_of(pl.concat([synthetic(), lone]))
    run = forecast_panel(mixed, ForecastSettings(horizon=7, models=FAST))
    reason = run.fallbacks.filter(pl.col("series_id") == "C").row(0, named=True)
    assert reason["action"] == "skipped" and "at least 2" in reason["reason"]
    assert set(run.forecasts["series_id"]) == {"A", "B"}
    with pytest.raises(ForecastInputError, match="no series can be forecast.*C: 1 observation"):
        forecast_panel(panel_of(lone, freq="D"), ForecastSettings(horizon=7, models=FAST))


def test_an_all_zero_series_falls_back_to_a_zero_baseline(panel: Panel) -> None:
    zeros = synthetic({"Z": 0.0})
    run = forecast_panel(panel_of(pl.concat([synthetic(), zeros])),
                         ForecastSettings(horizon=7, models=FAST))  # fmt: skip
    fallback = run.fallbacks.row(0, named=True)
    assert (fallback["series_id"], fallback["action"]) == ("Z", "baseline")
    assert "every value is 0" in fallback["reason"]
    z = run.forecasts.filter(pl.col("series_id") == "Z")
    assert z["model"].unique().to_list() == ["seasonal_naive"] and z["is_champion"].all()
    assert (z.select("yhat", "lo95", "hi95").to_numpy() == 0).all()


def test_too_short_series_fall_back_to_the_baseline_with_the_reason() -> None:
    frame = pl.concat([synthetic({"A": 200.0}), synthetic({"S": 50.0}, days=10),
                       synthetic({"M": 80.0}, days=40)])  # fmt: skip
    fallbacks = {r["series_id"]: r["reason"] for r in triage(panel_of(frame), 14, 3).iter_rows(
        named=True)}  # fmt: skip
    assert fallbacks["S"] == "under two seasonal cycles: 10 days < 2 x 7"
    assert fallbacks["M"] == "too short to backtest 3 folds of 14: 40 days < 2 x 7 + 3 x 14"
    assert "A" not in fallbacks


def test_dates_off_the_grid_and_frequencies_are_told_apart() -> None:
    weekly = pl.DataFrame({"date": [START + dt.timedelta(weeks=k) for k in range(30)],
                           "y": [float(k) for k in range(30)]})  # fmt: skip
    monthly = pl.DataFrame({"date": pl.date_range(START, dt.date(2026, 6, 1), "1mo", eager=True)})
    assert infer_freq(weekly.with_columns(pl.lit("s").alias("series_id"))) == "W"
    assert prepare_panel(monthly.with_columns(y=pl.lit(1.0))).freq == "M"
    stray = pl.concat([weekly, pl.DataFrame({"date": [START + dt.timedelta(days=3)], "y": [1.0]})])
    with pytest.raises(ForecastInputError, match="not on the weekly grid"):
        prepare_panel(stray, freq="W")
    with pytest.raises(ForecastInputError, match="missing column"):
        prepare_panel(weekly, value_col="visits")


def test_gaps_become_nulls_and_every_model_still_forecasts_every_step() -> None:
    frame = synthetic().filter(~pl.col("date").is_between(dt.date(2024, 3, 1), dt.date(2024, 3, 9)))
    gappy = panel_of(frame)
    assert gappy.frame.height == 2 * 140 and gappy.frame["y"].null_count() == 2 * 9
    for model in (SeasonalNaive(), LightGBMGlobal(14)):
        pred = model.fit(gappy).predict(14)
        assert pred.height == 2 * 14 and pred["yhat"].is_finite().all()


def test_negative_values_are_forecast_without_clipping() -> None:
    frame = synthetic({"R": 50.0}).with_columns(pl.col("y") - 60.0)  # returns beat sales
    pred = LightGBMGlobal(7).fit(panel_of(frame)).predict(7)
    assert (pred["yhat"] < 0).any()


# -- the models --------------------------------------------------------------------------------


def test_the_baseline_repeats_last_week_skipping_closures_and_zeroes_known_ones(panel) -> None:
    frame = panel.frame.filter(pl.col("series_id") == "A")
    y = frame["y"].to_numpy()
    pred = SeasonalNaive().fit(panel).predict(14, future_flags(panel, 14, closed_on=3))
    a = pred.filter(pl.col("series_id") == "A")["yhat"].to_numpy()
    expected = np.concatenate([y[-7:], y[-7:]])
    expected[2] = 0.0  # the known closure on step 3
    assert np.array_equal(a, expected)
    # a closure in the last week is not repeated: the value a week earlier is used instead
    closed = panel.frame.with_columns(
        pl.when(pl.col("date") == panel.last_date - dt.timedelta(days=2))
        .then(1.0).otherwise(pl.col("is_closure")).alias("is_closure"),
        pl.when(pl.col("date") == panel.last_date - dt.timedelta(days=2))
        .then(0.0).otherwise(pl.col("y")).alias("y"),
    )  # fmt: skip
    again = SeasonalNaive().fit(Panel(closed, "D", panel.regressors, panel.closure)).predict(7)
    assert again.filter(pl.col("series_id") == "A")["yhat"][4] == y[-10]
    widths = pred.select((pl.col("hi80") - pl.col("yhat")).alias("w"), "step", "series_id")
    w = widths.filter(pl.col("series_id") == "A").sort("step")["w"].to_numpy()
    assert w[8] == pytest.approx(w[0] * math.sqrt(2))  # two seasons ahead: sqrt(2) wider


def test_lightgbm_features_exist_for_every_step_and_come_from_before_the_origin(panel) -> None:
    model = LightGBMGlobal(10).fit(panel)
    future = future_flags(panel, 10)
    rows = pl.concat([panel.frame, future], how="diagonal_relaxed")
    features = model._features(rows, model.history, model.levels)
    ahead = features.filter(pl.col("date") > panel.last_date)
    assert ahead.height == 20
    assert ahead["lag_season"].null_count() == 0 and ahead["roll_mean"].null_count() == 0
    # the seasonal lag is 14 days back (2 weeks >= 10 steps): an observed value, same weekday
    a = ahead.filter(pl.col("series_id") == "A").sort("date")
    history = panel.frame.filter(pl.col("series_id") == "A")
    level = model.levels.filter(pl.col("series_id") == "A")["_level"][0]
    for row in a.iter_rows(named=True):
        source = history.filter(pl.col("date") == row["date"] - dt.timedelta(days=14))
        assert source.height == 1 and source["date"][0] <= panel.last_date
        assert row["lag_season"] == pytest.approx(source["y"][0] / level)


def test_lightgbm_learns_the_holiday_lift_and_forecasts_zero_on_a_known_closure(panel) -> None:
    pred = LightGBMGlobal(7).fit(panel).predict(7, future_flags(panel, 7, holiday_on=2,
                                                                closed_on=5))  # fmt: skip
    a = pred.filter(pl.col("series_id") == "A").sort("step")
    assert a["yhat"][4] == 0 and a["hi95"][4] == 0
    weekday = (panel.last_date + dt.timedelta(days=2)).weekday()
    plain = 200 * WEEKLY[weekday]
    assert a["yhat"][1] > 1.15 * plain  # planted lift 1.3


def test_conformal_intervals_cover_about_their_level_in_a_backtest() -> None:
    noisy = panel_of(synthetic({"A": 200.0, "B": 120.0, "C": 80.0}, days=200, seed=4))
    factories = {"seasonal_naive": SeasonalNaive, "lightgbm": lambda: LightGBMGlobal(14)}
    result = run_backtest(noisy, 14, factories, folds=4)
    gbm = result.points.filter(pl.col("model") == "lightgbm")
    inside = ((gbm["y"] >= gbm["lo80"]) & (gbm["y"] <= gbm["hi80"])).mean()
    assert 0.7 <= inside <= 0.95
    wape = result.metrics.filter((pl.col("fold") == 0) & (pl.col("metric") == "wape"))
    by_model = dict(wape.group_by("model").agg(pl.col("value").mean()).iter_rows())
    assert by_model["lightgbm"] < 0.8 * by_model["seasonal_naive"]


def test_prophet_fits_in_a_process_pool_as_it_does_alone_and_stays_quiet(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture
) -> None:
    small = panel_of(synthetic(days=60))
    with caplog.at_level(logging.INFO):
        alone = ProphetModel(n_jobs=1).fit(small).predict(7)
        with prophet_pool(2) as pool:
            assert pool is not None
            pooled = ProphetModel(pool=pool).fit(small).predict(7)
    assert alone.select("series_id", "date").equals(pooled.select("series_id", "date"))
    assert np.allclose(alone["yhat"].to_numpy(), pooled["yhat"].to_numpy(), rtol=1e-6)
    assert np.allclose(alone["lo80"].to_numpy(), pooled["lo80"].to_numpy(), rtol=1e-6)
    chatter = [r for r in caplog.records if r.name.startswith(("cmdstanpy", "prophet"))]
    assert chatter == []
    assert "cmdstanpy" not in capfd.readouterr().err


def test_the_ensemble_is_the_mean_of_its_members(panel: Panel) -> None:
    naive = SeasonalNaive().fit(panel).predict(7)
    gbm = LightGBMGlobal(7).fit(panel).predict(7)
    both = combine([naive, gbm])
    assert np.allclose(both["yhat"].to_numpy(), (naive["yhat"] + gbm["yhat"]).to_numpy() / 2)
    assert np.allclose(both["lo95"].to_numpy(), (naive["lo95"] + gbm["lo95"]).to_numpy() / 2)


def test_outliers_are_found_but_events_are_not(panel: Panel) -> None:
    outage = pl.col("date").is_between(dt.date(2024, 3, 4), dt.date(2024, 3, 8))
    dips = panel.frame.with_columns(  # a five-day camera outage: 40 % of visitors uncounted
        pl.when(outage & (pl.col("series_id") == "A")).then(pl.col("y") * 0.6)
        .otherwise(pl.col("y")).alias("y")
    )  # fmt: skip
    dipped = Panel(dips, "D", panel.regressors, panel.closure)
    flagged = dips.filter(outliers(dipped))
    assert set(flagged["series_id"]) == {"A"}
    assert set(flagged["date"]) == {dt.date(2024, 3, d) for d in range(4, 9)}
    assert not outliers(panel).any()  # holidays and the closure explain their own jumps


# -- metrics, backtest, champions ----------------------------------------------------------------


def test_metrics_match_a_hand_computed_example() -> None:
    points = pl.DataFrame({
        "model": ["m"] * 4, "series_id": ["s"] * 4, "fold": [1, 1, 2, 2],
        "y": [100.0, 0.0, 50.0, 150.0], "yhat": [90.0, 10.0, 50.0, 120.0],
        "lo80": [80.0, -5.0, 40.0, 100.0], "hi80": [95.0, 5.0, 60.0, 140.0],
        "lo95": [70.0, -9.0, 30.0, 90.0], "hi95": [110.0, 9.0, 70.0, 160.0],
        "scale": [10.0, 10.0, 20.0, 20.0], "event": [True, False, False, False],
    })  # fmt: skip
    m = {(r["fold"], r["metric"]): r["value"] for r in score(points).iter_rows(named=True)}
    assert m[(0, "wape")] == pytest.approx(50 / 300)
    assert m[(0, "mape")] == pytest.approx((0.1 + 0 + 0.2) / 3)
    assert m[(0, "mase")] == pytest.approx((1 + 1 + 0 + 1.5) / 4)
    assert m[(0, "coverage80")] == pytest.approx(0.5) and m[(0, "coverage95")] == 1.0
    assert m[(1, "wape")] == pytest.approx(20 / 100) and m[(0, "points")] == 4
    assert m[(0, "mape_event_days")] == pytest.approx(0.1)


def test_champions_have_the_lowest_wape_and_ties_go_to_the_simpler_model() -> None:
    metrics = pl.DataFrame({
        "model": ["seasonal_naive", "prophet", "ensemble", "seasonal_naive", "lightgbm"],
        "series_id": ["a", "a", "a", "b", "b"], "fold": [0] * 5, "metric": ["wape"] * 5,
        "value": [0.3, 0.2, 0.2, 0.1, 0.1],
    })  # fmt: skip
    chosen = dict(champions(metrics).select("series_id", "model").iter_rows())
    assert chosen == {"a": "prophet", "b": "seasonal_naive"}


def test_the_backtest_has_three_folds_of_the_horizon_and_the_refit_uses_all_history(panel):
    assert cutoffs(panel, 14, 3) == [panel.last_date - dt.timedelta(days=14 * k)
                                     for k in (3, 2, 1)]  # fmt: skip
    run = forecast_panel(panel, ForecastSettings(horizon=14, models=FAST))
    points = run.backtest.points
    assert sorted(points["fold"].unique()) == [1, 2, 3]
    assert points.group_by("model", "fold").len()["len"].unique().to_list() == [2 * 14]
    assert run.forecasts["date"].min() == panel.last_date + dt.timedelta(days=1)
    assert run.forecasts.group_by("series_id").agg(pl.col("is_champion").sum())[
        "is_champion"].to_list() == [14, 14]  # fmt: skip


# -- staffing ------------------------------------------------------------------------------------


def hourly_counts(days: int = 28) -> pl.DataFrame:
    rows = []
    for d in range(days):
        date = START + dt.timedelta(days=d)
        peak = 18 if date.weekday() == 5 else 12  # Saturdays peak later
        for hour in range(9, 20):
            rows.append(("A", date, hour, 30 if hour == peak else 10))
    return pl.DataFrame(rows, schema=["store_id", "local_date", "local_hour", "entries"],
                        orient="row")  # fmt: skip


def test_staffing_uses_each_weekdays_own_hour_shape() -> None:
    first = START + dt.timedelta(days=28)
    daily = pl.DataFrame({"series_id": ["A"] * 7, "date": [first + dt.timedelta(days=k)
                          for k in range(7)], "yhat": [140.0] * 7, "lo80": [120.0] * 7,
                          "hi80": [160.0] * 7, "model": ["m"] * 7})  # fmt: skip
    table = staffing_forecast(daily, hourly_counts(), StaffingSettings(visitors_per_staff_hour=10))
    peak = table.sort("expected_entries", descending=True).group_by("date", maintain_order=True)
    by_day = dict(peak.first().select("weekday", "local_hour").iter_rows())
    assert by_day[6] == 18 and by_day[1] == 12
    assert table.group_by("date").agg(pl.col("expected_entries").sum())[
        "expected_entries"].to_list() == pytest.approx([140.0] * 7)  # fmt: skip
    assert (
        table.filter(pl.col("local_hour") == 18, pl.col("weekday") == 6)["staff_needed"][0] == 4
    )  # ceil(140 x 30 / 130 / 10)
    # a weekday missing from the recent weeks borrows the store's all-days shape
    no_sundays = hourly_counts().filter(pl.col("local_date").dt.weekday() != 7)
    sunday = staffing_forecast(daily, no_sundays).filter(pl.col("weekday") == 7)
    assert sunday["profile"].unique().to_list() == ["all days"]


def test_staffing_refuses_what_it_cannot_spread() -> None:
    daily = pl.DataFrame({"series_id": ["A"], "date": [START], "yhat": [1.0], "lo80": [1.0],
                          "hi80": [1.0], "model": ["m"]})  # fmt: skip
    with pytest.raises(StaffingInputError, match="no hourly footfall"):
        staffing_forecast(daily, hourly_counts().head(0))
    with pytest.raises(StaffingInputError, match="no daily footfall"):
        staffing_forecast(daily.head(0), hourly_counts())
    with pytest.raises(StaffingInputError, match="at least 1"):
        staffing_forecast(daily, hourly_counts(), StaffingSettings(days=0))


# -- the command line ----------------------------------------------------------------------------


def write_csv(path: Path, frame: pl.DataFrame) -> Path:
    frame.write_csv(path)
    return path


def test_the_cli_prints_the_backtest_and_champions_and_writes_forecasts(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    source = synthetic(days=84).select(pl.col("series_id").alias("id"), pl.col("date").alias("ds"),
                                       "y")  # fmt: skip
    out = tmp_path / "out" / "forecast.csv"
    code = footfall(["forecast", str(write_csv(tmp_path / "in.csv", source)), "--horizon", "7",
                     "--series-col", "id", "--freq", "D", "--out", str(out), "--jobs", "2"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "champion per series" in printed and "WAPE per series" in printed
    written = pl.read_csv(out, try_parse_dates=True)
    assert written.columns == ["series_id", "date", "model", "yhat", "lo80", "hi80", "lo95",
                               "hi95", "is_champion"]  # fmt: skip
    assert written.filter(pl.col("is_champion")).height == 2 * 7
    assert set(written["model"]) == {"seasonal_naive", "prophet", "lightgbm", "ensemble"}


def test_the_cli_names_the_line_of_a_date_in_the_wrong_format(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "in.csv"
    path.write_text("ds,y\n2024-01-01,5\n2024-01-02,6\n03/01/2024,7\n")
    out = tmp_path / "out.csv"
    assert footfall(["forecast", str(path), "--horizon", "3", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "line 4: ds '03/01/2024' is not a date as YYYY-MM-DD" in err
    assert not out.exists()
    path.write_text("ds,y\n2024-01-01,5\n2024-01-02,many\n")
    assert footfall(["forecast", str(path), "--horizon", "3", "--out", str(out)]) == 2
    assert "line 3: y 'many' is not a number" in capsys.readouterr().err


def test_the_cli_refuses_a_horizon_below_one(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        footfall(["forecast", str(tmp_path / "x.csv"), "--horizon", "0", "--out", "o.csv"])
    assert exit_.value.code == 2
    assert "expected a positive integer, got 0" in capsys.readouterr().err
