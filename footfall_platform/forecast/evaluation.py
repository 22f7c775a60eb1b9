"""`ml.model_evaluation`: one table where every model family reports its validation figures.

Several teams write it (forecast, propensity, recommend), each its own `model_family`, so a
writer replaces only its family's rows, in one transaction, and never the table: a dashboard
reading it sees either the old figures of a family or the new ones, and the other families'
rows untouched. The table is created on first use with the agreed columns.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

TABLE = "ml.model_evaluation"
COLUMNS = ("model_family", "model", "segment", "metric", "value", "evaluated_at")
DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    model_family VARCHAR NOT NULL,  -- forecast | propensity | recommend
    model VARCHAR NOT NULL,
    segment VARCHAR NOT NULL,       -- what the figure is about: a series, a decile, 'all'
    metric VARCHAR NOT NULL,
    value DOUBLE,
    evaluated_at TIMESTAMPTZ NOT NULL
)"""


def evaluation_rows(family: str, rows: pl.DataFrame, evaluated_at: dt.datetime) -> pl.DataFrame:
    """The shared layout from (model, segment, metric, value) rows."""
    return rows.select(
        pl.lit(family).alias("model_family"),
        "model",
        "segment",
        "metric",
        pl.col("value").cast(pl.Float64),
        pl.lit(evaluated_at).alias("evaluated_at"),
    )


def replace_family(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> int:
    """Replace the rows of the families present in `rows`; returns the rows written."""
    families = rows["model_family"].unique().to_list()
    if not families:
        return 0
    con.execute("CREATE SCHEMA IF NOT EXISTS ml")
    con.execute(DDL)
    view = "_ff_forecast_evaluation"
    con.register(view, rows.select(COLUMNS).to_arrow())
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"DELETE FROM {TABLE} WHERE model_family IN (SELECT unnest(?))", [families])
            con.execute(f"INSERT INTO {TABLE} BY NAME SELECT * FROM {view}")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister(view)
    return rows.height
