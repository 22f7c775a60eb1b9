"""What is in the warehouse, in forms people read: counts, ledger and quarantine summaries.

Shared by the CLI (`footfall status`, `footfall demo`) and by asset metadata in the UI, so the
terminal and the UI always tell the same story.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb


def table_counts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """Every user table with its row count, schema by schema."""
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = "
        "current_database() AND NOT temporary ORDER BY 1, 2"
    ).fetchall()
    return [
        (f"{schema}.{table}", con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0])
        for schema, table in tables
    ]


def ledger_summary(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple[Any, ...]]]:
    headers = ["source", "status", "files", "rows_in", "rows_loaded", "rows_quarantined"]
    rows = con.execute(
        "SELECT source, status, count(*), sum(rows_in), sum(rows_loaded), sum(rows_quarantined) "
        "FROM ops.ingest_ledger GROUP BY ALL ORDER BY 1, 2"
    ).fetchall()
    return headers, rows


def quarantine_summary(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Quarantined rows by source and by the first part of the reason (the column or rule)."""
    headers = ["source", "reason", "rows"]
    rows = con.execute(
        "SELECT source, regexp_replace(reason, '[:;].*', '') AS why, count(*) FROM ops.quarantine "
        "GROUP BY ALL ORDER BY 1, 3 DESC"
    ).fetchall()
    return headers, rows


def preview(
    con: duckdb.DuckDBPyConnection, table: str, limit: int = 5, order_by: str | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    order = f" ORDER BY {order_by}" if order_by else ""
    cursor = con.execute(f"SELECT * FROM {table}{order} LIMIT {int(limit)}")
    return [d[0] for d in cursor.description], cursor.fetchall()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    for row in cells:
        out.append(
            "  ".join(
                c.rjust(w) if c.replace(".", "", 1).lstrip("-").isdigit() else c.ljust(w)
                for c, w in zip(row, widths, strict=True)
            )
        )
    return "\n".join(out)
