"""`footfall audit-pii`: look for personal data in every table of the warehouse and serving files.

The platform promises that names, emails, phones, birth dates and raw member ids never land.
This audit checks the promise from the outside: every text column of every table (nested lists
and structs as their text, quarantined records included) is matched in DuckDB against email,
phone and full-name patterns, JSON fields named like personal data, and columns named like
personal data. Two aggregate queries per table: millions of rows never enter Python. A hit is
reported with a masked example only; the value itself is never printed or returned.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from footfall_platform.operations import pii_patterns as pat
from footfall_platform.warehouse.connection import open_warehouse
from footfall_platform.warehouse.sql import sql_literal


@dataclass(frozen=True)
class Finding:
    """One kind of personal data in one column: how many rows, and a masked example."""

    database: str
    table: str
    column: str
    kind: str  # email | phone | name | json_field | column_name
    hits: int
    example: str  # masked

    @property
    def where(self) -> str:
        return f"{self.database}:{self.table}.{self.column}"


@dataclass
class AuditReport:
    findings: list[Finding] = field(default_factory=list)
    databases: dict[str, str] = field(default_factory=dict)  # name -> path or why it was skipped
    tables: int = 0
    columns: int = 0
    rows: int = 0
    seconds: float = 0.0

    @property
    def hits(self) -> int:
        return sum(f.hits for f in self.findings)

    def as_dict(self) -> dict:
        return {
            "hits": self.hits,
            "findings": [asdict(f) for f in self.findings],
            "databases": self.databases,
            "tables": self.tables,
            "columns": self.columns,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
        }


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_text(data_type: str) -> bool:
    """VARCHAR and JSON, alone or nested in lists, structs and maps (scanned as their text)."""
    return "VARCHAR" in data_type or "JSON" in data_type


def _phones(value: str) -> str:
    """SQL: the phone-shaped matches in `value` with a phone's digit count (not dates)."""
    lo, hi = pat.PHONE_DIGITS
    return (
        f"list_filter(regexp_extract_all({value}, {sql_literal(pat.PHONE)}, 1), x -> "
        f"length(regexp_replace(x, '[^0-9]', '', 'g')) BETWEEN {lo} AND {hi} "
        f"AND NOT regexp_matches(x, {sql_literal(pat.DATE_LIKE)}))"
    )


def _probes() -> list[tuple[str, str, str]]:
    """(kind, SQL: does value v hit, SQL: the matched text) over the values of every column."""
    email, full, lone = (
        sql_literal(x) for x in (pat.EMAIL, pat.FULL_NAME, pat.LEADING_FIRST_NAME)
    )
    phones = f"CASE WHEN regexp_matches(v, {sql_literal(pat.PHONE)}) THEN {_phones('v')} END"
    name_columns = ", ".join(sql_literal(c) for c in sorted(pat.NAME_COLUMNS))
    json_hit = (
        f"regexp_matches(v, {sql_literal(pat.JSON_PERSONAL_FIELD)}) "
        f"OR regexp_matches(v, {sql_literal(pat.JSON_RAW_MEMBER_ID)})"
    )
    return [
        ("email", f"regexp_matches(v, {email})", f"regexp_extract(v, {email})"),
        ("phone", f"len({phones}) > 0", f"({phones})[1]"),
        ("name", f"regexp_matches(v, {full})", f"regexp_extract(v, {full}, 1)"),
        ("name", f"lower(col) IN ({name_columns}) AND regexp_matches(v, {lone})",
         f"regexp_extract(v, {lone}, 1)"),
        ("json_field", json_hit, "v"),
    ]  # fmt: skip


def _mask(kind: str, value: str | None) -> str:
    if value is None:
        return ""
    return pat.MASKS.get(kind, pat.mask_any)(value)


def _scan_text(
    con: duckdb.DuckDBPyConnection, source: str, columns: list[str]
) -> list[tuple[str, str, int, str | None]]:
    """(column, kind, hits, matched text) over the text columns of `source`.

    The columns are unpivoted and grouped to distinct values first: ids, codes and hashes
    repeat, so each pattern runs once per distinct value and is compiled once per table.
    """
    probes = _probes()
    cast = ", ".join(f"CAST({_q(c)} AS VARCHAR) AS {_q(c)}" for c in columns)
    flags = ", ".join(
        f"{hit} AS h{i}, CASE WHEN {hit} THEN {value} END AS v{i}"
        for i, (_, hit, value) in enumerate(probes)
    )
    totals = ", ".join(
        f"coalesce(sum(n) FILTER (WHERE h{i}), 0), any_value(v{i}) FILTER (WHERE h{i})"
        for i in range(len(probes))
    )
    rows = con.execute(
        f"SELECT col, {totals} FROM (SELECT col, n, {flags} FROM (SELECT col, v, count(*) AS n "
        f"FROM (UNPIVOT (SELECT {cast} FROM {source}) ON {', '.join(_q(c) for c in columns)} "
        "INTO NAME col VALUE v) GROUP BY ALL)) GROUP BY col"
    ).fetchall()
    out = []
    for row in rows:
        for i, (kind, _, _) in enumerate(probes):
            if row[1 + 2 * i]:
                out.append((row[0], kind, int(row[1 + 2 * i]), row[2 + 2 * i]))
    return out


