"""Loading the files of a source into its raw table, each file exactly once and all or nothing.

A file is identified by its content hash: the same bytes under another name are a duplicate and
load nothing. Each file loads inside one transaction together with its ledger row and its
quarantined rows, so a crash leaves no trace and the next run simply loads it again. Only a file
that is unusable as a whole is rejected; a bad row never stops the good rows of its file.

A file is read once, typed as it is read (stage.py). The rows that are certainly good load in one
INSERT (bulk.py); the few others go through the text stage, which loads those that pass and says
of the rest why they did not (validate.py). Every row read is counted loaded or quarantined, and
a file whose counts do not add up is rolled back rather than committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from footfall_platform.ingest import bulk
from footfall_platform.ingest import files as landing_files
from footfall_platform.ingest.lookups import TABLES as LOOKUP_TABLES
from footfall_platform.ingest.lookups import store_zones
from footfall_platform.ingest.pseudonymise import load_key
from footfall_platform.ingest.stage import (
    REJECTS,
    Staged,
    drop_stages,
    reader,
    stage_text,
    stage_typed,
    text_stage_from,
)
from footfall_platform.ingest.validate import (
    DUPLICATES,
    ROWS,
    define_rows,
    prepare_duplicates,
    prepare_lookups,
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
        self,
        con: duckdb.DuckDBPyConnection,
        landing: Path,
        *,
        pii_key_file: Path | None = None,
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
        fingerprint = landing_files.fingerprint(file)
        result = FileResult(file.relative, spec.name, fingerprint.sha256, file.size)
        now = datetime.now(UTC)
        first = con.execute(
            "SELECT path, status FROM ops.ingest_ledger WHERE sha256 = ? AND status <> "
            "'duplicate' ORDER BY loaded_at LIMIT 1", [fingerprint.sha256]
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
                    how = reader(con, file, spec)
                    query = bulk.typed_query(spec, how.columns, how.numbered)
                    staged = stage_typed(con, how, query, fingerprint)
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
            drop_stages(con)
            for view in (ROWS, bulk.BULK):
                con.execute(f"DROP VIEW IF EXISTS {view}")
            for table in ("_ff_bad", DUPLICATES, "_ff_dup_hashes", *bulk.TABLES, *LOOKUP_TABLES):
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
        """Good rows in bulk; the rest, if any, through the text stage that says why."""
        con = self.con
        fields = staged.columns
        if spec.store_column:
            store_zones(con)
        loaded = 0
        if staged.positional:
            bulk.define_bulk(con, spec, fields, key)
            loaded = self._insert(spec, f"{bulk.BULK} WHERE _sure", result, now)
        bad, explained = 0, loaded < staged.rows
        if explained:
            self._stage_rest(spec, staged, key)
            loaded += self._load_explained(spec, fields, result, now)
            bad = con.execute("SELECT count(*) FROM _ff_bad").fetchone()[0]
        if loaded + bad != staged.rows:  # never commit a file whose rows do not add up
            raise RuntimeError(f"{staged.rows} rows read but {loaded} loaded and {bad} quarantined")
        self._quarantine(spec, result, now, explained)
        result.rows_in = staged.rows + staged.rejected
        result.rows_quarantined = bad + staged.rejected
        result.rows_loaded = loaded
        if result.rows_quarantined:
            result.status = "partial"
            result.message = self._reason_summary(result)

    def _stage_rest(self, spec: Source, staged: Staged, key: bytes | None) -> None:
        """STAGE: the rows the bulk path left, as text. They kept it if only a check of their
        own failed; otherwise the file is read again for them. Every row when the line numbers
        need the text of every row (quoted line breaks), and then lookups for all of them."""
        con, fields = self.con, staged.columns
        if not staged.positional:
            stage_text(con, staged)
            prepare_lookups(con, spec, fields, key)
        elif bulk.leave_rest(con, fields):
            text_stage_from(con, f"SELECT * FROM {bulk.REST}")
        else:
            stage_text(con, staged, f"SELECT line, _pos FROM {bulk.REST}")
            bulk.check_text_stage(con, spec, fields)

    def _load_explained(
        self, spec: Source, fields: dict[str, str], result: FileResult, now: datetime
    ) -> int:
        """Rows of the text stage: the good ones loaded, the others in _ff_bad with reasons."""
        con = self.con
        prepare_duplicates(con, spec, fields)
        define_rows(con, spec, fields)
        loaded = self._insert(spec, f"{ROWS} WHERE _ok", result, now)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ff_bad AS SELECT line, _reason AS reason, "
            f"{raw_record_sql(spec)} AS raw_record FROM {ROWS} WHERE NOT _ok"
        )
        return loaded

    def _insert(self, spec: Source, rows: str, result: FileResult, now: datetime) -> int:
        """Insert `rows` (SQL: a relation and its condition) into the raw table."""
        names = ", ".join(f'"{name}"' for name, _ in stored_columns(spec))
        return self.con.execute(
            f"INSERT INTO raw.{spec.name} ({names}, source_sha256, source_line, loaded_at) "
            f"SELECT {typed_select(spec)}, ?, line, ? FROM {rows}",
            [result.sha256, now],
        ).fetchone()[0]

    def _quarantine(self, spec: Source, result: FileResult, now: datetime, explained: bool) -> None:
        """Bad rows (if the text stage `explained` any) and unsplittable lines, in line order."""
        con = self.con
        bad = "SELECT line, reason, raw_record FROM _ff_bad UNION ALL " if explained else ""
        reject_record = (
            "'<redacted: ' || length(ltrim(csv_line, chr(10) || chr(13))) || ' characters>'"
            if spec.personal or spec.member_column
            else "rtrim(ltrim(csv_line, chr(10) || chr(13)), chr(10) || chr(13))"
        )
        reasons = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in REJECT_REASONS.items())
        con.execute(
            f"INSERT INTO ops.quarantine SELECT ?, ?, ?, line, reason, raw_record, ? FROM ({bad}"
            f"SELECT line, CASE error_type {reasons} ELSE error_type END || CASE error_type "
            "WHEN 'MISSING COLUMNS' THEN regexp_replace(lower(error_message), "
            "'expected number of columns: (\\d+) found: (\\d+)', ': expected \\1, found \\2') "
            "WHEN 'TOO MANY COLUMNS' THEN regexp_replace(lower(error_message), "
            "'expected number of columns: (\\d+) found: (\\d+)', ': expected \\1, found more') "
            f"ELSE '' END AS reason, {reject_record} AS raw_record FROM {REJECTS}) "
            "ORDER BY line",
            [spec.name, result.path, result.sha256, now],
        )

    def _reason_summary(self, result: FileResult) -> str:
        """The most common reasons, for the ledger: enough to know where to look."""
        rows = self.con.execute(
            "SELECT regexp_replace(reason, ':.*', '') AS r, count(*) FROM ops.quarantine "
            "WHERE sha256 = ? GROUP BY r ORDER BY 2 DESC, 1 LIMIT 5", [result.sha256]
        ).fetchall()  # fmt: skip
        return f"{result.rows_quarantined} row(s) quarantined: " + ", ".join(
            f"{reason} ({count})" for reason, count in rows
        )

    def _write_ledger(
        self, result: FileResult, file: landing_files.LandedFile, now: datetime
    ) -> None:
        self.con.execute(
            "INSERT INTO ops.ingest_ledger VALUES (?, ?, ?, ?, make_timestamptz(?::BIGINT), "
            "?, ?, ?, ?, ?, ?)",
            [result.path, result.source, result.sha256, result.bytes, file.mtime_ns // 1000,
             result.rows_in, result.rows_loaded, result.rows_quarantined, result.status,
             result.message, now],
        )  # fmt: skip
