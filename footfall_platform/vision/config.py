"""Per-camera configuration (`video/cameras.yaml`) and the clip naming contract.

Geometry is given in normalised image coordinates (0..1, x to the right, y down) so that one
configuration serves a camera whatever resolution it records at and whatever working width the
counter downscales to; `CameraConfig.scaled` turns it into pixels once per clip.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import yaml

from footfall_platform.vision.geometry import Line, inside_sign

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv")
CAMERAS_FILE = "cameras.yaml"
CLIP_PATTERN = "<store_id>/<camera_id>/<YYYYMMDDTHHMMSS>.<mp4|avi|mkv>"
_CLIP_TIME = re.compile(r"^(\d{8}T\d{6})$")
VIEWS = ("top_down", "oblique")


class CameraConfigError(ValueError):
    """cameras.yaml is unusable, or names no camera for a clip: the message says what to fix."""


class ClipNameError(ValueError):
    """A clip path that does not follow the naming contract."""


@dataclass(frozen=True)
class LineSpec:
    start: tuple[float, float]
    end: tuple[float, float]
    inside: str  # above | below | left | right
    margin: float = 0.03  # hysteresis band either side of the line, as a fraction of frame width


@dataclass(frozen=True)
class CameraConfig:
    """One camera: where it counts and how big a person looks in its picture."""

    store_id: str
    camera_id: str
    view: str = "top_down"
    line: LineSpec | None = None
    zones: dict[str, np.ndarray] = field(default_factory=dict)  # name -> k x 2, normalised
    working_width: int = 320
    person_size: tuple[float, float] = (0.11, 0.11)  # shoulder width / frame width: top, bottom
    min_person_size: float = 0.5  # blobs narrower than this fraction of a person are noise
    min_visit_seconds: float = 3.0  # shorter stays in a zone are passers-by, not visits

    @property
    def key(self) -> str:
        return f"{self.store_id}/{self.camera_id}"

    def scaled(self, width: int, height: int) -> ScaledCamera:
        line = None
        if self.line is not None:
            a = (self.line.start[0] * width, self.line.start[1] * height)
            b = (self.line.end[0] * width, self.line.end[1] * height)
            line = Line(a, b, inside_sign(self.line.start, self.line.end, self.line.inside))
        zones = {n: p * np.array([width, height], dtype=float) for n, p in self.zones.items()}
        far, near = self.person_size
        return ScaledCamera(
            config=self, width=width, height=height, line=line,
            margin=(self.line.margin if self.line else 0.0) * width, zones=zones,
            person_far=far * width, person_near=near * width,
        )  # fmt: skip


@dataclass(frozen=True)
class ScaledCamera:
    """A camera's geometry in the pixels of the working frame."""

    config: CameraConfig
    width: int
    height: int
    line: Line | None
    margin: float
    zones: dict[str, np.ndarray]
    person_far: float
    person_near: float

    def person_width(self, y: float | np.ndarray) -> float | np.ndarray:
        """Expected shoulder width in pixels at image row y (perspective: linear in y)."""
        return self.person_far + (self.person_near - self.person_far) * np.clip(
            np.asarray(y) / self.height, 0.0, 1.0
        )

    @property
    def oblique(self) -> bool:
        return self.config.view == "oblique"


# -- parsing ------------------------------------------------------------------------------------
def _point(value: object, where: str) -> tuple[float, float]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise CameraConfigError(f"{where}: expected a point [x, y], got {value!r}")
    x, y = float(value[0]), float(value[1])
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise CameraConfigError(
            f"{where}: coordinates are fractions of the frame, 0..1; got {value!r}"
        )
    return x, y