def scan_table(
    con: duckdb.DuckDBPyConnection,
    database: str,
    schema: str,
    table: str,
    columns: list[tuple[str, str]],
) -> tuple[int, list[Finding]]:
    """(rows, findings) for one table: its personal-named columns, then its text values."""
    source = f"{_q(schema)}.{_q(table)}"
    named = [c for c, _ in columns if c.lower() in pat.PERSONAL_COLUMNS]
    counts = "".join(f", count({_q(c)}), any_value(CAST({_q(c)} AS VARCHAR))" for c in named)
    row = con.execute(f"SELECT count(*){counts} FROM {source}").fetchone()
    hits = [(c, "column_name", row[1 + 2 * i], row[2 + 2 * i]) for i, c in enumerate(named)]
    text = [c for c, data_type in columns if _is_text(data_type)]
    if text and row[0]:
        hits += _scan_text(con, source, text)
    order = {c: i for i, (c, _) in enumerate(columns)}
    findings = [
        Finding(database, f"{schema}.{table}", column, kind, n, _mask(kind, value))
        for column, kind, n, value in hits
        if n
    ]
    findings.sort(key=lambda f: (order[f.column], f.kind))
    return row[0], findings


def _tables(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[tuple[str, str]]]:
    rows = con.execute(
        "SELECT c.schema_name, c.table_name, c.column_name, c.data_type FROM duckdb_columns() c "
        "JOIN duckdb_tables() t USING (database_name, schema_name, table_name) "
        "WHERE c.database_name = current_database() AND NOT t.temporary "
        "ORDER BY c.schema_name, c.table_name, c.column_index"
    ).fetchall()
    tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        tables.setdefault((schema, table), []).append((column, data_type))
    return tables


def audit_connection(con: duckdb.DuckDBPyConnection, database: str, report: AuditReport) -> None:
    """Scan every base table of an open database (views repeat their tables: skipped)."""
    for (schema, table), columns in _tables(con).items():
        rows, findings = scan_table(con, database, schema, table, columns)
        report.tables += 1
        report.columns += len(columns)
        report.rows += rows
        report.findings += findings


def audit_files(files: Iterable[tuple[str, Path]]) -> AuditReport:
    """Audit each (name, path) DuckDB file read-only; a missing file is noted, not an error.

    Raises FileNotFoundError if none of the files exists (nothing was audited), and
    `WarehouseLocked` (naming the holder) if a writer holds one of them.
    """
    files = list(files)
    if not any(path.exists() for _, path in files):
        raise FileNotFoundError(
            "none of " + ", ".join(str(p) for _, p in files) + " exists: build the warehouse "
            "first (`footfall demo` or a Dagster run)"
        )
    started = time.perf_counter()
    report = AuditReport()
    for name, path in files:
        if not path.exists():
            report.databases[name] = f"{path} (missing: not audited)"
            continue
        with open_warehouse(path, read_only=True, lock_wait=0) as con:
            audit_connection(con, name, report)
        report.databases[name] = str(path)
    report.seconds = time.perf_counter() - started
    return report


def format_report(report: AuditReport) -> str:
    """The report for a terminal: one line per finding, examples masked."""
    from footfall_platform.warehouse.inspect import text_table

    lines = [
        f"Audited {report.tables} tables, {report.columns} columns, {report.rows:,} rows "
        f"in {report.seconds:.1f} s:"
    ]
    lines += [f"  {name}: {where}" for name, where in report.databases.items()]
    if not report.findings:
        lines.append("\nNo personal data found (emails, phones, names, personal columns).")
        return "\n".join(lines)
    rows = [(f.where, f.kind, f.hits, f.example) for f in report.findings]
    columns = len({f.where for f in report.findings})
    lines += [f"\n{report.hits:,} hits in {columns} columns:\n",
              text_table(["table.column", "kind", "hits", "example (masked)"], rows)]  # fmt: skip
    return "\n".join(lines)
