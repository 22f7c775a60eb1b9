"""Contracts of the ops tables: the ledger and the quarantine must account for every input.

These are the platform's own books. If they do not add up, nothing built on the raw layer can be
trusted to have seen every row exactly once.
"""

from __future__ import annotations

from footfall_platform.landing.contract import LOAD_ORDER
from footfall_platform.operations.retention import ERASURES as RETENTION_ERASURES
from quality.rules import (
    between,
    columns_are,
    no_rows_where,
    not_null,
    one_of,
    unique,
)
from quality.suite import Suite

LEDGER_STATUSES = ["duplicate", "loaded", "partial", "rejected"]
SOURCES = sorted([*LOAD_ORDER, "video"])
SOURCE_WHY = "Every file and row belongs to one of the documented landing sources."
ERASURES = [f"{table}:{action}" for table, action in sorted(RETENTION_ERASURES.items())]

INGEST_LEDGER = Suite(
    "ops.ingest_ledger",
    ("ops", "ingest_ledger"),
    "One row per delivered file: how many rows came in, loaded and were quarantined.",
    rules=(
        *columns_are(
            [("path", "VARCHAR"), ("source", "VARCHAR"), ("sha256", "VARCHAR"),
             ("bytes", "BIGINT"), ("modified_at", "TIMESTAMPTZ"), ("rows_in", "BIGINT"),
             ("rows_loaded", "BIGINT"), ("rows_quarantined", "BIGINT"), ("status", "VARCHAR"),
             ("message", "VARCHAR"), ("loaded_at", "TIMESTAMPTZ")],
            why="Operators and the sensor read the ledger by these names.",
        ),
        *not_null("path", "source", "sha256", "status", "loaded_at",
                  why="Every file is identified by path, source and content hash."),
        one_of("status", LEDGER_STATUSES, why="The four outcomes of a file, documented."),
        one_of("source", SOURCES, why=SOURCE_WHY),
        no_rows_where("rows add up", "rows_in <> rows_loaded + rows_quarantined",
                      columns=("rows_in", "rows_loaded", "rows_quarantined"),
                      why="Nothing is lost: every input row is loaded or quarantined."),
        between("rows_in", 0, None, why="Counts are never negative."),
        no_rows_where("rejected and duplicate files load nothing",
                      "status IN ('rejected', 'duplicate') AND rows_loaded > 0",
                      columns=("status", "rows_loaded"),
                      why="A rejected or duplicate file must not add rows."),
        no_rows_where("rejected files say why", "status = 'rejected' AND coalesce(message, '') = ''",
                      columns=("status", "message"),
                      why="An operator must be able to fix a rejected file from the message."),
        unique("sha256", dataset="accepted",
               why="Exactly once: the same bytes load at most once, whatever their name."),
        no_rows_where("raw rows match the ledger", "true", dataset="raw_mismatch",
                      columns=("sha256",),
                      why="Rows in raw tables per file, plus rows retention erased, equal the "
                          "ledger's rows_loaded."),
    ),
    datasets={
        "accepted": "SELECT sha256, path FROM ops.ingest_ledger "
        "WHERE status IN ('loaded', 'partial')",
        "raw_mismatch": """
            WITH raw_rows AS (
                SELECT source_sha256 AS sha256, count(*) AS n FROM (
                    SELECT source_sha256 FROM raw.stores UNION ALL
                    SELECT source_sha256 FROM raw.products UNION ALL
                    SELECT source_sha256 FROM raw.calendar UNION ALL
                    SELECT source_sha256 FROM raw.camera_counts UNION ALL
                    SELECT source_sha256 FROM raw.rfid_tags UNION ALL
                    SELECT source_sha256 FROM raw.rfid_reads UNION ALL
                    SELECT source_sha256 FROM raw.members UNION ALL
                    SELECT source_sha256 FROM raw.transactions
                ) GROUP BY ALL
            ), erased AS (  -- rows deleted by retention (ops/retention) are accounted for
                SELECT sha256, sum(rows_affected) AS n FROM ops.retention_log
                WHERE action = 'deleted' AND table_name LIKE 'raw.%' GROUP BY ALL
            ), ledger AS (
                SELECT sha256, sum(rows_loaded) AS n FROM ops.ingest_ledger
                WHERE status IN ('loaded', 'partial') AND source <> 'video' GROUP BY ALL
            )
            SELECT sha256, ledger.n AS ledger_rows, raw_rows.n AS raw_rows, erased.n AS erased
            FROM ledger FULL JOIN raw_rows USING (sha256) LEFT JOIN erased USING (sha256)
            WHERE coalesce(ledger.n, 0) <> coalesce(raw_rows.n, 0) + coalesce(erased.n, 0)
        """,
    },
)  # fmt: skip

