"""Lines and polygons in image coordinates, shared by the counter and the renderer's truth.

The renderer's ground truth and the counter must agree on what "crossed the line" and "inside
the zone" mean, or accuracy would measure a disagreement about geometry instead of vision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Point = tuple[float, float]


@dataclass(frozen=True)
class Line:
    """A directed counting segment in pixels; `inside` is +1 or -1: the sign of the store side."""

    a: Point
    b: Point
    inside: int

    def signed_distance(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        """Distance from the line in pixels, positive on the inside."""
        (ax, ay), (bx, by) = self.a, self.b
        dx, dy = bx - ax, by - ay
        cross = dx * (np.asarray(y) - ay) - dy * (np.asarray(x) - ax)
        return self.inside * cross / float(np.hypot(dx, dy))

    def crossing_within(self, p: Point, q: Point, tolerance: float = 0.02) -> bool:
        """Whether the step p -> q meets the line between its end points (not beside it)."""
        dp = float(self.signed_distance(*p))
        dq = float(self.signed_distance(*q))
        if dp == dq:
            return False
        s = dp / (dp - dq)
        x, y = p[0] + s * (q[0] - p[0]), p[1] + s * (q[1] - p[1])
        (ax, ay), (bx, by) = self.a, self.b
        dx, dy = bx - ax, by - ay
        t = ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)
        return -tolerance <= t <= 1 + tolerance


def inside_sign(a: Point, b: Point, side: str) -> int:
    """+1 or -1: which sign of the a->b cross product `side` (above/below/left/right) names.

    Image y grows downwards, so "above" is the smaller y. A side that is along the line (left of
    a horizontal line) is ambiguous and refused.
    """
    probe = {"above": (0.0, -1.0), "below": (0.0, 1.0), "left": (-1.0, 0.0), "right": (1.0, 0.0)}
    if side not in probe:
        raise ValueError(f"inside must be one of above, below, left, right; got {side!r}")
    dx, dy = b[0] - a[0], b[1] - a[1]
    px, py = probe[side]
    cross = dx * py - dy * px
    if abs(cross) < 0.3 * float(np.hypot(dx, dy)):
        raise ValueError(
            f"inside: {side} is ambiguous for a line from {a} to {b}: name a side across the line"
        )
    return 1 if cross > 0 else -1


def points_in_polygon(x: np.ndarray, y: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd rule, vectorised over points: True where (x, y) is inside `polygon` (k x 2)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    inside = np.zeros(np.broadcast(x, y).shape, dtype=bool)
    px, py = polygon[:, 0], polygon[:, 1]
    for i in range(len(polygon)):
        x1, y1, x2, y2 = px[i - 1], py[i - 1], px[i], py[i]
        if y1 == y2:
            continue
        straddles = (y1 > y) != (y2 > y)
        at_x = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= straddles & (x < at_x)
    return inside


def intervals(mask: np.ndarray, max_gap: int, min_length: int) -> list[tuple[int, int]]:
    """Runs of True as (first, last) indices, bridging gaps of up to `max_gap` False values and
    dropping runs shorter than `min_length` (last - first + 1)."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > max_gap + 1)
    starts = np.r_[idx[0], idx[breaks + 1]]
    ends = np.r_[idx[breaks], idx[-1]]
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True) if e - s + 1 >= min_length]
