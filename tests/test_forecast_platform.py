"""Forecasting on the small demo world, end to end with real parts: the landing zone is loaded by
the raw assets, the marts are built by the real dbt project, and the forecast assets run on them
in the same Dagster run. The issue's targets are checked on what the assets wrote:

* champion backtest WAPE <= 0.8 x the seasonal-naive WAPE, on footfall and on net sales;
* error on holiday/promotion days no worse than on ordinary days by more than 50 %;
* 80 % intervals covering between 70 % and 90 % of the actuals in the backtest;
* purchase propensity AUC >= 0.75, and the planted segments ranked as planted.

The small world has 90 days, so the horizon is 14 days here (3 folds x 28 days would leave no
history to learn from: the default 28 is for real histories, see docs/forecast.md).
"""

from __future__ import annotations

import base64
import dataclasses
import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from matplotlib.image import imread

from assets.forecast import FORECAST_ASSETS, FORECAST_BACKTEST, FORECASTS
from assets.raw import RAW_ASSETS
from assets.transform import TRANSFORM_ASSETS, dbt_resource
from footfall_platform.demo import generate_world
from footfall_platform.forecast.evaluation import TABLE as EVALUATION
from footfall_platform.ingest.pseudonymise import member_keys
from footfall_platform.orchestration.resources import WRITER_POOL, FootfallWarehouse
from footfall_platform.settings import Settings
from footfall_platform.warehouse.connection import connect
from tests.conftest import PII_KEY
from tests.test_transform import deliver, failure, footfall_home

HORIZON = 14
STAFFING_DAYS = 7