QUARANTINE = Suite(
    "ops.quarantine",
    ("ops", "quarantine"),
    "Every rejected row with its file, line and reason; personal sources redacted.",
    rules=(
        *columns_are(
            [("source", "VARCHAR"), ("path", "VARCHAR"), ("sha256", "VARCHAR"), ("line", "BIGINT"),
             ("reason", "VARCHAR"), ("raw_record", "VARCHAR"), ("quarantined_at", "TIMESTAMPTZ")],
            why="Operators read the quarantine by these names.",
        ),
        *not_null("source", "path", "sha256", "reason", "quarantined_at",
                  why="A quarantined row must say where it came from and why."),
        one_of("source", SOURCES, why=SOURCE_WHY),
        no_rows_where("no personal data in quarantine", """
                source = 'members' AND raw_record IS NOT NULL AND (
                    regexp_matches(raw_record, '[^"\\s@]+@[^"\\s@]+\\.[a-z]{2,}')
                    OR regexp_matches(raw_record, '\\+?\\d[\\d\\s().-]{7,}\\d')
                    OR regexp_matches(raw_record, '\\d{4}-\\d{2}-\\d{2}'))""",
                      columns=("raw_record",),
                      why="Emails, phone numbers and birth dates of members never land."),
        no_rows_where("counts match the ledger", "true", dataset="ledger_mismatch",
                      columns=("sha256",),
                      why="Quarantined rows per file, plus rows retention deleted, equal the "
                          "ledger's rows_quarantined."),
    ),
    datasets={"ledger_mismatch": """
        WITH q AS (SELECT sha256, count(*) AS n FROM ops.quarantine GROUP BY ALL),
        e AS (SELECT sha256, sum(rows_affected) AS n FROM ops.retention_log
              WHERE table_name = 'ops.quarantine' GROUP BY ALL),
        l AS (SELECT sha256, sum(rows_quarantined) AS n FROM ops.ingest_ledger
              WHERE status IN ('loaded', 'partial') GROUP BY ALL)
        SELECT sha256, l.n AS ledger_rows, q.n AS quarantined_rows, e.n AS erased
        FROM l FULL JOIN q USING (sha256) LEFT JOIN e USING (sha256)
        WHERE coalesce(l.n, 0) <> coalesce(q.n, 0) + coalesce(e.n, 0)
    """},
    private_columns=("raw_record",),
)  # fmt: skip

RETENTION_LOG = Suite(
    "ops.retention_log",
    ("ops", "retention"),
    "What retention erased: rows deleted per source file, rows anonymised per table, cutoffs.",
    rules=(
        *columns_are(
            [("purged_at", "TIMESTAMPTZ"), ("table_name", "VARCHAR"), ("action", "VARCHAR"),
             ("sha256", "VARCHAR"), ("rows_affected", "BIGINT"), ("cutoff", "DATE"),
             ("retention_days", "INTEGER")],
            why="The ledger and quarantine contracts add these rows back by these names.",
        ),
        *not_null("purged_at", "table_name", "action", "rows_affected", "cutoff",
                  "retention_days", why="Every erasure says when, where, what and by which rule."),
        one_of("table_name", sorted(RETENTION_ERASURES),
               why="Only these tables hold personal data that retention erases."),
        one_of("action", ["anonymised", "deleted"], why="The two ways data is erased."),
        no_rows_where("deletions name their file", "action = 'deleted' AND sha256 IS NULL",
                      columns=("action", "sha256"),
                      why="Deleted rows are added back to their file's ledger counts by sha256."),
        no_rows_where("each table erased its own way",
                      "table_name || ':' || action NOT IN ("
                      + ", ".join(f"'{e}'" for e in ERASURES) + ")",
                      columns=("table_name", "action"),
                      why="Profiles and quarantined lines are deleted; till lines and baskets "
                          "lose their member_key only, so sales history stays whole."),
        between("rows_affected", 1, None, why="Only erasures that affected rows are logged."),
        between("retention_days", 1, None, why="A retention period is at least a day."),
        no_rows_where("cutoff before the erasure", "cutoff > purged_at::DATE",
                      columns=("cutoff", "purged_at"),
                      why="Only data dated before the run can be past its retention period."),
        no_rows_where("deleted rows come from known files", "true", dataset="unknown_files",
                      columns=("sha256",),
                      why="Every deleted row comes from a file in the ingest ledger."),
    ),
    datasets={"unknown_files": """
        SELECT r.sha256 FROM ops.retention_log r
        WHERE r.action = 'deleted'
          AND r.sha256 NOT IN (SELECT sha256 FROM ops.ingest_ledger)
    """},
)  # fmt: skip

OPS_SUITES = [INGEST_LEDGER, QUARANTINE, RETENTION_LOG]
