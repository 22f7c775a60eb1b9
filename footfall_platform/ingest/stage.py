"""Reading one file into a temporary table of text fields, each row with its line number.

DuckDB's CSV reader is parallel, streams from disk and records the lines it cannot split
(wrong number of fields, invalid UTF-8, stray quotes) with their line numbers instead of failing.
It keeps the file's row order, so an accepted row's line follows from its position, corrected
for rejected lines and for quoted fields that span lines. Every field is read as text: typing
is the validator's job, where a bad value becomes a quarantine reason instead of an error.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

import duckdb

from footfall_platform.ingest.files import LandedFile, Unreadable, csv_header
from footfall_platform.landing.contract import Source

STAGE = "_ff_stage"
REJECTS = "_ff_rejects"


@dataclass(frozen=True)
class Staged:
    """What a file gave: `columns` maps a contract column to its staged field (or a literal)."""

    columns: dict[str, str]
    rows: int
    rejected: int


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _mapping(source: Source, names: list[str]) -> dict[str, str]:
    missing = [c.name for c in source.columns if c.required and c.name not in names]
    if missing:
        raise Unreadable(f"missing required column(s): {', '.join(missing)}")
    mapping: dict[str, str] = {}
    for column in source.columns:
        if column.name in names:
            mapping[column.name] = f'"c{names.index(column.name)}"'
        else:
            mapping[column.name] = _quote(column.default) if column.default else "NULL"
    return mapping


def _has_quotes(file: LandedFile) -> bool:
    """Whether the file holds a quote character at all (read in blocks: cheap next to parsing)."""
    opener = gzip.open if file.suffix == ".csv.gz" else open
    with opener(file.path, "rb") as handle:
        while block := handle.read(1 << 22):
            if b'"' in block:
                return True
    return False


def _stage_csv(con: duckdb.DuckDBPyConnection, file: LandedFile, source: Source) -> Staged:
    names = csv_header(file.path)
    mapping = _mapping(source, names)
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names))) + "}"
    path = _quote(str(file.path))
    for table in (REJECTS + "_raw", REJECTS + "_scan"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    # Inside a transaction a new table's rowids start at a large base: number from the first.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {STAGE}_read AS SELECT * FROM read_csv({path}, "
        f"header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
        f"columns = {columns}, store_rejects = true, rejects_table = '{REJECTS}_raw', "
        f"rejects_scan = '{REJECTS}_scan', max_line_size = 1048576)"
    )
    # DuckDB reports a short line once per missing field: keep one error per line.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {REJECTS} AS SELECT line, "
        "arg_min(error_type::VARCHAR, column_idx) AS error_type, "
        "arg_min(csv_line, column_idx) AS csv_line, "
        f"arg_min(error_message, column_idx) AS error_message FROM {REJECTS}_raw GROUP BY line"
    )
    base = con.execute(f"SELECT coalesce(min(rowid), 0) FROM {STAGE}_read").fetchone()[0]
    used = sorted({v for v in mapping.values() if v.startswith('"c')})
    rejected = con.execute(f"SELECT count(*) FROM {REJECTS}").fetchone()[0]
    # A quoted field holding line breaks shifts every later line number by that many lines;
    # without a quote character in the file there can be none, and no column needs scanning.
    breaks = " + ".join(
        f"coalesce(len({c}) - len(replace({c}, chr(10), '')), 0)" for c in used
    ) or "0"
    spans = _has_quotes(file) and con.execute(
        f"SELECT count(*) FROM {STAGE}_read WHERE {' OR '.join(f'contains({c}, chr(10))' for c in used)}"
    ).fetchone()[0]
    if not rejected and not spans:
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {STAGE} AS SELECT rowid - {base} + 2 AS line, * "
            f"FROM {STAGE}_read"
        )
    else:
        # Place rejected lines among the accepted ones: a reject at physical line r, the i-th
        # reject, sits where accepted-only numbering reaches r - i.
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {STAGE}_lines AS
            WITH acc AS (
                SELECT *, 2 + rowid - {base} + coalesce(sum({breaks}) OVER (
                    ORDER BY rowid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS l0
                FROM {STAGE}_read),
            rej AS (SELECT line - (row_number() OVER (ORDER BY line) - 1) AS p FROM {REJECTS})
            SELECT acc.l0 + (SELECT count(*) FROM rej WHERE rej.p <= acc.l0) AS line,
                   acc.* EXCLUDE (l0)
            FROM acc""")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {STAGE} AS FROM {STAGE}_lines")
    rows = con.execute(f"SELECT count(*) FROM {STAGE}").fetchone()[0]
    return Staged(mapping, rows, rejected)


def _stage_parquet(con: duckdb.DuckDBPyConnection, file: LandedFile, source: Source) -> Staged:
    path = _quote(str(file.path))
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()
    except duckdb.Error as error:
        raise Unreadable(f"not a readable Parquet file: {str(error).splitlines()[0]}") from error
    names = [row[0].strip().lower() for row in described]
    mapping = _mapping(source, names)
    fields = ", ".join(f'CAST("{row[0]}" AS VARCHAR) AS c{i}' for i, row in enumerate(described))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {STAGE}_read AS SELECT file_row_number + 1 AS line, "
        f"{fields} FROM read_parquet({path}, file_row_number = true)"
    )
    con.execute(f"CREATE OR REPLACE TEMP VIEW {STAGE} AS FROM {STAGE}_read")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {REJECTS} AS SELECT NULL::BIGINT AS line, "
                "NULL::VARCHAR AS error_type, NULL::VARCHAR AS csv_line, "
                "NULL::VARCHAR AS error_message WHERE false")  # fmt: skip
    rows = con.execute(f"SELECT count(*) FROM {STAGE}").fetchone()[0]
    return Staged(mapping, rows, 0)


def stage_file(con: duckdb.DuckDBPyConnection, file: LandedFile, source: Source) -> Staged:
    """Stage `file` into STAGE (accepted rows) and REJECTS (lines that could not be split)."""
    if file.size == 0:
        raise Unreadable("empty file (0 bytes)")
    if file.suffix == ".parquet":
        return _stage_parquet(con, file, source)
    if file.suffix in (".csv", ".csv.gz"):
        return _stage_csv(con, file, source)
    raise Unreadable(f"unsupported file type {file.suffix or '(none)'}: send .csv, .csv.gz or .parquet")


def drop_stage(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP VIEW IF EXISTS {STAGE}")
    for table in (STAGE + "_lines", STAGE + "_read", REJECTS, REJECTS + "_raw", REJECTS + "_scan"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