@dataclass
class World:
    settings: Settings
    truth: dict
    result: dg.ExecuteInProcessResult

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = connect(self.settings.warehouse, read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def metadata(self, asset: str) -> dict:
        for event in self.result.get_asset_materialization_events():
            if event.asset_key.to_user_string() == asset:
                return event.materialization.metadata
        raise KeyError(asset)


FORECAST_CONFIG = {"ops": {"store_forecasts": {"config": {"horizon": HORIZON, "n_jobs": 2}}}}


def materialize(
    settings: Settings,
    assets: list,
    selection: str | list[dg.AssetKey] | None = None,
    run_config: dict | None = None,
):
    return dg.materialize(
        assets,
        resources={
            "warehouse": FootfallWarehouse.from_settings(settings, settle_seconds=0),
            "dbt": dbt_resource(settings),
        },
        run_config=run_config or {},
        selection=selection,
        raise_on_error=False,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("forecast")
    with footfall_home(root) as settings:
        truth = generate_world(root / "world", scale="small", seed=7)
        deliver(root / "world", settings, lambda rel: True)
        everything = [*RAW_ASSETS, *TRANSFORM_ASSETS, *FORECAST_ASSETS]
        result = materialize(settings, everything, run_config=FORECAST_CONFIG)
        assert result.success, failure(result)
        yield World(settings, truth, result)


def pooled(world: World, target: str, metric: str) -> dict[tuple[str, str], float]:
    rows = world.query(
        "SELECT model, series_id, value FROM ml.forecast_backtest "
        "WHERE target = ? AND metric = ? AND fold = 0",
        [target, metric],
    )
    return {(model, series): value for model, series, value in rows}


def champion_figure(world: World, target: str, metric: str) -> float:
    (value,) = world.query(
        f"SELECT value FROM {EVALUATION} WHERE model_family = 'forecast' AND model = 'champion' "
        "AND segment = ? AND metric = ?",
        [f"{target}:all", metric],
    )[0]
    return value


# -- the targets ---------------------------------------------------------------------


@pytest.mark.parametrize("target", ["footfall", "net_sales"])
def test_champions_beat_the_seasonal_naive_baseline_by_a_fifth(world: World, target: str) -> None:
    naive = champion = 0.0
    for series in ("S001", "S002", "S003"):
        (model,) = world.query(
            "SELECT DISTINCT model FROM ml.forecasts WHERE target = ? AND series_id = ? "
            "AND is_champion", [target, series])[0]  # fmt: skip
        wape = pooled(world, target, "wape")
        naive += wape[("seasonal_naive", series)]
        champion += wape[(model, series)]
        assert wape[(model, series)] == min(v for (m, s), v in wape.items() if s == series)
    assert champion <= 0.8 * naive, (target, champion / naive)
    naive_all = world.query(
        f"SELECT value FROM {EVALUATION} WHERE model = 'seasonal_naive' AND segment = ? "
        "AND metric = 'wape'", [f"{target}:all"])[0][0]  # fmt: skip
    assert champion_figure(world, target, "wape") <= 0.8 * naive_all


@pytest.mark.parametrize("target", ["footfall", "net_sales"])
def test_holiday_and_promotion_days_are_forecast_about_as_well_as_ordinary_days(
    world: World, target: str
) -> None:
    event = champion_figure(world, target, "mape_event_days")
    ordinary = champion_figure(world, target, "mape_ordinary_days")
    assert champion_figure(world, target, "points") >= 3 * HORIZON * 3
    assert event <= 1.5 * ordinary, (event, ordinary)
    # the baseline, blind to the calendar, does worse on footfall's event days than the champion
    if target == "footfall":
        naive = world.query(
            f"SELECT value FROM {EVALUATION} WHERE model = 'seasonal_naive' AND segment = "
            "'footfall:all' AND metric = 'mape_event_days'")[0][0]  # fmt: skip
        assert naive > event


@pytest.mark.parametrize("target", ["footfall", "net_sales"])
def test_eighty_percent_intervals_cover_seventy_to_ninety_percent(
    world: World, target: str
) -> None:
    assert 0.7 <= champion_figure(world, target, "coverage80") <= 0.9
    assert champion_figure(world, target, "coverage95") >= 0.85


def test_purchase_propensity_separates_buyers_on_a_later_period(world: World) -> None:
    figures = dict(world.query(
        f"SELECT metric, value FROM {EVALUATION} WHERE model_family = 'propensity' "
        "AND segment = 'all'"))  # fmt: skip
    assert figures["auc"] >= 0.75
    assert 0 < figures["log_loss"] < 0.69  # better than a coin
    deciles = world.query(
        f"SELECT segment, value FROM {EVALUATION} WHERE model_family = 'propensity' "
        "AND metric = 'observed_rate' ORDER BY CAST(split_part(segment, '_', 2) AS INT)"
    )
    assert [d for d, _ in deciles] == [f"decile_{i}" for i in range(1, 11)]
    assert deciles[0][1] > deciles[-1][1]


def test_propensity_ranks_the_planted_segments_as_planted(world: World) -> None:
    segments = world.truth["members"]["member_segment"]
    lapse = world.truth["members"]["lapse_date"]
    end = world.truth["generator"]["end"]
    keys = dict(zip(member_keys(PII_KEY.encode(), list(segments)), segments, strict=True))
    probability = dict(world.query("SELECT member_key, probability FROM ml.purchase_propensity"))
    assert set(probability) == {
        k for (k,) in world.query("SELECT member_key FROM marts.dim_customer")
    }

    def mean(group: list[str]) -> float:
        values = [probability[k] for k in group if k in probability]
        return sum(values) / len(values)

    lapsed = [k for k, m in keys.items() if segments[m] == "lapsed" and lapse[m] < end]
    vip = [k for k, m in keys.items() if segments[m] == "vip"]
    regular = [k for k, m in keys.items() if segments[m] == "regular"]
    assert mean(lapsed) < 0.3 < 0.9 < mean(vip)
    assert mean(lapsed) < mean(regular)


# -- the tables ------------------------------------------------------------------------------


def test_forecasts_cover_the_horizon_for_every_store_target_and_model(world: World) -> None:
    rows = world.query(
        "SELECT target, series_id, model, count(*), count(DISTINCT date), min(date), max(date), "
        "sum(is_champion::INT) FROM ml.forecasts GROUP BY ALL"
    )
    (last,) = world.query("SELECT max(date) FROM features.store_day")[0]
    models = {"seasonal_naive", "prophet", "lightgbm", "ensemble"}
    assert {(t, s, m) for t, s, m, *_ in rows} == {
        (t, s, m) for t in ("footfall", "net_sales") for s in ("S001", "S002", "S003")
        for m in models
    }  # fmt: skip
    for *_, n, distinct, first, final, champion in rows:
        assert n == distinct == HORIZON
        assert (first - last).days == 1 and (final - last).days == HORIZON
        assert champion in (0, HORIZON)
    champions = world.query(
        "SELECT target, series_id, count(DISTINCT model) FROM ml.forecasts WHERE is_champion "
        "GROUP BY ALL"
    )
    assert len(champions) == 6 and all(n == 1 for *_, n in champions)


def test_forecast_bounds_are_nested_and_footfall_never_negative(world: World) -> None:
    (bad,) = world.query(
        "SELECT count(*) FROM ml.forecasts WHERE NOT (lo95 <= lo80 AND lo80 <= yhat AND "
        "yhat <= hi80 AND hi80 <= hi95) OR yhat IS NULL OR isnan(yhat)"
    )[0]
    assert bad == 0
    (negative,) = world.query(
        "SELECT count(*) FROM ml.forecasts WHERE target = 'footfall' AND lo95 < 0"
    )[0]
    assert negative == 0
    (folds,) = world.query("SELECT list(DISTINCT fold ORDER BY fold) FROM ml.forecast_backtest")[0]
    assert folds == [0, 1, 2, 3]


def test_staffing_spreads_each_days_forecast_over_the_opening_hours(world: World) -> None:
    rows = world.query(
        "SELECT s.store_id, s.date, sum(s.expected_entries), any_value(f.yhat), "
        "sum(s.share), count(*) FILTER (s.share > 0), min(s.local_hour) FILTER (s.share > 0), "
        "max(s.local_hour) FILTER (s.share > 0), min(s.staff_needed) FILTER (s.share > 0) "
        "FROM ml.staffing_forecast s JOIN ml.forecasts f ON f.series_id = s.store_id "
        "AND f.date = s.date AND f.target = 'footfall' AND f.is_champion GROUP BY ALL"
    )
    assert len(rows) == 3 * STAFFING_DAYS
    stores = {s["store_id"]: s for s in world.truth["stores"]}
    for store, _, spread, daily, share, hours, first, last, staff in rows:
        assert spread == pytest.approx(daily, rel=1e-9)
        assert share == pytest.approx(1.0)
        # people come in while the doors are open, and only then
        assert (first, last + 1) == (stores[store]["open_hour"], stores[store]["close_hour"])
        assert hours == stores[store]["close_hour"] - stores[store]["open_hour"]
        assert staff >= 1  # someone on the floor whenever anyone is expected
    # the planted lunch and after-work peaks: busier at 13:00 and 18:00 than at opening
    peaks = dict(world.query(
        "SELECT local_hour, avg(share) FROM ml.staffing_forecast GROUP BY ALL"))  # fmt: skip
    assert peaks[13] > peaks[10] and peaks[18] > peaks[10]


def test_each_store_gets_a_chart_of_history_forecast_and_intervals(world: World) -> None:
    metadata = world.metadata("ml/forecasts")
    charts = {k: v for k, v in metadata.items() if k.startswith("chart_")}
    assert sorted(charts) == ["chart_S001", "chart_S002", "chart_S003"]
    for value in charts.values():
        encoded = value.value.split("base64,", 1)[1].rstrip(")")
        image = imread(io.BytesIO(base64.b64decode(encoded)), format="png")
        assert image.shape[0] > 400 and image.shape[1] > 800
        assert image[..., :3].std() > 0.05  # not a blank canvas


def test_no_personal_data_reaches_the_ml_tables(world: World) -> None:
    ids = list(world.truth["members"]["member_segment"])
    tables = ["ml.forecasts", "ml.forecast_backtest", "ml.staffing_forecast",
              "ml.purchase_propensity", EVALUATION]  # fmt: skip
    forbidden = {"member_id", "full_name", "email", "phone", "birth_date"}
    for table in tables:
        columns = {c for (c, *_) in world.query(f"DESCRIBE {table}")}
        assert not columns & forbidden, table
        text = " ".join(str(v) for row in world.query(f"SELECT * FROM {table}") for v in row)
        assert "@" not in text and not any(m in text for m in ids[:50]), table
    keys = [k for (k,) in world.query("SELECT member_key FROM ml.purchase_propensity")]
    assert all(len(k) == 64 for k in keys)


def test_a_rerun_replaces_only_its_own_evaluation_rows(world: World) -> None:
    con = duckdb.connect(str(world.settings.warehouse))
    try:
        con.execute(
            f"INSERT INTO {EVALUATION} VALUES ('recommend', 'als', 'all', 'precision_at_10', "
            "0.3, now())"
        )
        before = con.execute(f"SELECT count(*) FROM {EVALUATION} WHERE model_family = "
                             "'propensity'").fetchone()[0]  # fmt: skip
    finally:
        con.close()
    again = materialize(world.settings, FORECAST_ASSETS, selection="ml/purchase_propensity")
    assert again.success, failure(again)
    families = dict(world.query(f"SELECT model_family, count(*) FROM {EVALUATION} GROUP BY 1"))
    assert families["recommend"] == 1
    assert families["propensity"] == before
    assert families["forecast"] > 0


def test_the_forecast_assets_load_in_definitions_and_name_their_inputs(tmp_path: Path) -> None:
    warehouse = FootfallWarehouse(
        warehouse_path=str(tmp_path / "w.duckdb"),
        landing_path=str(tmp_path),
        pii_key_file=str(tmp_path / "k"),
    )
    defs = dg.Definitions(assets=FORECAST_ASSETS, resources={"warehouse": warehouse})
    graph = defs.resolve_asset_graph()
    deps = {k.to_user_string(): {p.to_user_string() for p in graph.get(k).parent_keys}
            for k in graph.materializable_asset_keys}  # fmt: skip
    assert deps["ml/forecasts"] == {"features/store_day", "staging/stg_calendar"}
    assert deps["ml/staffing_forecast"] == {"ml/forecasts", "marts/fct_footfall_hourly"}
    assert deps["ml/purchase_propensity"] == {"marts/dim_customer", "marts/fct_baskets"}
    for asset in FORECAST_ASSETS:
        assert asset.op.pool == WRITER_POOL
        assert set(asset.group_names_by_key.values()) == {"forecasts"}


def test_the_default_horizon_on_90_days_falls_back_to_the_baseline_with_reasons(
    world: World, tmp_path: Path
) -> None:
    copy = tmp_path / "warehouse.duckdb"  # dbt's views name the database after its file
    shutil.copy(world.settings.warehouse, copy)
    settings = dataclasses.replace(world.settings, warehouse=copy)
    result = materialize(settings, FORECAST_ASSETS, selection=[FORECASTS, FORECAST_BACKTEST])
    assert result.success, failure(result)
    fallbacks = next(
        e.materialization.metadata["fallbacks"].value
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "ml/forecasts"
    )
    reasons = {(f["target"], f["series_id"], f["reason"], f["action"]) for f in fallbacks}
    assert reasons == {
        (t, s, "too short to backtest 3 folds of 28: 90 days < 2 x 7 + 3 x 28", "baseline")
        for t in ("footfall", "net_sales") for s in ("S001", "S002", "S003")
    }  # fmt: skip
    con = connect(copy, read_only=True)
    try:
        rows = con.execute(
            "SELECT model, bool_and(is_champion), count(*) FROM ml.forecasts GROUP BY 1"
        ).fetchall()
        backtest = con.execute("SELECT count(*) FROM ml.forecast_backtest").fetchone()[0]
    finally:
        con.close()
    assert rows == [("seasonal_naive", True, 2 * 3 * 28)] and backtest == 0
