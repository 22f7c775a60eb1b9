"""Following people from frame to frame: predicted positions matched to detections by cost.

Each track predicts where its person will be (constant velocity), and the Hungarian algorithm
(scipy's linear_sum_assignment) pairs predictions with detections at the least total distance.
A pairing farther than a gate (about one person width, more for a fast or unseen person) is no
pairing. A person missed for a few frames (hidden behind someone, a blob merged with a
neighbour's) keeps their track on its prediction until seen again or `max_missed_seconds` pass.
A track counts only once it has been seen in `confirm_frames` frames: noise flickers shorter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from footfall_platform.vision.config import ScaledCamera
from footfall_platform.vision.detect import Detection

NO_MATCH = 1e9
OBLIQUE_DEPTH_WEIGHT = 2.0
BIRTH_SPACING = 0.75  # person widths; people side by side stand at least one width apart


@dataclass
class Track:
    number: int
    x: float
    y: float
    vx: float = 0.0  # pixels per frame
    vy: float = 0.0
    hits: int = 1
    missed: int = 0
    frames: list[int] = field(default_factory=list)  # frames where the person was seen
    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)

    def predicted(self) -> tuple[float, float]:
        return self.x + self.vx, self.y + self.vy

    def see(self, frame: int, d: Detection) -> None:
        gap = frame - self.frames[-1]
        px, py = self.xs[-1], self.ys[-1]
        vx, vy = (d.x - px) / gap, (d.y - py) / gap
        weight = 0.5 if self.hits > 1 else 1.0
        self.vx += weight * (vx - self.vx)
        self.vy += weight * (vy - self.vy)
        self.x, self.y = d.x, d.y
        self.hits += 1
        self.missed = 0
        self.frames.append(frame)
        self.xs.append(d.x)
        self.ys.append(d.y)

    def coast(self) -> None:
        self.x += self.vx
        self.y += self.vy
        self.vx *= 0.9
        self.vy *= 0.9
        self.missed += 1


class Tracker:
    """Multi-object tracking by assignment; keeps every confirmed track for counting."""

    def __init__(self, camera: ScaledCamera, fps: float, *, max_missed_seconds: float = 1.0,
                 confirm_frames: int = 3, gate: float = 0.9) -> None:  # fmt: skip
        self.camera = camera
        self.max_missed = max(2, int(round(max_missed_seconds * fps)))
        self.confirm = confirm_frames
        self.gate = gate
        # Seen from an angle, a step towards or away from the camera moves a person's feet less
        # in the picture than a step across: a jump in y is the less likely one.
        self.depth_weight = OBLIQUE_DEPTH_WEIGHT if camera.oblique else 1.0
        self.active: list[Track] = []
        self.finished: list[Track] = []
        self._next = 1

    def _limit(self, track: Track) -> float:
        person = float(self.camera.person_width(track.y))
        speed = float(np.hypot(track.vx, self.depth_weight * track.vy))
        return self.gate * person * min(2.0, 1.0 + 0.15 * track.missed) + speed

    def step(self, frame: int, detections: list[Detection]) -> None:
        tracks = self.active
        matched_tracks: set[int] = set()
        matched_dets: set[int] = set()
        if tracks and detections:
            pred = np.array([t.predicted() for t in tracks])
            det = np.array([(d.x, d.y) for d in detections])
            cost = np.hypot(pred[:, None, 0] - det[None, :, 0],
                            self.depth_weight * (pred[:, None, 1] - det[None, :, 1]))  # fmt: skip
            limits = np.array([self._limit(t) for t in tracks])
            gated = np.where(cost <= limits[:, None], cost, NO_MATCH)
            rows, cols = linear_sum_assignment(gated)
            for r, c in zip(rows, cols, strict=True):
                if gated[r, c] < NO_MATCH:
                    tracks[r].see(frame, detections[c])
                    matched_tracks.add(r)
                    matched_dets.add(c)
        survivors = []
        for i, track in enumerate(tracks):
            if i not in matched_tracks:
                track.coast()
                tentative = track.hits < self.confirm
                if track.missed > self.max_missed or tentative:
                    self._end(track)
                    continue
            survivors.append(track)
        seen = [t for t in survivors if t.missed == 0 and t.hits >= self.confirm]
        for j, d in enumerate(detections):
            if j not in matched_dets and not self._beside(d, seen):
                survivors.append(Track(self._next, d.x, d.y, frames=[frame], xs=[d.x], ys=[d.y]))
                self._next += 1
        self.active = survivors

    def _beside(self, d: Detection, seen: list[Track]) -> bool:
        """Whether a detection sits on a person already followed (a fragment of them, or half of
        a blob cut in two): closer than people can stand side by side, it starts no track."""
        reach = BIRTH_SPACING * float(self.camera.person_width(d.y))
        return any(np.hypot(t.x - d.x, self.depth_weight * (t.y - d.y)) < reach for t in seen)

    def _end(self, track: Track) -> None:
        if track.hits >= self.confirm:
            self.finished.append(track)

    def lose_all(self) -> None:
        """The scene changed under every track (camera moved): end them where they were last seen."""
        for track in self.active:
            self._end(track)
        self.active = []

    def close(self) -> list[Track]:
        """Every confirmed track, numbered 1.. in order of first sighting (anonymous)."""
        self.lose_all()
        tracks = sorted(self.finished, key=lambda t: (t.frames[0], t.number))
        for number, track in enumerate(tracks, start=1):
            track.number = number
        return tracks

    def in_view(self) -> int:
        return sum(t.hits >= self.confirm and t.missed == 0 for t in self.active)
