"""Synthetic scenes with exact ground truth: who walks where, when, and what that should count.

A scene is people moving along piecewise-linear paths over a floor seen by one camera, plus the
nuisances a real camera adds (sensor noise, lighting drift, a sudden light change, a camera that
is knocked). The truth is computed from the exact paths at the frame times with the same
geometry the counter uses (geometry.py), so the two can only disagree about vision.

Coordinates are normalised: x as a fraction of the frame width, y of its height. The reference
point of a person is the centre of the body seen from above (top-down) or the feet (oblique),
which is the point the counter tracks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from footfall_platform.vision.config import CameraConfig
from footfall_platform.vision.geometry import intervals, points_in_polygon

HEIGHT_TO_WIDTH = 2.6  # oblique figures: height over shoulder width


@dataclass(frozen=True)
class Figure:
    """One person: a path in time, a size and the colours of their clothes."""

    number: int
    kind: str  # entry, exit, pair, turn_back, retreat, stand, pass
    keys: np.ndarray  # (k, 3): t seconds, x, y; the person exists from keys[0, 0] to keys[-1, 0]
    scale: float  # shoulder width relative to the camera's person size at that spot
    body: tuple[int, int, int]
    stripe: tuple[int, int, int]
    head: tuple[int, int, int]
    stripe_period: float  # stripe period as a fraction of the shoulder width

    def position(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = np.asarray(t, dtype=float)
        present = (t >= self.keys[0, 0]) & (t <= self.keys[-1, 0])
        x = np.interp(t, self.keys[:, 0], self.keys[:, 1])
        y = np.interp(t, self.keys[:, 0], self.keys[:, 2])
        return x, y, present


@dataclass(frozen=True)
class Effects:
    noise: float = 4.0  # sensor noise, standard deviation in grey levels
    drift: float = 0.06  # slow lighting drift, relative amplitude over the clip
    light_jump: tuple[float, float] | None = None  # (t, gain factor from then on)
    camera_move: tuple[float, float, float] | None = None  # (t, dx, dy) as fractions of the frame


@dataclass(frozen=True)
class Scene:
    camera: CameraConfig
    width: int
    height: int
    fps: float
    seconds: float
    figures: tuple[Figure, ...]
    effects: Effects = field(default_factory=Effects)
    seed: int = 0

    @property
    def frames(self) -> int:
        return int(round(self.seconds * self.fps))

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.frames) / self.fps

    def offset(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How far the view has moved (normalised) at each time: the camera move, if any."""
        t = np.asarray(t, dtype=float)
        if self.effects.camera_move is None:
            return np.zeros_like(t), np.zeros_like(t)
        at, dx, dy = self.effects.camera_move
        moved = t >= at
        return np.where(moved, dx, 0.0), np.where(moved, dy, 0.0)

    def image_positions(self, figure: Figure) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel positions of a figure in the picture at every frame, and whether it exists."""
        t = self.times
        x, y, present = figure.position(t)
        ox, oy = self.offset(t)
        return (x - ox) * self.width, (y - oy) * self.height, present

    def truth(self) -> dict:
        """Line crossings and zone visits each person makes, by the documented rules."""
        cam = self.camera.scaled(self.width, self.height)
        crossings: list[dict] = []
        visits: list[dict] = []
        min_frames = max(1, math.ceil(self.camera.min_visit_seconds * self.fps))
        for fig in self.figures:
            x, y, present = self.image_positions(fig)
            frames = np.flatnonzero(present)
            if cam.line is not None and frames.size > 1:
                d = cam.line.signed_distance(x[frames], y[frames])
                for i in np.flatnonzero(np.sign(d[1:]) * np.sign(d[:-1]) < 0):
                    p = (x[frames[i]], y[frames[i]])
                    q = (x[frames[i + 1]], y[frames[i + 1]])
                    if cam.line.crossing_within(p, q):
                        crossings.append({
                            "person": fig.number, "t": round(frames[i + 1] / self.fps, 3),
                            "direction": "entry" if d[i + 1] > 0 else "exit",
                        })  # fmt: skip
            for name, polygon in cam.zones.items():
                inside = present & points_in_polygon(x, y, polygon)
                for first, last in intervals(inside, 0, min_frames):
                    visits.append({
                        "person": fig.number, "zone": name,
                        "entered": round(first / self.fps, 3),
                        "left": round((last + 1) / self.fps, 3),
                        "dwell": round((last + 1 - first) / self.fps, 3),
                    })  # fmt: skip
        return {
            "store_id": self.camera.store_id,
            "camera_id": self.camera.camera_id,
            "view": self.camera.view,
            "width": self.width, "height": self.height, "fps": self.fps,
            "frames": self.frames, "seconds": self.seconds,
            "entries": sum(c["direction"] == "entry" for c in crossings),
            "exits": sum(c["direction"] == "exit" for c in crossings),
            "crossings": sorted(crossings, key=lambda c: c["t"]),
            "visits": sorted(visits, key=lambda v: v["entered"]),
            "effects": {
                "noise": self.effects.noise, "drift": self.effects.drift,
                "light_jump": self.effects.light_jump, "camera_move": self.effects.camera_move,
            },
            "people": [
                {"person": f.number, "kind": f.kind, "scale": round(f.scale, 3),
                 "path": [[round(float(v), 4) for v in row] for row in f.keys]}
                for f in self.figures
            ],
        }  # fmt: skip


def shoulder_width(camera: CameraConfig, y: np.ndarray | float, scale: float) -> np.ndarray:
    """A person's shoulder width as a fraction of the frame width where their feet are at y."""
    far, near = camera.person_size
    return scale * (far + (near - far) * np.clip(np.asarray(y, dtype=float), 0.0, 1.0))
