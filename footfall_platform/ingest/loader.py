"""Loading the files of a source into its raw table, each file exactly once and all or nothing.

A file is identified by its content hash: the same bytes under another name are a duplicate and
load nothing. Each file loads inside one transaction together with its ledger row and its
quarantined rows, so a crash leaves no trace and the next run simply loads it again. Only a file
that is unusable as a whole is rejected; a bad row never stops the good rows of its file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from footfall_platform.ingest import files as landing_files
from footfall_platform.ingest.pseudonymise import load_key, member_keys
from footfall_platform.ingest.stage import REJECTS, STAGE, Staged, drop_stage, stage_file
from footfall_platform.ingest.validate import (
    DUPLICATES,
    MEMBER_KEYS,
    ROWS,
    STORES,
    define_rows,
    prepare_duplicates,
    prepare_offsets,
    raw_record_sql,
    typed_select,
)
from footfall_platform.landing.contract import SOURCES, Source
from footfall_platform.warehouse.schema import ensure_schema, stored_columns

log = logging.getLogger(__name__)

REJECT_REASONS = {
    "MISSING COLUMNS": "wrong number of fields",
    "TOO MANY COLUMNS": "wrong number of fields",
    "INVALID ENCODING": "not valid UTF-8",
    "UNQUOTED VALUE": "stray quote in an unquoted field",
    "LINE SIZE OVER MAXIMUM": "line longer than 1 MiB",
    "INVALID STATE": "malformed CSV quoting",
    "CAST": "value does not parse",
}


@dataclass
class FileResult:
    """One ledger row, as written."""

    path: str
    source: str
    sha256: str
    bytes: int
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    status: str = "loaded"
    message: str | None = None


@dataclass
class SourceResult:
    source: str
    files: list[FileResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # files left for the next run, and why

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)


class SourceLoader:
    """Loads the new files of one source from a landing folder into an open warehouse."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, landing: Path, *, pii_key_file: Path | None = None,
        settle_seconds: float = 0.0,
    ) -> None:
        self.con = con
        self.landing = landing
        self.pii_key_file = pii_key_file
        self.settle_seconds = settle_seconds
        ensure_schema(con)

    # -- discovery -------------------------------------------------------------------------
    def pending(self, source: str) -> list[landing_files.LandedFile]:
        """Files of `source` not yet in the ledger as they are now (same path, size and mtime)."""
        known = {
            (path, size, mtime)
            for path, size, mtime in self.con.execute(
                "SELECT path, bytes, epoch_us(modified_at) FROM ops.ingest_ledger "
                "WHERE source = ?", [source]
            ).fetchall()
        }  # fmt: skip
        return [
            f
            for f in landing_files.discover(self.landing, source, self.settle_seconds)
            if (f.relative, f.size, f.mtime_ns // 1000) not in known
        ]

    def load_source(
        self, source: str, files: list[landing_files.LandedFile] | None = None
    ) -> SourceResult:
        """Load the given files (default: a snapshot of the pending ones) of one source."""
        spec = SOURCES[source]
        result = SourceResult(source)
        todo = self.pending(source) if files is None else files
        key = load_key(self.pii_key_file) if (spec.member_column and todo) else None
        for file in todo:
            try:
                outcome = self.load_file(spec, file, key)
            except Exception as error:  # noqa: BLE001 - one broken file must not stop the others
                log.exception("loading %s failed; it stays for the next run", file.relative)
                result.errors.append(f"{file.relative}: {type(error).__name__}: {error}")
                continue
            if outcome is not None:
                result.files.append(outcome)
        return result

    # -- one file --------------------------------------------------------------------------
    def load_file(
        self, spec: Source, file: landing_files.LandedFile, key: bytes | None
    ) -> FileResult | None:
        """Load one file in one transaction; None if it changed while being read."""
        con = self.con
        sha = landing_files.sha256_of(file.path)
        result = FileResult(file.relative, spec.name, sha, file.size)
        now = datetime.now(UTC)
        first = con.execute(
            "SELECT path, status FROM ops.ingest_ledger WHERE sha256 = ? AND status <> "
            "'duplicate' ORDER BY loaded_at LIMIT 1", [sha]
        ).fetchone()  # fmt: skip
        staged = None
        try:
            if first is not None:
                result.status = "duplicate"
                result.message = f"same content as {first[0]} ({first[1]}): nothing loaded"
            else:
                # Reading happens before the transaction: a file DuckDB cannot read is rejected
                # without aborting anything.
                try:
                    staged = stage_file(con, file, spec)
                except landing_files.Unreadable as error:
                    result.status, result.message = "rejected", str(error)
                except duckdb.Error as error:
                    result.status = "rejected"
                    result.message = f"unreadable: {str(error).splitlines()[0][:300]}"
            con.execute("BEGIN TRANSACTION")
            try:
                if staged is not None:
                    self._load_rows(spec, staged, result, key, now)
                if not self._unchanged(file):
                    con.execute("ROLLBACK")
                    log.warning("%s changed while loading; it loads on the next run", file.relative)
                    return None
                self._write_ledger(result, file, now)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            drop_stage(con)
            con.execute(f"DROP VIEW IF EXISTS {ROWS}")
            for table in ("_ff_bad", DUPLICATES, "_ff_dup_hashes", "_ff_hours", "_ff_off_local",
                          "_ff_off_utc", MEMBER_KEYS, STORES):  # fmt: skip
                con.execute(f"DROP TABLE IF EXISTS {table}")
        return result

    def _unchanged(self, file: landing_files.LandedFile) -> bool:
        try:
            info = file.path.stat()
        except FileNotFoundError:
            return False
        return info.st_size == file.size and info.st_mtime_ns == file.mtime_ns

    def _load_rows(
        self, spec: Source, staged: Staged, result: FileResult, key: bytes | None, now: datetime
    ) -> None:
        con = self.con
        self._prepare_lookups(spec, staged.columns, key)
        prepare_offsets(con, spec, staged.columns)
        prepare_duplicates(con, spec, staged.columns)
        define_rows(con, spec, staged.columns)
        names = ", ".join(f'"{name}"' for name, _ in stored_columns(spec))
        loaded = con.execute(
            f"INSERT INTO raw.{spec.name} ({names}, source_sha256, source_line, loaded_at) "
            f"SELECT {typed_select(spec)}, ?, line, ? FROM {ROWS} WHERE _ok",
            [result.sha256, now],
        ).fetchone()[0]
        # Bad rows are rare: find them by what did not load, and only then pay for their reasons.
        missing = "SELECT NULL::BIGINT AS line WHERE false"
        if loaded < staged.rows:
            missing = (
                f"SELECT line FROM {STAGE} EXCEPT SELECT source_line FROM raw.{spec.name} "
                "WHERE source_sha256 = ?"
            )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ff_bad AS SELECT line, _reason AS reason, "
            f"{raw_record_sql(spec)} AS raw_record FROM {ROWS} WHERE line IN ({missing})",
            [result.sha256] if loaded < staged.rows else [],
        )
        reject_record = (
            "'<redacted: ' || length(ltrim(csv_line, chr(10) || chr(13))) || ' characters>'"
            if spec.personal or spec.member_column
            else "rtrim(ltrim(csv_line, chr(10) || chr(13)), chr(10) || chr(13))"
        )
        reasons = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in REJECT_REASONS.items())
        con.execute(
            "INSERT INTO ops.quarantine SELECT ?, ?, ?, line, reason, raw_record, ? FROM ("
            "SELECT line, reason, raw_record FROM _ff_bad UNION ALL "
            f"SELECT line, CASE error_type {reasons} ELSE error_type END || CASE error_type "
            "WHEN 'MISSING COLUMNS' THEN regexp_replace(lower(error_message), "
            "'expected number of columns: (\\d+) found: (\\d+)', ': expected \\1, found \\2') "
            "WHEN 'TOO MANY COLUMNS' THEN regexp_replace(lower(error_message), "
            "'expected number of columns: (\\d+) found: (\\d+)', ': expected \\1, found more') "
            f"ELSE '' END, {reject_record} FROM {REJECTS}) "
            "ORDER BY line",
            [spec.name, result.path, result.sha256, now],
        )
        bad = con.execute("SELECT count(*) FROM _ff_bad").fetchone()[0]
        result.rows_in = staged.rows + staged.rejected
        result.rows_quarantined = bad + staged.rejected
        result.rows_loaded = staged.rows - bad
        if result.rows_quarantined:
            result.status = "partial"
            result.message = self._reason_summary(result)

    def _reason_summary(self, result: FileResult) -> str:
        """The most common reasons, for the ledger: enough to know where to look."""
        rows = self.con.execute(
            "SELECT regexp_replace(reason, ':.*', '') AS r, count(*) FROM ops.quarantine "
            "WHERE sha256 = ? GROUP BY r ORDER BY 2 DESC, 1 LIMIT 5", [result.sha256]
        ).fetchall()  # fmt: skip
        return f"{result.rows_quarantined} row(s) quarantined: " + ", ".join(
            f"{reason} ({count})" for reason, count in rows
        )

    def _prepare_lookups(self, spec: Source, fields: dict[str, str], key: bytes | None) -> None:
        con = self.con
        if spec.store_column:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {STORES} AS SELECT store_id, timezone AS tz FROM "
                "raw.stores QUALIFY row_number() OVER (PARTITION BY store_id "
                "ORDER BY loaded_at DESC, source_line DESC) = 1"
            )
        if spec.member_column:
            assert key is not None
            field = fields[spec.member_column]
            ids = [
                row[0]
                for row in con.execute(
                    f"SELECT DISTINCT trim({field}) FROM {STAGE} WHERE nullif(trim({field}), '') "
                    "IS NOT NULL"
                ).fetchall()
            ]
            frame = pl.DataFrame(
                {"member_id": ids, "member_key": member_keys(key, ids)},
                schema={"member_id": pl.String, "member_key": pl.String},
            )
            con.register("_ff_member_frame", frame)
            con.execute(f"CREATE OR REPLACE TEMP TABLE {MEMBER_KEYS} AS FROM _ff_member_frame")
            con.unregister("_ff_member_frame")

    def _write_ledger(self, result: FileResult, file: landing_files.LandedFile, now: datetime) -> None:
        self.con.execute(
            "INSERT INTO ops.ingest_ledger VALUES (?, ?, ?, ?, make_timestamptz(?::BIGINT), "
            "?, ?, ?, ?, ?, ?)",
            [result.path, result.source, result.sha256, result.bytes, file.mtime_ns // 1000,
             result.rows_in, result.rows_loaded, result.rows_quarantined, result.status,
             result.message, now],
        )  # fmt: skip
