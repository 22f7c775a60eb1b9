"""Reading one file into DuckDB: typed while it is read, or as text to explain its bad rows.

DuckDB's CSV reader is parallel, streams from disk and records the lines it cannot split
(wrong number of fields, invalid UTF-8, stray quotes) with their line numbers instead of failing.
It keeps the file's row order, so an accepted row's line follows from its position, corrected
for rejected lines and for quoted fields that span lines.

A file is read into one of two stages, both in file order:
- TYPED, the typed stage: each row as the projection the caller gives (typed values and a verdict,
  see bulk.py), so the millions of good rows are parsed once and never held as text;
- STAGE, the text stage: each field as text, for the rows whose reasons must be spelled out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from footfall_platform.ingest.files import Fingerprint, LandedFile, Unreadable, csv_header
from footfall_platform.landing.contract import Source
from footfall_platform.warehouse.sql import sql_literal

STAGE = "_ff_stage"
TYPED = "_ff_typed"
TYPED_ROWS = TYPED + "_read"  # TYPED without line numbers: cheaper to scan when they are not needed
REJECTS = "_ff_rejects"
_TEXT_REJECTS = "_ff_text_rejects"  # the text stage reads the file again: its rejects are known
_PLACES = "_ff_reject_places"
TABLES = (
    STAGE + "_read", STAGE + "_lines", STAGE + "_rest", TYPED_ROWS, _PLACES,
    *(name + suffix for name in (REJECTS, _TEXT_REJECTS) for suffix in ("", "_raw", "_scan")),
)  # fmt: skip
VIEWS = (STAGE, TYPED)


@dataclass(frozen=True)
class Reader:
    """How to read a file's fields as text c0..cN (and `line`, for a format that numbers its
    rows); `columns` maps a contract column to its field, or to a literal if it was not sent."""

    file: LandedFile
    columns: dict[str, str]
    fields: str  # the CSV column types, or the Parquet casts to text
    numbered: bool

    def relation(self, rejects: str) -> str:
        path = sql_literal(str(self.file.path))
        if self.numbered:
            return (f"SELECT file_row_number + 1 AS line, {self.fields} "
                    f"FROM read_parquet({path}, file_row_number = true)")  # fmt: skip
        return (
            f"SELECT * FROM read_csv({path}, header = true, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', columns = {self.fields}, store_rejects = true, "
            f"rejects_table = '{rejects}_raw', rejects_scan = '{rejects}_scan', "
            "max_line_size = 1048576)"
        )


@dataclass(frozen=True)
class Staged:
    """What a file gave: its reader, the accepted rows and the lines that could not be split."""

    reader: Reader
    rows: int
    rejected: int
    positional: bool  # every accepted row is one line: its line number follows from its position

    @property
    def columns(self) -> dict[str, str]:
        return self.reader.columns



def _mapping(source: Source, names: list[str]) -> dict[str, str]:
    missing = [c.name for c in source.columns if c.required and c.name not in names]
    if missing:
        raise Unreadable(f"missing required column(s): {', '.join(missing)}")
    mapping: dict[str, str] = {}
    for column in source.columns:
        if column.name in names:
            mapping[column.name] = f'"c{names.index(column.name)}"'
        else:
            mapping[column.name] = sql_literal(column.default) if column.default else "NULL"
    return mapping


def reader(con: duckdb.DuckDBPyConnection, file: LandedFile, source: Source) -> Reader:
    """The reader of a file, or Unreadable saying why the file cannot be one of `source`."""
    if file.size == 0:
        raise Unreadable("empty file (0 bytes)")
    if file.suffix in (".csv", ".csv.gz"):
        names = csv_header(file.path)
        types = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names))) + "}"
        return Reader(file, _mapping(source, names), types, numbered=False)
    if file.suffix == ".parquet":
        try:
            described = con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({sql_literal(str(file.path))})"
            ).fetchall()
        except duckdb.Error as error:
            raise Unreadable(
                f"not a readable Parquet file: {str(error).splitlines()[0]}"
            ) from error
        names = [row[0].strip().lower() for row in described]
        casts = ", ".join(f'CAST("{row[0]}" AS VARCHAR) AS c{i}' for i, row in enumerate(described))
        return Reader(file, _mapping(source, names), casts, numbered=True)
    raise Unreadable(
        f"unsupported file type {file.suffix or '(none)'}: send .csv, .csv.gz or .parquet"
    )


def _read(
    con: duckdb.DuckDBPyConnection,
    how: Reader,
    table: str,
    query: Callable[[str], str],
    rejects: str,
) -> int:
    """Read the file into `table` through `query` (of the fields' SQL); returns the rowid base.

    Inside a transaction a new table's rowids start at a large base: lines count from the first.
    """
    for suffix in ("_raw", "_scan"):
        con.execute(f"DROP TABLE IF EXISTS {rejects}{suffix}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {query(how.relation(rejects))}")
    if how.numbered:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {rejects} AS SELECT NULL::BIGINT AS line, "
                    "NULL::VARCHAR AS error_type, NULL::VARCHAR AS csv_line, "
                    "NULL::VARCHAR AS error_message WHERE false")  # fmt: skip
    else:
        # DuckDB reports a short line once per missing field: keep one error per line.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {rejects} AS SELECT line, "
            "arg_min(error_type::VARCHAR, column_idx) AS error_type, "
            "arg_min(csv_line, column_idx) AS csv_line, "
            f"arg_min(error_message, column_idx) AS error_message FROM {rejects}_raw GROUP BY line"
        )
    return con.execute(f"SELECT coalesce(min(rowid), 0) FROM {table}").fetchone()[0]


def _numbered(con: duckdb.DuckDBPyConnection, table: str, l0: str, rejects: str) -> str:
    """SQL of `table` with each row's `line`, given `l0`, its line counting accepted rows only.

    Rejected lines sit among the accepted ones: a reject at physical line r, the i-th reject,
    sits where accepted-only numbering reaches r - i; an as-of join finds how many sit before.
    """
    if not con.execute(f"SELECT count(*) FROM {rejects}").fetchone()[0]:
        return f"SELECT {l0} AS line, * FROM {table}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_PLACES} AS SELECT p, max(n) AS n FROM (SELECT line - "
        f"(row_number() OVER (ORDER BY line) - 1) AS p, row_number() OVER (ORDER BY line) AS n "
        f"FROM {rejects}) GROUP BY p"
    )
    return (
        f"SELECT a.l0 + coalesce(r.n, 0) AS line, a.* EXCLUDE (l0) FROM "
        f"(SELECT {l0} AS l0, * FROM {table}) a ASOF LEFT JOIN {_PLACES} r ON a.l0 >= r.p"
    )


def stage_typed(
    con: duckdb.DuckDBPyConnection,
    how: Reader,
    query: Callable[[str], str],
    fingerprint: Fingerprint,
) -> Staged:
    """TYPED: every accepted row through `query` (given the SQL of the fields), with its `line`
    and `_pos`, its position among the accepted rows; REJECTS: the lines that could not be split.

    Positions come from the order the rows are stored in, which is the file's as long as the
    query only computes from each row: a join would let rows overtake each other.
    """
    base = _read(con, how, TYPED_ROWS, query, REJECTS)
    rows = con.execute(f"SELECT count(*) FROM {TYPED_ROWS}").fetchone()[0]
    rejected = con.execute(f"SELECT count(*) FROM {REJECTS}").fetchone()[0]
    positional = how.numbered or fingerprint.lines == 1 + rows + rejected
    if how.numbered:
        view = f"SELECT line - 1 AS _pos, * FROM {TYPED_ROWS}"
    else:
        table = f"(SELECT rowid - {base} AS _pos, * FROM {TYPED_ROWS})"
        view = (
            _numbered(con, table, "_pos + 2", REJECTS)
            if positional
            else f"SELECT NULL::BIGINT AS line, * FROM {table}"  # lines need the text stage
        )
    con.execute(f"CREATE OR REPLACE TEMP VIEW {TYPED} AS {view}")
    return Staged(how, rows, rejected, positional)


def stage_text(con: duckdb.DuckDBPyConnection, staged: Staged, rest: str | None = None) -> None:
    """STAGE: the file read again with every field as text, each row with its line number.

    With `rest` (SQL giving the line and _pos of rows of the typed stage) only those rows are
    kept. Without it every row is: a file whose quoted fields span lines needs the text of every
    row to number its lines.
    """
    how = staged.reader
    table = STAGE + "_read"
    base = _read(con, how, table, lambda fields: fields, _TEXT_REJECTS)
    if rest is not None:
        position = "line - 1" if how.numbered else f"rowid - {base}"
        own_line = " EXCLUDE (line)" if how.numbered else ""
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {STAGE}_rest AS SELECT r.line, s.*{own_line} FROM "
            f"(SELECT {position} AS _pos, * FROM {table}) s JOIN ({rest}) r ON r._pos = s._pos"
        )
        con.execute(f"DROP TABLE {table}")  # free the memory of the rows not wanted
        con.execute(f"CREATE OR REPLACE TEMP VIEW {STAGE} AS FROM {STAGE}_rest")
        return
    # A quoted field holding line breaks shifts every later line number by that many.
    used = sorted({v for v in how.columns.values() if v.startswith('"c')})
    breaks = (
        " + ".join(f"coalesce(len({c}) - len(replace({c}, chr(10), '')), 0)" for c in used) or "0"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {STAGE}_lines AS SELECT *, 2 + rowid - {base} + "
        f"coalesce(sum({breaks}) OVER (ORDER BY rowid ROWS BETWEEN UNBOUNDED PRECEDING AND "
        f"1 PRECEDING), 0) AS _l0 FROM {table}"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {STAGE} AS "
        f"{_numbered(con, STAGE + '_lines', '_l0', _TEXT_REJECTS)}"
    )


def text_stage_from(con: duckdb.DuckDBPyConnection, rows: str) -> None:
    """STAGE from rows that kept their text already (`rows` gives line and the fields)."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW {STAGE} AS {rows}")


def drop_stages(con: duckdb.DuckDBPyConnection) -> None:
    for view in VIEWS:
        con.execute(f"DROP VIEW IF EXISTS {view}")
    for table in TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")
