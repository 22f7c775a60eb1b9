"""One clip in, counts out; and many clips at once, one per core.

Frames are read with OpenCV's FFmpeg backend, downscaled to the camera's working width before
anything else touches them (in colour: MOG2 tells a shadow from dark clothes by it), and dropped
as soon as they are counted: the result holds counts and anonymous tracks only. Clips faster
than `analysis_fps` are decoded in full but analysed every n-th frame. A clip that cannot be decoded raises `ClipUnreadable`
with the reason; a clip that stops early is counted up to the last decodable frame and flagged
truncated.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np

from footfall_platform.vision.config import CameraConfig
from footfall_platform.vision.count import (
    Crossing,
    ZoneVisit,
    line_crossings,
    occupancy,
    zone_visits,
)
from footfall_platform.vision.detect import BackgroundModel, BlobFinder, DetectorSettings
from footfall_platform.vision.track import Tracker

# FFmpeg's own messages about a broken file go to stderr in a form no one can act on; the
# reason is reported by ClipUnreadable or the truncated flag instead. Read at the first open.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

MAX_FPS = 240.0
TRUNCATION_SLACK = 2  # frames a container's announced count may be off by


class ClipUnreadable(Exception):
    """The clip has no decodable frame: the message says why."""


@dataclass
class ClipResult:
    path: str
    fps: float
    frames_read: int
    frames_expected: int  # as announced by the container; 0 when it does not say
    width: int  # of the clip
    height: int
    working_width: int
    frames_analysed: int = 0
    crossings: list[Crossing] = field(default_factory=list)
    visits: list[ZoneVisit] = field(default_factory=list)
    occupancy: dict[str, list[int]] = field(default_factory=dict)  # per zone, per second
    max_in_view: int = 0
    tracks: int = 0
    scene_resets: int = 0
    processing_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        return self.frames_read / self.fps

    @property
    def truncated(self) -> bool:
        return self.frames_expected > self.frames_read + TRUNCATION_SLACK

    @property
    def entries(self) -> int:
        return sum(c.direction == "entry" for c in self.crossings)

    @property
    def exits(self) -> int:
        return sum(c.direction == "exit" for c in self.crossings)

    @property
    def max_occupancy(self) -> dict[str, int]:
        return {zone: max(counts, default=0) for zone, counts in self.occupancy.items()}

    @property
    def processing_fps(self) -> float:
        return self.frames_read / self.processing_seconds if self.processing_seconds else 0.0

    def summary(self) -> dict:
        """Plain data for JSON and logs (no frames, no pixels: positions are not kept)."""
        return {
            "path": self.path, "fps": round(self.fps, 3), "frames_read": self.frames_read,
            "frames_expected": self.frames_expected, "frames_analysed": self.frames_analysed,
            "truncated": self.truncated,
            "seconds": round(self.seconds, 3), "width": self.width, "height": self.height,
            "working_width": self.working_width, "entries": self.entries, "exits": self.exits,
            "max_in_view": self.max_in_view, "max_occupancy": self.max_occupancy,
            "tracks": self.tracks, "scene_resets": self.scene_resets,
            "crossings": [{"track_no": c.track_no, "seconds": round(c.seconds, 3),
                           "direction": c.direction} for c in self.crossings],
            "zone_visits": [{"zone": v.zone, "track_no": v.track_no,
                             "entered": round(v.entered, 3), "left": round(v.left, 3),
                             "dwell_seconds": round(v.dwell, 3)} for v in self.visits],
            "processing_seconds": round(self.processing_seconds, 3),
            "processing_fps": round(self.processing_fps, 1),
        }  # fmt: skip


CONTAINERS = {b"RIFF": "AVI", b"\x1a\x45\xdf\xa3": "Matroska"}


def container_of(path: Path) -> str | None:
    """What the first bytes say the file is: MP4, AVI, Matroska, or None (not a video)."""
    with Path(path).open("rb") as handle:
        head = handle.read(16)
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide"):
        return "MP4"
    if head[:4] == b"RIFF" and head[8:12] != b"AVI ":
        return None
    return CONTAINERS.get(head[:4])


def _unreadable(path: Path) -> ClipUnreadable:
    size = path.stat().st_size
    if size == 0:
        return ClipUnreadable("empty file (0 bytes)")
    kind = container_of(path)
    if kind is None:
        return ClipUnreadable("not a video: the content is not MP4, AVI or Matroska")
    if kind == "MP4":
        return ClipUnreadable(
            "MP4 without a readable index (moov atom): a clip cut short in transfer, or with no "
            "frames; nothing is decodable, send it again"
        )
    return ClipUnreadable(f"{kind} file with no decodable frame")


def open_clip(path: Path) -> tuple[cv2.VideoCapture, float, int]:
    """An open capture, its frame rate and announced frame count; ClipUnreadable if none."""
    path = Path(path)
    if not path.is_file():
        raise ClipUnreadable(f"no such file: {path}")
    if container_of(path) is None:
        raise _unreadable(path)
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        raise _unreadable(path)
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    if not 0.5 <= fps <= MAX_FPS:
        capture.release()
        raise ClipUnreadable(f"frame rate {fps:g} is not usable (expected 0.5 to {MAX_FPS:g})")
    expected = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
    return capture, fps, expected


DEFAULT_SETTINGS = DetectorSettings()


def count_clip(path: Path, camera: CameraConfig,
               settings: DetectorSettings = DEFAULT_SETTINGS) -> ClipResult:  # fmt: skip
    """Count one clip. Raises ClipUnreadable when not a single frame decodes."""
    started = time.perf_counter()
    capture, fps, expected = open_clip(path)
    try:
        ok, frame = capture.read()
        if not ok:
            raise _unreadable(Path(path))
        height, width = frame.shape[:2]
        work_w = min(camera.working_width, width)
        work_h = max(1, int(round(height * work_w / width)))
        scaled = camera.scaled(work_w, work_h)
        step = max(1, int(round(fps / settings.analysis_fps)))  # analyse every step-th frame
        rate = fps / step
        background = BackgroundModel(rate, settings)
        finder = BlobFinder(scaled)
        tracker = Tracker(scaled, rate)
        small = np.empty((work_h, work_w, 3), dtype=np.uint8)
        frames, analysed, max_in_view = 1, 0, 0
        while ok:
            if work_w != width:
                cv2.resize(frame, (work_w, work_h), dst=small, interpolation=cv2.INTER_AREA)
            else:
                small = frame
            mask = background.apply(small)
            if mask is None:
                if background.learned == 0:  # the scene changed: every track is lost
                    tracker.lose_all()
            else:
                tracker.step(analysed, finder.find(mask))
                max_in_view = max(max_in_view, tracker.in_view())
            analysed += 1
            for _ in range(step - 1):  # decoded (the stream needs it), not analysed
                if not capture.grab():
                    ok = False
                    break
                frames += 1
            if ok:
                ok, frame = capture.read(frame)
                frames += ok
    finally:
        capture.release()
    tracks = tracker.close()
    result = ClipResult(
        path=str(path), fps=fps, frames_read=frames, frames_expected=expected, width=width,
        height=height, working_width=work_w, frames_analysed=analysed,
        crossings=line_crossings(tracks, scaled, rate), visits=zone_visits(tracks, scaled, rate),
        max_in_view=max_in_view, tracks=len(tracks), scene_resets=background.resets,
    )  # fmt: skip
    result.occupancy = occupancy(result.visits, list(scaled.zones), result.seconds)
    result.processing_seconds = time.perf_counter() - started
    return result


# -- many clips ---------------------------------------------------------------------------------
def _single_threaded() -> None:
    cv2.setNumThreads(1)  # one clip per process: parallelism comes from the pool


def _count_or_error(job: tuple[Path, CameraConfig]) -> ClipResult | ClipUnreadable:
    try:
        return count_clip(*job)
    except ClipUnreadable as error:
        return error


def count_clips(jobs: list[tuple[Path, CameraConfig]],
                workers: int | None = None) -> list[ClipResult | ClipUnreadable]:  # fmt: skip
    """Count several clips in parallel, one process per core; results in the order of `jobs`.

    Processes are spawned, not forked: forking a process that already runs OpenCV or Dagster
    threads can deadlock.
    """
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    if workers == 1:
        return [_count_or_error(job) for job in jobs]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                             initializer=_single_threaded) as pool:  # fmt: skip
        return list(pool.map(_count_or_error, jobs))
