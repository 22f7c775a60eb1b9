"""Writing the recommender's results: its own tables whole, its rows of the shared evaluation.

ml.recommendations and ml.similar_products are replaced together in one transaction, so a reader
never sees new lists beside old similar products. ml.model_evaluation is shared with the
forecasting and propensity models: footfall_platform.forecast.evaluation.replace_family (the one
writer of that table) replaces only the `recommend` rows, in its own transaction. When a run
has no evaluation (history too short) the previous recommend rows stay, dated by evaluated_at.
"""

from __future__ import annotations

import duckdb
import polars as pl

from footfall_platform.forecast.evaluation import TABLE as EVALUATION_TABLE
from footfall_platform.forecast.evaluation import replace_family
from footfall_platform.warehouse.frames import write_table

__all__ = ["EVALUATION_TABLE", "publish"]


def publish(
    con: duckdb.DuckDBPyConnection,
    recommendations: pl.DataFrame,
    similar: pl.DataFrame,
    evaluation: pl.DataFrame,
) -> None:
    """ml.recommendations and ml.similar_products atomically, then the recommend evaluation."""
    if evaluation.height and set(evaluation["model_family"]) != {"recommend"}:
        raise ValueError("every evaluation row must have model_family = 'recommend'")
    con.execute("BEGIN TRANSACTION")
    try:
        write_table(con, "ml.recommendations", recommendations)
        write_table(con, "ml.similar_products", similar)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    replace_family(con, evaluation)
