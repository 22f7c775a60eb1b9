"""The shape of the raw and ops tables, derived from the landing contract.

Raw tables are the faithful, typed record of what stores sent (one row per accepted input row,
with the file and line it came from); the ops tables account for every file and every rejected
row. Deriving the DDL from the contract keeps the two from ever disagreeing.
"""

from __future__ import annotations

import duckdb

from footfall_platform.landing.contract import SOURCES, Source

SQL_TYPES = {
    "text": "VARCHAR", "code": "VARCHAR", "epc": "VARCHAR", "timezone": "VARCHAR",
    "date": "DATE", "timestamp": "TIMESTAMPTZ", "int": "INTEGER", "decimal": "DECIMAL(14, 2)",
    "double": "DOUBLE",
}  # fmt: skip

LINEAGE_COLUMNS = [
    ("source_sha256", "VARCHAR"),  # the file a row came from (its content hash)
    ("source_line", "BIGINT"),  # line in that file, header = 1 (row number for Parquet)
    ("loaded_at", "TIMESTAMPTZ"),
]

LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS ops.ingest_ledger (
    path VARCHAR NOT NULL,          -- relative to the landing folder
    source VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    bytes BIGINT NOT NULL,
    modified_at TIMESTAMPTZ,        -- file mtime when read: lets discovery skip known files
    rows_in BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    status VARCHAR NOT NULL,        -- loaded | partial | rejected | duplicate
    message VARCHAR,
    loaded_at TIMESTAMPTZ NOT NULL,
    CHECK (rows_in = rows_loaded + rows_quarantined),
    CHECK (status IN ('loaded', 'partial', 'rejected', 'duplicate'))
)"""

QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS ops.quarantine (
    source VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    line BIGINT,
    reason VARCHAR NOT NULL,
    raw_record VARCHAR,             -- redacted for sources that carry personal data
    quarantined_at TIMESTAMPTZ NOT NULL
)"""


def stored_columns(source: Source) -> list[tuple[str, str]]:
    """The typed columns a raw table keeps: personal columns dropped, member ids hashed."""
    out: list[tuple[str, str]] = []
    first_timestamp = True
    for column in source.columns:
        if column.name == source.member_column:
            out.append(("member_key", "VARCHAR"))
            continue
        if column.personal:
            if column.name == "birth_date":
                out.append(("birth_year", "INTEGER"))
            continue
        out.append((column.name, SQL_TYPES[column.kind]))
        if column.kind == "timestamp" and first_timestamp:
            out += [("local_date", "DATE"), ("local_hour", "INTEGER")]
            first_timestamp = False
    if source.name == "camera_counts":
        out.append(("period_minutes", "DOUBLE"))
    return out


def raw_table_ddl(source: Source) -> str:
    columns = stored_columns(source) + LINEAGE_COLUMNS
    body = ",\n    ".join(f'"{name}" {sql_type}' for name, sql_type in columns)
    return f"CREATE TABLE IF NOT EXISTS raw.{source.name} (\n    {body}\n)"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and ops schemas and tables if this is a new warehouse."""
    for schema in ("raw", "ops"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(LEDGER_DDL)
    con.execute(QUARANTINE_DDL)
    for source in SOURCES.values():
        con.execute(raw_table_ddl(source))

