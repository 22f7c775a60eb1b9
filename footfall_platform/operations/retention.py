"""Retention: personal data is kept for a configured period, then erased (storage limitation).

What holds personal data, and what happens to it once older than the period:

- `raw.members`: a member profile (member_key, birth year, gender, city) is personal data even
  pseudonymised. A member whose last activity (joining, or their last till line) is older than
  the period is deleted, every delivered version of the profile.
- `raw.transactions`: a till line is personal only through its member_key. Lines sold before
  the cutoff lose the key (member_key = NULL) and stay as anonymous sales: sales history,
  footfall conversion and forecasts keep their past, nobody can be linked to it.
- `marts.fct_baskets`, the one incremental mart carrying member_key, is anonymised the same way
  (dbt rebuilds it only for days with new rows, so without this old baskets would keep keys).
  Marts rebuilt on every run (dim_customer) and the models (segments, recommendations,
  propensity) drop erased members at their next build; serving.duckdb at its next publish.
- `ops.quarantine` keeps rejected lines (of transactions: with their member_key) for operators
  to fix a drop; rows quarantined before their own, usually shorter, period are deleted.

Dates are business dates (the store-local sale date, the member's last activity), not load
times: a line sold three years ago and delivered yesterday is three years old. Quarantined rows
have no trustworthy business date (they were rejected), so their age is quarantined_at.

Deleted rows are counted per source file in ops.retention_log, so the ledger keeps its counts
and the books still add up: rows loaded = rows in raw + rows erased. Everything happens in one
transaction: a failure erases nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from footfall_platform.warehouse.frames import table_exists
from footfall_platform.warehouse.schema import RETENTION_LOG_DDL

# Tables whose member_key is erased on rows dated before the cutoff: (table, date column).
ANONYMISED = (("raw.transactions", "local_date"), ("marts.fct_baskets", "local_date"))
# Every table retention touches, and how (the retention_log contract checks the pairs).
ERASURES = {"raw.members": "deleted", "ops.quarantine": "deleted",
            **{table: "anonymised" for table, _ in ANONYMISED}}  # fmt: skip
EXPIRED = "_ff_expired_members"


@dataclass(frozen=True)
class RetentionPolicy:
    """Days to keep personal data and quarantined rows; None keeps them forever."""

    personal_days: int | None = None
    quarantine_days: int | None = None

    def __post_init__(self) -> None:
        for name in ("personal_days", "quarantine_days"):
            days = getattr(self, name)
            if days is not None and (not isinstance(days, int) or days < 1):
                raise ValueError(f"{name} must be a whole number of days >= 1, got {days!r}")

    @property
    def active(self) -> bool:
        return self.personal_days is not None or self.quarantine_days is not None


@dataclass
class RetentionResult:
    purged_at: dt.datetime
    personal_cutoff: dt.date | None = None
    quarantine_cutoff: dt.date | None = None
    rows: dict[tuple[str, str], int] = field(default_factory=dict)  # (table, action) -> rows

    def affected(self, table: str) -> int:
        return sum(n for (name, _), n in self.rows.items() if name == table)


def ensure_retention_log(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS ops")
    con.execute(RETENTION_LOG_DDL)


def cutoff(today: dt.date, days: int | None) -> dt.date | None:
    """The first day kept: rows dated before it are older than `days` days."""
    return None if days is None else today - dt.timedelta(days=days)


def _has_columns(con: duckdb.DuckDBPyConnection, table: str, *columns: str) -> bool:
    if not table_exists(con, table):
        return False
    schema, name = table.split(".")
    found = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = ? AND table_name = ?",
            [schema, name],
        ).fetchall()
    }
    return set(columns) <= found


class _Purge:
    """One retention pass inside an open transaction, logging as it goes."""

    def __init__(self, con: duckdb.DuckDBPyConnection, result: RetentionResult) -> None:
        self.con = con
        self.result = result

    def _log(self, table: str, action: str, select: str, params: list, keep: dt.date,
             days: int) -> None:  # fmt: skip
        """Log `select` (rows of sha256, n) and count them under (table, action)."""
        self.con.execute(
            "INSERT INTO ops.retention_log SELECT ?, ?, ?, sha256, n, ?, ? "
            f"FROM ({select}) WHERE n > 0",
            [self.result.purged_at, table, action, keep, days, *params],
        )
        total = self.con.execute(
            "SELECT coalesce(sum(rows_affected), 0) FROM ops.retention_log "
            "WHERE purged_at = ? AND table_name = ? AND action = ?",
            [self.result.purged_at, table, action],
        ).fetchone()[0]
        if total:
            self.result.rows[(table, action)] = int(total)

    def members(self, keep: dt.date, days: int) -> None:
        """Delete the profiles of members inactive since before `keep` (before anonymising)."""
        con = self.con
        if not table_exists(con, "raw.members"):
            return
        sales = (
            "SELECT member_key, max(local_date) AS last_sale FROM raw.transactions "
            "WHERE member_key IS NOT NULL GROUP BY ALL"
            if table_exists(con, "raw.transactions")
            else "SELECT NULL::VARCHAR AS member_key, NULL::DATE AS last_sale WHERE false"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {EXPIRED} AS SELECT p.member_key FROM "
            "(SELECT member_key, max(joined_on) AS joined FROM raw.members GROUP BY ALL) p "
            f"LEFT JOIN ({sales}) s USING (member_key) "
            "WHERE greatest(p.joined, coalesce(s.last_sale, p.joined)) < ?",
            [keep],
        )
        self._log(
            "raw.members", "deleted",
            f"SELECT source_sha256 AS sha256, count(*) AS n FROM raw.members "
            f"WHERE member_key IN (SELECT member_key FROM {EXPIRED}) GROUP BY ALL",
            [], keep, days,
        )  # fmt: skip
        con.execute(
            f"DELETE FROM raw.members WHERE member_key IN (SELECT member_key FROM {EXPIRED})"
        )
        con.execute(f"DROP TABLE {EXPIRED}")

    def anonymise(self, table: str, date_column: str, keep: dt.date, days: int) -> None:
        if not _has_columns(self.con, table, "member_key", date_column):
            return
        where = f"member_key IS NOT NULL AND {date_column} < ?"
        self._log(
            table, "anonymised",
            f"SELECT NULL::VARCHAR AS sha256, count(*) AS n FROM {table} WHERE {where}",
            [keep], keep, days,
        )  # fmt: skip
        self.con.execute(f"UPDATE {table} SET member_key = NULL WHERE {where}", [keep])

    def quarantine(self, keep: dt.date, days: int) -> None:
        if not table_exists(self.con, "ops.quarantine"):
            return
        where = "quarantined_at < ?::DATE::TIMESTAMP AT TIME ZONE 'UTC'"
        self._log(
            "ops.quarantine", "deleted",
            f"SELECT sha256, count(*) AS n FROM ops.quarantine WHERE {where} GROUP BY ALL",
            [keep], keep, days,
        )  # fmt: skip
        self.con.execute(f"DELETE FROM ops.quarantine WHERE {where}", [keep])


def enforce_retention(
    con: duckdb.DuckDBPyConnection, policy: RetentionPolicy, *, now: dt.datetime | None = None
) -> RetentionResult:
    """Erase personal data older than the policy's periods; counts per (table, action).

    `now` (UTC) is a parameter so that tests and backfills can say what "today" is.
    """
    now = now or dt.datetime.now(dt.UTC)
    today = now.astimezone(dt.UTC).date()
    result = RetentionResult(
        purged_at=now,
        personal_cutoff=cutoff(today, policy.personal_days),
        quarantine_cutoff=cutoff(today, policy.quarantine_days),
    )
    ensure_retention_log(con)
    if not policy.active:
        return result
    purge = _Purge(con, result)
    con.execute("BEGIN TRANSACTION")
    try:
        if result.personal_cutoff is not None:
            days = policy.personal_days
            purge.members(result.personal_cutoff, days)
            for table, date_column in ANONYMISED:
                purge.anonymise(table, date_column, result.personal_cutoff, days)
        if result.quarantine_cutoff is not None:
            purge.quarantine(result.quarantine_cutoff, policy.quarantine_days)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result
