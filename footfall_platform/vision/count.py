"""Turning tracks into counts: directional line crossings, zone visits, occupancy and dwell.

The turn-back rule: a crossing counts when a person, last seen clearly on one side of the line
(more than `margin` from it), is next seen clearly on the other side. Someone who walks in past
the band and turns back out counts one entry and one exit; someone who comes up to the line and
turns back without getting clear of the band on the other side counts nothing. Every count is
therefore a real passage, and entries minus exits always equals the change in people inside.

A zone visit is a stretch of time a person's reference point stays inside the zone's polygon;
gaps shorter than `ZONE_GAP_SECONDS` (a missed detection, a step on the border) do not end it,
and stretches shorter than the camera's `min_visit_seconds` are passers-by, not visits. A visit
runs from its first frame inside to the end of its last one, so dwell = left - entered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from footfall_platform.vision.config import ScaledCamera
from footfall_platform.vision.geometry import intervals, points_in_polygon
from footfall_platform.vision.track import Track

ZONE_GAP_SECONDS = 1.0
RELINK_SECONDS = 2.0  # a visit picked up by a new track this soon after, at the same spot, goes on


@dataclass(frozen=True)
class Crossing:
    track_no: int
    seconds: float  # from the first frame of the clip
    direction: str  # entry | exit


@dataclass(frozen=True)
class ZoneVisit:
    zone: str
    track_no: int
    entered: float  # seconds from the first frame
    left: float

    @property
    def dwell(self) -> float:
        return self.left - self.entered


def line_crossings(tracks: list[Track], camera: ScaledCamera, fps: float) -> list[Crossing]:
    line = camera.line
    if line is None:
        return []
    out: list[Crossing] = []
    for track in tracks:
        xs, ys = np.asarray(track.xs), np.asarray(track.ys)
        d = line.signed_distance(xs, ys)
        side = np.where(d > camera.margin, 1, np.where(d < -camera.margin, -1, 0))
        last = None  # index of the last point clearly on a side
        for i in np.flatnonzero(side):
            if (
                last is not None
                and side[i] != side[last]
                and line.crossing_within((xs[last], ys[last]), (xs[i], ys[i]), tolerance=0.05)
            ):
                out.append(Crossing(track.number, track.frames[i] / fps,
                                    "entry" if side[i] > 0 else "exit"))  # fmt: skip
            last = i
    return sorted(out, key=lambda c: (c.seconds, c.track_no))


@dataclass
class _Stay:
    first: int  # frames
    last: int
    track_no: int
    start: tuple[float, float]  # where it began and ended, pixels
    end: tuple[float, float]
    born_inside: bool  # the track began inside the zone (not walked in)
    lost_inside: bool  # the track ended inside the zone (not walked out)


def _stays(tracks: list[Track], polygon: np.ndarray, gap: int) -> list[_Stay]:
    """Each track's stretches inside a polygon, bridging short gaps."""
    out = []
    for track in tracks:
        frames = np.asarray(track.frames)
        seen_inside = points_in_polygon(np.asarray(track.xs), np.asarray(track.ys), polygon)
        first = int(frames[0])
        inside = np.zeros(int(frames[-1]) - first + 1, dtype=bool)
        inside[frames - first] = seen_inside
        for a, b in intervals(inside, gap, 1):
            i, j = np.searchsorted(frames, [first + a, first + b])
            out.append(_Stay(first + a, first + b, track.number, (track.xs[i], track.ys[i]),
                             (track.xs[j], track.ys[j]), i == 0, j == frames.size - 1))  # fmt: skip
    return sorted(out, key=lambda s: (s.first, s.track_no))


def zone_visits(tracks: list[Track], camera: ScaledCamera, fps: float) -> list[ZoneVisit]:
    """Visits per zone. A track born inside the zone where, moments before, another track was
    lost inside it (an occlusion broke the track) continues that visit instead of starting one."""
    min_frames = max(1, math.ceil(camera.config.min_visit_seconds * fps))
    gap = int(round(ZONE_GAP_SECONDS * fps))
    relink = RELINK_SECONDS * fps
    out: list[ZoneVisit] = []
    for name, polygon in camera.zones.items():
        visits: list[_Stay] = []
        for stay in _stays(tracks, polygon, gap):
            reach = float(camera.person_width(stay.start[1]))
            earlier = [v for v in visits if stay.born_inside and v.lost_inside
                       and 0 < stay.first - v.last <= relink
                       and math.dist(v.end, stay.start) < reach]  # fmt: skip
            if earlier:
                visit = max(earlier, key=lambda v: v.last)
                visit.last, visit.end, visit.lost_inside = stay.last, stay.end, stay.lost_inside
            else:
                visits.append(stay)
        out += [ZoneVisit(name, v.track_no, v.first / fps, (v.last + 1) / fps)
                for v in visits if v.last - v.first + 1 >= min_frames]  # fmt: skip
    return sorted(out, key=lambda v: (v.entered, v.zone, v.track_no))


def occupancy(visits: list[ZoneVisit], zones: list[str], seconds: float) -> dict[str, list[int]]:
    """People in each zone at each whole second of the clip."""
    times = np.arange(int(math.ceil(seconds)))
    out = {}
    for zone in zones:
        counts = np.zeros(times.size, dtype=int)
        for v in visits:
            if v.zone == zone:
                counts += (times >= v.entered) & (times < v.left)
        out[zone] = counts.tolist()
    return out
