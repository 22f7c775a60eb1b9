"""ml.model_evaluation as an asset: every model family's validation figures on one page.

Forecasts, propensity and recommendations each write their own rows; this asset runs after them,
shows the figures side by side in the UI and carries the table's quality suite.
"""

import dagster as dg

from footfall_platform.orchestration.resources import WRITER_POOL, FootfallWarehouse
from footfall_platform.warehouse.inspect import markdown_table

EVALUATION_KEY = dg.AssetKey(["ml", "model_evaluation"])


def build_evaluation_asset(writers: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=EVALUATION_KEY,
        group_name="serving",
        kinds={"duckdb"},
        pool=WRITER_POOL,
        deps=writers,
        owners=["team:data"],
        description="Validation figures of every model (backtest WAPE/MASE/coverage of the "
        "forecasts, propensity AUC and calibration, recommendation precision/recall/NDCG), "
        "one row per model family, model, segment and metric.",
        tags={"layer": "ml"},
    )
    def _evaluation(warehouse: FootfallWarehouse) -> dg.MaterializeResult:
        with warehouse.connect(read_only=True) as con:
            rows = con.execute(
                "SELECT model_family, model, metric, round(avg(value), 4) AS mean_value, "
                "count(*) AS segments FROM ml.model_evaluation "
                "WHERE segment IN ('all', 'members_with_history') OR model_family = 'forecast' "
                "GROUP BY ALL ORDER BY ALL"
            ).fetchall()
            total = con.execute("SELECT count(*) FROM ml.model_evaluation").fetchone()[0]
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(total),
                "summary": dg.MetadataValue.md(markdown_table(
                    ["family", "model", "metric", "mean value", "segments"], rows)),
            }
        )  # fmt: skip

    return _evaluation
