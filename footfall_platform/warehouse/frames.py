"""Reading marts into frames and writing result frames as warehouse tables.

The model engines (mining, forecast, recommend) work on polars frames; these few functions are
their contact with DuckDB, so every model asset reads and replaces tables the same way: a missing input table is a clear
error naming what to build first, and a result replaces its table in one statement, so a reader
never sees half of an old table and half of a new one.
"""

from __future__ import annotations

import re

import duckdb
import polars as pl

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")

# RFID reads per reader and local day: what the silent-reader check needs, aggregated in DuckDB
# so that millions of reads never cross into Python.
RFID_READER_DAYS_SQL = (
    "SELECT store_id, reader_id, local_date, count(*) AS reads FROM raw.rfid_reads "
    "GROUP BY ALL ORDER BY ALL"
)


class MissingTable(LookupError):
    """An input table the mining step reads does not exist (yet) in the warehouse."""


def _checked(name: str) -> tuple[str, str]:
    if not _NAME.match(name):
        raise ValueError(f"expected a table name as schema.table, got {name!r}")
    schema, table = name.split(".")
    return schema, table


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    schema, table = _checked(name)
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ? "
        "AND database_name = current_database()",
        [schema, table],
    ).fetchone()
    views = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE schema_name = ? AND view_name = ? "
        "AND database_name = current_database()",
        [schema, table],
    ).fetchone()
    return bool(found[0] or views[0])


def read_table(
    con: duckdb.DuckDBPyConnection, name: str, columns: list[str] | None = None
) -> pl.DataFrame:
    """The whole table (or the named columns) as a polars frame."""
    schema, table = _checked(name)
    if not table_exists(con, name):
        raise MissingTable(
            f"{name} does not exist in the warehouse: build it first (the marts come from dbt)"
        )
    select = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    return con.execute(f'SELECT {select} FROM "{schema}"."{table}"').pl()


def read_query(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    return con.execute(sql).pl()


def write_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> int:
    """Replace ``schema.table`` with the frame (schema created if new); returns the row count."""
    schema, table = _checked(name)
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    view = f"_ff_mining_{table}"
    con.register(view, frame.to_arrow())
    try:
        con.execute(f'CREATE OR REPLACE TABLE "{schema}"."{table}" AS SELECT * FROM "{view}"')
    finally:
        con.unregister(view)
    return frame.height
