"""The forecasting layer: store forecasts, their backtest, hourly staffing and purchase propensity.

Thin by design: each asset reads its marts, calls footfall_platform.forecast, replaces its `ml`
table(s) and reports rows, a preview, the accuracy that matters and, for the store forecasts, a
chart per store. The validation figures also go to the shared `ml.model_evaluation` table, where
only this layer's rows (model_family forecast / propensity) are replaced.
"""

import datetime as dt

import dagster as dg
import polars as pl
from pydantic import Field

from assets.mining import frame_metadata, key, table_name
from footfall_platform.charts import markdown_image
from footfall_platform.forecast.evaluation import evaluation_rows, replace_family
from footfall_platform.forecast.pipeline import ForecastSettings
from footfall_platform.forecast.plots import store_chart
from footfall_platform.forecast.propensity import purchase_propensity
from footfall_platform.forecast.staffing import (
    STAFFING_COLUMNS,
    StaffingSettings,
    staffing_forecast,
)
from footfall_platform.forecast.stores import forecast_stores
from footfall_platform.orchestration.resources import WRITER_POOL, FootfallWarehouse
from footfall_platform.warehouse.frames import read_query, read_table, write_table
from footfall_platform.warehouse.inspect import markdown_table

GROUP = "forecasts"

STORE_DAY = key("features", "store_day")
STG_CALENDAR = key("staging", "stg_calendar")
DIM_CUSTOMER = key("marts", "dim_customer")
FCT_BASKETS = key("marts", "fct_baskets")
FCT_FOOTFALL_HOURLY = key("marts", "fct_footfall_hourly")
FORECASTS = key("ml", "forecasts")
FORECAST_BACKTEST = key("ml", "forecast_backtest")
STAFFING_FORECAST = key("ml", "staffing_forecast")
PURCHASE_PROPENSITY = key("ml", "purchase_propensity")


def md_frame(frame: pl.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.md(markdown_table(frame.columns, frame.rows()))


class ForecastConfig(dg.Config):
    horizon: int = Field(default=28, description="Days forecast after the last day of history.")
    folds: int = Field(default=3, description="Backtest folds, each one horizon long (>= 3).")
    n_jobs: int = Field(default=0, description="Prophet worker processes; 0 = every core.")
    seed: int = 0


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            FORECASTS,
            deps=[STORE_DAY, STG_CALENDAR],
            description="Daily footfall and net sales per store for the next `horizon` days: "
            "every model's forecast (seasonal naive, Prophet, LightGBM, ensemble) with 80 % and "
            "95 % intervals, the champion of each series flagged (docs/forecast.md).",
            kinds={"prophet", "lightgbm", "duckdb", "polars"},
            group_name=GROUP,
            owners=["team:data"],
        ),
        dg.AssetSpec(
            FORECAST_BACKTEST,
            deps=[STORE_DAY],
            description="Rolling-origin backtest of every model: WAPE, MAPE, MASE, interval "
            "coverage and points per target, model, series and fold (fold 0 = all folds).",
            kinds={"prophet", "lightgbm", "duckdb", "polars"},
            group_name=GROUP,
            owners=["team:data"],
        ),
    ],
    pool=WRITER_POOL,
)
def store_forecasts(config: ForecastConfig, warehouse: FootfallWarehouse):
    with warehouse.connect(read_only=True) as con:
        store_day = read_table(con, table_name(STORE_DAY))
        calendar = read_table(con, table_name(STG_CALENDAR), ["event_date", "store_id",
                                                              "event_kind"])  # fmt: skip
    settings = ForecastSettings(horizon=config.horizon, folds=config.folds,
                                n_jobs=config.n_jobs, seed=config.seed)  # fmt: skip
    result = forecast_stores(store_day, calendar, settings)
    with warehouse.connect() as con:
        write_table(con, table_name(FORECASTS), result.forecasts)
        write_table(con, table_name(FORECAST_BACKTEST), result.backtest)
        replace_family(con, result.evaluation)

    champions = result.forecasts.filter(pl.col("is_champion"))
    charts = {
        f"chart_{store}": dg.MetadataValue.md(markdown_image(store_chart(
            store, result.history,
            {t: champions.filter(pl.col("target") == t) for t in result.history},
        ), f"forecast {store}"))
        for store in sorted(champions["series_id"].unique().to_list())
    }  # fmt: skip
    accuracy = (
        result.evaluation.filter(pl.col("segment").str.ends_with(":all"))
        .pivot(on="metric", index=["segment", "model"], values="value")
        .sort("segment", "model")
    )
    chosen = pl.concat(
        [r.champions.with_columns(pl.lit(t).alias("target")) for t, r in result.runs.items()]
    ).select("target", "series_id", "model", "wape")
    yield dg.MaterializeResult(
        asset_key=FORECASTS,
        metadata={
            **frame_metadata(champions),
            "dagster/row_count": dg.MetadataValue.int(result.forecasts.height),
            "champions": md_frame(chosen),
            "fallbacks": dg.MetadataValue.json(result.fallbacks.to_dicts()),
            "horizon_days": dg.MetadataValue.int(config.horizon),
            **charts,
        },
    )
    yield dg.MaterializeResult(
        asset_key=FORECAST_BACKTEST,
        metadata={**frame_metadata(result.backtest), "accuracy": md_frame(accuracy)},
    )


