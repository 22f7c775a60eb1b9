"""The shape of the raw and ops tables, derived from the landing contract.

Raw tables are the faithful, typed record of what stores sent (one row per accepted input row,
with the file and line it came from); the ops tables account for every file and every rejected
row. Deriving the DDL from the contract keeps the two from ever disagreeing.

The two tables video counting fills are declared here too, and created with the others: the dbt
models read them as sources whether or not a store ever sent a clip, and a view over a missing
table cannot be built.
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


# Counts from video have the shape of camera counts (so the two feeds stack downstream) plus the
# feed's name; zone visits are anonymous tracks in camera zones (docs/vision.md).
VIDEO_COUNT_COLUMNS = [*stored_columns(SOURCES["camera_counts"]), ("source", "VARCHAR")]
VIDEO_VISIT_COLUMNS = [
    ("store_id", "VARCHAR"), ("camera_id", "VARCHAR"), ("zone", "VARCHAR"),
    ("track_no", "INTEGER"), ("entered_at", "TIMESTAMPTZ"), ("left_at", "TIMESTAMPTZ"),
    ("dwell_seconds", "DOUBLE"), ("local_date", "DATE"),
]  # fmt: skip
VIDEO_TABLES = {"video_counts": VIDEO_COUNT_COLUMNS, "video_zone_visits": VIDEO_VISIT_COLUMNS}


def table_ddl(table: str, columns: list[tuple[str, str]]) -> str:
    """CREATE TABLE IF NOT EXISTS raw.<table> with `columns` and the lineage columns."""
    body = ",\n    ".join(f'"{name}" {sql_type}' for name, sql_type in columns + LINEAGE_COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS raw.{table} (\n    {body}\n)"


# What the retention asset erased, per table and file (footfall_platform/operations/retention).
RETENTION_LOG_DDL = """
CREATE TABLE IF NOT EXISTS ops.retention_log (
    purged_at TIMESTAMPTZ NOT NULL,
    table_name VARCHAR NOT NULL,    -- a key of ERASURES
    action VARCHAR NOT NULL,        -- deleted | anonymised
    sha256 VARCHAR,                 -- source file of deleted rows; NULL for anonymised rows
    rows_affected BIGINT NOT NULL,
    cutoff DATE NOT NULL,           -- rows dated before this day were affected
    retention_days INTEGER NOT NULL,
    CHECK (action IN ('deleted', 'anonymised')),
    CHECK (rows_affected > 0),
    CHECK (retention_days > 0)
)"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and ops schemas and the tables missing from them: every table of a new
    warehouse, and the tables added since an older one was created (its next load adds them)."""
    for schema in ("raw", "ops"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(LEDGER_DDL)
    con.execute(QUARANTINE_DDL)
    con.execute(RETENTION_LOG_DDL)
    for source in SOURCES.values():
        con.execute(table_ddl(source.name, stored_columns(source)))
    for table, columns in VIDEO_TABLES.items():
        con.execute(table_ddl(table, columns))