def _number(entry: dict, name: str, where: str, default: float, low: float, high: float) -> float:
    value = entry.get(name, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        raise CameraConfigError(
            f"{where}: {name} must be a number from {low} to {high}, got {value!r}"
        )
    return float(value)


def _line(value: object, where: str) -> LineSpec:
    if not isinstance(value, dict) or not {"from", "to", "inside"} <= set(value):
        raise CameraConfigError(f"{where}: line needs from: [x, y], to: [x, y] and inside")
    a, b = _point(value["from"], f"{where}: line.from"), _point(value["to"], f"{where}: line.to")
    if a == b:
        raise CameraConfigError(f"{where}: line.from and line.to are the same point")
    try:
        inside_sign(a, b, str(value["inside"]))
    except ValueError as error:
        raise CameraConfigError(f"{where}: line.{error}") from error
    margin = _number(value, "margin", f"{where}: line", 0.03, 0.0, 0.25)
    return LineSpec(a, b, str(value["inside"]), margin)


def _zones(value: object, where: str) -> dict[str, np.ndarray]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise CameraConfigError(f"{where}: zones must be a list of {{name, polygon}}")
    zones: dict[str, np.ndarray] = {}
    for i, zone in enumerate(value):
        if not isinstance(zone, dict) or "name" not in zone or "polygon" not in zone:
            raise CameraConfigError(f"{where}: zone {i + 1} needs a name and a polygon")
        name = str(zone["name"]).strip()
        if not name or name in zones:
            raise CameraConfigError(f"{where}: zone names must be present and distinct ({name!r})")
        corners = zone["polygon"]
        if not isinstance(corners, list) or len(corners) < 3:
            raise CameraConfigError(f"{where}: zone {name}: a polygon needs at least 3 points")
        zones[name] = np.array([_point(p, f"{where}: zone {name}") for p in corners], dtype=float)
    return zones


def _person_size(value: object, where: str) -> tuple[float, float]:
    sizes = value if isinstance(value, list | tuple) else [value, value]
    if len(sizes) != 2 or not all(
        isinstance(s, int | float) and not isinstance(s, bool) and 0.01 <= s <= 0.8 for s in sizes
    ):
        raise CameraConfigError(
            f"{where}: person_size is a fraction of the frame width (0.01..0.8), or "
            f"[at the top, at the bottom] for an oblique view; got {value!r}"
        )
    return float(sizes[0]), float(sizes[1])


def camera_from_dict(entry: object, where: str = "camera") -> CameraConfig:
    """One camera entry of cameras.yaml (also what the CLI builds from its options)."""
    if not isinstance(entry, dict):
        raise CameraConfigError(f"{where}: expected a mapping, got {type(entry).__name__}")
    store_id = str(entry.get("store_id") or "").strip().upper()
    camera_id = str(entry.get("camera_id") or "").strip()
    if not store_id or not camera_id:
        raise CameraConfigError(f"{where}: store_id and camera_id are required")
    where = f"camera {store_id}/{camera_id}"
    view = str(entry.get("view", "top_down"))
    if view not in VIEWS:
        raise CameraConfigError(f"{where}: view must be one of {', '.join(VIEWS)}, got {view!r}")
    line = _line(entry["line"], where) if entry.get("line") is not None else None
    zones = _zones(entry.get("zones"), where)
    if line is None and not zones:
        raise CameraConfigError(f"{where}: give a counting line, zones, or both")
    size = _person_size(entry.get("person_size", 0.11), where)
    return CameraConfig(
        store_id=store_id, camera_id=camera_id, view=view, line=line, zones=zones,
        working_width=int(_number(entry, "working_width", where, 320, 96, 1920)),
        person_size=size,
        min_person_size=_number(entry, "min_person_size", where, 0.5, 0.1, 1.0),
        min_visit_seconds=_number(entry, "min_visit_seconds", where, 3.0, 0.0, 3600.0),
    )  # fmt: skip


def load_cameras(path: Path) -> dict[str, CameraConfig]:
    """Every camera of a cameras.yaml, keyed 'STORE/camera'."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise CameraConfigError(f"{path.name}: not readable YAML: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("cameras"), list):
        raise CameraConfigError(f"{path.name}: expected a top-level 'cameras:' list")
    cameras: dict[str, CameraConfig] = {}
    for i, entry in enumerate(document["cameras"]):
        camera = camera_from_dict(entry, f"{path.name}: camera {i + 1}")
        if camera.key in cameras:
            raise CameraConfigError(f"{path.name}: camera {camera.key} is described twice")
        cameras[camera.key] = camera
    return cameras


def camera_for(cameras: dict[str, CameraConfig], store_id: str, camera_id: str) -> CameraConfig:
    """The camera of a clip, or an error naming it and the cameras that are described."""
    key = f"{store_id.upper()}/{camera_id}"
    if key not in cameras:
        known = ", ".join(sorted(cameras)) or "none"
        raise CameraConfigError(
            f"camera {key} is not in {CAMERAS_FILE} (described: {known}); add it with its "
            "store_id, camera_id, line and/or zones"
        )
    return cameras[key]


# -- clip names ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClipName:
    store_id: str
    camera_id: str
    start: dt.datetime  # time of the first frame, store-local (naive)


def clip_start(name: str) -> dt.datetime:
    """The time of the first frame from a clip's file name (YYYYMMDDTHHMMSS.ext)."""
    stem = PurePosixPath(name).name.rsplit(".", 1)[0]
    if _CLIP_TIME.match(stem):
        try:
            return dt.datetime.strptime(stem, "%Y%m%dT%H%M%S")
        except ValueError:
            pass
    raise ClipNameError(
        f"file name {PurePosixPath(name).name!r} has no parseable time: name clips "
        f"video/{CLIP_PATTERN} with the store-local time of the first frame, "
        "e.g. video/S001/door/20250601T091500.mp4"
    )


def parse_clip_path(relative: str) -> ClipName:
    """Store, camera and start time from `video/<store>/<camera>/<time>.<ext>`."""
    parts = PurePosixPath(relative).parts
    if parts and parts[0] == "video":
        parts = parts[1:]
    if len(parts) != 3:
        raise ClipNameError(f"{relative}: expected video/{CLIP_PATTERN}")
    if not parts[2].lower().endswith(VIDEO_SUFFIXES):
        raise ClipNameError(
            f"{relative}: unsupported file type: send {', '.join(VIDEO_SUFFIXES)} ({CLIP_PATTERN})"
        )
    return ClipName(parts[0].strip().upper(), parts[1].strip(), clip_start(parts[2]))


def camera_to_dict(camera: CameraConfig) -> dict:
    """The cameras.yaml entry of a camera (what camera_from_dict reads back)."""
    entry: dict = {"store_id": camera.store_id, "camera_id": camera.camera_id, "view": camera.view}
    if camera.line is not None:
        line = camera.line
        entry["line"] = {"from": list(line.start), "to": list(line.end), "inside": line.inside,
                         "margin": line.margin}  # fmt: skip
    if camera.zones:
        entry["zones"] = [{"name": name, "polygon": [[round(float(x), 4), round(float(y), 4)]
                                                       for x, y in polygon]}
                          for name, polygon in camera.zones.items()]  # fmt: skip
    far, near = camera.person_size
    entry["person_size"] = far if far == near else [far, near]
    entry.update(working_width=camera.working_width, min_person_size=camera.min_person_size,
                 min_visit_seconds=camera.min_visit_seconds)  # fmt: skip
    return entry


def write_cameras(path: Path, cameras: list[CameraConfig]) -> None:
    """Write a cameras.yaml describing `cameras`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump({"cameras": [camera_to_dict(c) for c in cameras]}, sort_keys=False,
                          default_flow_style=None)  # fmt: skip
    path.write_text(CAMERAS_HEADER + text, encoding="utf-8")


CAMERAS_HEADER = """\
# Cameras whose clips Footfall counts (docs/landing-zone.md, docs/vision.md).
# Coordinates are fractions of the picture: x from the left, y from the top (0..1).
"""