class StaffingConfig(dg.Config):
    days: int = Field(default=7, description="Forecast days spread over the hours.")
    weeks: int = Field(default=8, description="Recent weeks the hour-of-day shape comes from.")
    visitors_per_staff_hour: float = Field(
        default=40.0, description="Expected entries one person on the floor can serve per hour."
    )
    min_staff: int = 1


CHAMPION_FOOTFALL_SQL = (
    f"SELECT series_id, date, model, yhat, lo80, hi80 FROM {table_name(FORECASTS)} "
    "WHERE target = 'footfall' AND is_champion ORDER BY series_id, date"
)


@dg.asset(
    key=STAFFING_FORECAST,
    deps=[FORECASTS, FCT_FOOTFALL_HOURLY],
    group_name=GROUP,
    owners=["team:data"],
    kinds={"duckdb", "polars"},
    pool=WRITER_POOL,
    description="Expected entries per store and local hour for the next 7 days (the champion "
    "daily footfall forecast spread by the store's recent hour-of-day shape for that weekday), "
    "with the staff on the floor they call for.",
)
def staffing_forecast_asset(
    config: StaffingConfig, warehouse: FootfallWarehouse
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        daily = read_query(con, CHAMPION_FOOTFALL_SQL)
        hourly = read_table(con, table_name(FCT_FOOTFALL_HOURLY),
                            ["store_id", "local_date", "local_hour", "entries"])  # fmt: skip
        settings = StaffingSettings(config.days, config.weeks, config.visitors_per_staff_hour,
                                    config.min_staff)  # fmt: skip
        table = staffing_forecast(daily, hourly, settings).select(STAFFING_COLUMNS)
        write_table(con, table_name(STAFFING_FORECAST), table)
    missing = sorted(set(daily["series_id"]) - set(table["store_id"]))
    per_day = table.group_by("store_id", "date").agg(
        pl.col("expected_entries").sum().round(1), pl.col("staff_needed").sum().alias("staff_hours")
    )
    return dg.MaterializeResult(
        metadata={
            **frame_metadata(table),
            "per_day": md_frame(per_day.sort("store_id", "date")),
            "stores_without_hourly_shape": dg.MetadataValue.json(missing),
        }
    )


class PropensityConfig(dg.Config):
    window_days: int = Field(default=30, description="Days ahead a purchase is predicted for.")
    seed: int = 0


@dg.asset(
    key=PURCHASE_PROPENSITY,
    deps=[DIM_CUSTOMER, FCT_BASKETS],
    group_name=GROUP,
    owners=["team:data"],
    kinds={"lightgbm", "duckdb", "polars"},
    pool=WRITER_POOL,
    description="Each member's probability of at least one purchase in the next 30 days "
    "(LightGBM on behaviour as of a cutoff), validated on a later period: AUC, log loss and "
    "calibration by decile in ml.model_evaluation.",
)
def purchase_propensity_asset(
    config: PropensityConfig, warehouse: FootfallWarehouse
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        baskets = read_table(
            con,
            table_name(FCT_BASKETS),
            ["receipt_id", "store_id", "local_date", "member_key", "skus"],
        )
        customers = read_table(con, table_name(DIM_CUSTOMER),
                               ["member_key", "birth_year", "gender", "joined_on"])  # fmt: skip
        result = purchase_propensity(baskets, customers, window=config.window_days,
                                     seed=config.seed)  # fmt: skip
        trained_at = dt.datetime.now(dt.UTC)
        table = result.scores.with_columns(
            pl.lit("lightgbm_classifier").alias("model"), pl.lit(trained_at).alias("trained_at")
        )
        write_table(con, table_name(PURCHASE_PROPENSITY), table)
        evaluation = result.evaluation.with_columns(pl.lit("lightgbm_classifier").alias("model"))
        replace_family(con, evaluation_rows("propensity", evaluation, trained_at))
    figures = result.evaluation.filter(pl.col("segment") == "all")
    deciles = result.evaluation.filter(pl.col("segment") != "all").pivot(
        on="metric", index="segment", values="value"
    )
    return dg.MaterializeResult(
        metadata={
            **frame_metadata(table.sort("probability", descending=True)),
            **{
                f"validation_{m}": dg.MetadataValue.float(v)
                for m, v in figures.select("metric", "value").iter_rows()
            },
            "calibration_by_decile": md_frame(deciles),
            "validation_cutoff": dg.MetadataValue.text(str(result.validation_cutoff)),
            "feature_importance": dg.MetadataValue.json(
                {k: round(v, 4) for k, v in result.importance.items()}
            ),
        }
    )


FORECAST_ASSETS = [store_forecasts, staffing_forecast_asset, purchase_propensity_asset]
