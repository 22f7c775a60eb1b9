"""Loading the clips of `landing/video/`: each exactly once, counted in parallel, written with
its ledger row in one transaction.

Like every source, a clip is identified by its content hash and recorded in `ops.ingest_ledger`
(source 'video'): `loaded`; `partial` when the file stops early (counts cover the decodable
part, the message says how much); `rejected` when nothing in it is usable (not a video, no
frame, a name without a time); `duplicate` when the same bytes were loaded before. `cameras.yaml`
is recorded too (with no rows: its message lists the cameras), so the ledger shows which
version of the configuration was in force. A clip whose camera is not described, or whose store is not in
`raw.stores` yet, is left in the landing zone with an error and counted on a later run: the
fix is in the configuration, not in the clip.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from footfall_platform.ingest.files import LandedFile, fingerprint
from footfall_platform.ingest.loader import FileResult, SourceLoader
from footfall_platform.vision.config import (
    CAMERAS_FILE,
    CameraConfig,
    CameraConfigError,
    ClipNameError,
    camera_for,
    load_cameras,
    parse_clip_path,
)
from footfall_platform.vision.pipeline import ClipResult, ClipUnreadable, count_clips
from footfall_platform.vision.tables import (
    SOURCE,
    count_rows,
    ensure_video_tables,
    insert_rows,
    utc_start,
    visit_rows,
)

log = logging.getLogger(__name__)
KEPT = ("loaded", "partial")  # statuses whose rows are in the raw tables


@dataclass
class VideoLoadResult:
    files: list[FileResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # clips left for the next run, and why
    clips: dict[str, ClipResult] = field(default_factory=dict)  # by landing path

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.files)


@dataclass
class _Clip:
    file: LandedFile
    sha256: str
    camera: CameraConfig
    start: dt.datetime  # UTC
    timezone: str


class VideoLoader:
    """Counts the new clips of a landing zone into an open warehouse."""

    def __init__(self, con: duckdb.DuckDBPyConnection, landing: Path, *,
                 settle_seconds: float = 0.0, workers: int | None = None) -> None:  # fmt: skip
        self.con = con
        self.landing = Path(landing)
        self.workers = workers
        # Discovery, the ledger row and the changed-while-read check are the ingest loader's,
        # so video files are accounted for exactly like every other source.
        self.files = SourceLoader(con, self.landing, settle_seconds=settle_seconds)
        ensure_video_tables(con)

    def pending(self) -> list[LandedFile]:
        """Files under video/ not in the ledger as they are now (path, size, mtime)."""
        return self.files.pending(SOURCE)

    def load(self) -> VideoLoadResult:
        result = VideoLoadResult()
        todo = self.pending()
        config = [f for f in todo if f.relative == f"{SOURCE}/{CAMERAS_FILE}"]
        cameras, config_error = self._cameras(config[0] if config else None, result)
        zones = self._timezones()
        jobs: list[_Clip] = []
        copies: list[tuple[LandedFile, str]] = []  # same bytes as another clip of this run
        first_of: dict[str, str] = {}
        for file in todo:
            if file in config:
                continue
            sha = fingerprint(file).sha256
            earlier = self._loaded_before(sha)
            if earlier is not None:
                self._record(
                    FileResult(
                        file.relative,
                        SOURCE,
                        sha,
                        file.size,
                        status="duplicate",
                        message=f"same content as {earlier}: nothing loaded",
                    ),
                    file,
                    result,
                )
                continue  # fmt: skip
            if sha in first_of:
                copies.append((file, sha))
                continue
            try:
                name = parse_clip_path(file.relative)
                if config_error:
                    raise CameraConfigError(config_error)
                camera = camera_for(cameras, name.store_id, name.camera_id)
            except ClipNameError as error:
                self._record(FileResult(file.relative, SOURCE, sha, file.size, status="rejected",
                                        message=str(error)), file, result)  # fmt: skip
                continue
            except CameraConfigError as error:
                result.errors.append(f"{file.relative}: {error}")
                continue
            if name.store_id not in zones:
                result.errors.append(
                    f"{file.relative}: store {name.store_id} is not in raw.stores: load the store "
                    "list first; the clip stays in the landing zone"
                )
                continue
            timezone = zones[name.store_id]
            first_of[sha] = file.relative
            jobs.append(_Clip(file, sha, camera, utc_start(name.start, timezone), timezone))
        counted = count_clips([(j.file.path, j.camera) for j in jobs], self.workers)
        for job, outcome in zip(jobs, counted, strict=True):
            self._write(job, outcome, result)
        for file, sha in copies:
            original = next((f for f in result.files if f.sha256 == sha), None)
            if original is None:  # the original changed while it was read: both wait
                continue
            duplicate = original.status in KEPT
            self._record(FileResult(
                file.relative, SOURCE, sha, file.size,
                status="duplicate" if duplicate else original.status,
                message=f"same content as {original.path}: nothing loaded" if duplicate
                else original.message,
            ), file, result)  # fmt: skip
        return result

    # -- helpers -----------------------------------------------------------------------------
    def _cameras(self, changed: LandedFile | None,
                 result: VideoLoadResult) -> tuple[dict[str, CameraConfig], str | None]:  # fmt: skip
        """The cameras of video/cameras.yaml, or the reason there are none; a new or changed
        cameras.yaml gets its ledger row."""
        path = self.landing / SOURCE / CAMERAS_FILE
        try:
            cameras = load_cameras(path) if path.is_file() else {}
            error = None if path.is_file() else f"{SOURCE}/{CAMERAS_FILE} is missing"
        except CameraConfigError as problem:
            cameras, error = {}, f"{SOURCE}/{CAMERAS_FILE} is unusable: {problem}"
        if changed is not None:
            entry = FileResult(changed.relative, SOURCE, fingerprint(changed).sha256, changed.size)
            if error:
                entry.status, entry.message = "rejected", error
            else:  # configuration, not rows: the raw tables get nothing from it
                entry.message = f"{len(cameras)} camera(s): {', '.join(sorted(cameras))}"
            self._record(entry, changed, result)
        return cameras, error

    def _timezones(self) -> dict[str, str]:
        return dict(self.con.execute(
            "SELECT store_id, timezone FROM raw.stores QUALIFY row_number() OVER ("
            "PARTITION BY store_id ORDER BY loaded_at DESC, source_line DESC) = 1"
        ).fetchall())  # fmt: skip

    def _loaded_before(self, sha: str) -> str | None:
        row = self.con.execute(
            "SELECT path FROM ops.ingest_ledger WHERE source = ? AND sha256 = ? AND status IN "
            "('loaded', 'partial') ORDER BY loaded_at LIMIT 1", [SOURCE, sha],
        ).fetchone()  # fmt: skip
        return row[0] if row else None

    def _write(self, job: _Clip, outcome: ClipResult | ClipUnreadable,
               result: VideoLoadResult) -> None:  # fmt: skip
        file = job.file
        entry = FileResult(file.relative, SOURCE, job.sha256, file.size)
        if isinstance(outcome, ClipUnreadable):
            entry.status, entry.message = "rejected", str(outcome)
            self._record(entry, file, result)
            return
        result.clips[file.relative] = outcome
        cam = job.camera
        counts = count_rows(outcome, cam.store_id, cam.camera_id, job.start, job.timezone)
        visits = visit_rows(outcome, cam.store_id, cam.camera_id, job.start, job.timezone)
        entry.rows_in = entry.rows_loaded = len(counts) + len(visits)
        entry.message = (
            f"{outcome.frames_read} frames at {outcome.fps:g} fps ({outcome.seconds:.1f} s): "
            f"{outcome.entries} entries, {outcome.exits} exits, {len(outcome.visits)} zone "
            f"visit(s); counted at {outcome.processing_fps:.0f} fps"
        )
        if outcome.truncated:
            entry.status = "partial"
            entry.message = (
                f"truncated: {outcome.frames_read} of {outcome.frames_expected} frames decodable; "
                f"counts cover the first {outcome.seconds:.1f} s. " + entry.message
            )
        self._record(entry, file, result, counts=counts, visits=visits)

    def _record(self, entry: FileResult, file: LandedFile, result: VideoLoadResult,
                counts: list[tuple] = (), visits: list[tuple] = ()) -> None:  # fmt: skip
        """Write one file's rows and its ledger row in one transaction; a clip that changed
        while it was counted is rolled back and left for the next run."""
        con = self.con
        now = dt.datetime.now(dt.UTC)
        con.execute("BEGIN TRANSACTION")
        try:
            if counts or visits:
                replaced = self._replace_earlier(entry.path)
                if replaced:
                    entry.message += f"; replaces {replaced} earlier delivery(ies) of this clip"
            insert_rows(con, "video_counts", list(counts), entry.sha256, now)
            insert_rows(con, "video_zone_visits", list(visits), entry.sha256, now)
            if not self.files._unchanged(file):
                con.execute("ROLLBACK")
                log.warning("%s changed while it was read; it loads on the next run", file.relative)
                return
            self.files._write_ledger(entry, file, now)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        result.files.append(entry)

    def _replace_earlier(self, path: str) -> int:
        """A clip delivered again under its name (a resend of a truncated upload) replaces the
        rows of the earlier delivery: the same minutes of the same camera are counted once."""
        earlier = [r[0] for r in self.con.execute(
            "SELECT sha256 FROM ops.ingest_ledger WHERE source = ? AND path = ? AND status IN "
            "('loaded', 'partial')", [SOURCE, path],
        ).fetchall()]  # fmt: skip
        for table in ("video_counts", "video_zone_visits"):
            self.con.execute(
                f"DELETE FROM raw.{table} WHERE source_sha256 IN (SELECT unnest(?::VARCHAR[]))",
                [earlier],
            )
        return len(earlier)
