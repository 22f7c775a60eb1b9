"""Casting people into scenes: door traffic seen from above, shop floor seen from an angle.

Each scenario mixes the situations a counter gets wrong: people alone, pairs side by side whose
blobs merge, people passing each other, people who cross the line and turn back, people who come
close to the line and turn back without crossing, and people standing in a zone for 10-30 s.
People never walk through each other; on the shop floor a passer-by may hide a standing person
for a moment (an occlusion).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from footfall_platform.vision.config import CameraConfig, LineSpec
from footfall_platform.vision.scene import HEIGHT_TO_WIDTH, Effects, Figure, Scene, shoulder_width

FLOOR_GREY = 128.0  # mean grey of the rendered floor (render.py draws it)
Keys = list[tuple[float, float, float]]


def door_camera(store_id: str = "S001", camera_id: str = "door") -> CameraConfig:
    """A top-down camera over a door: the street at the top of the picture, the store below."""
    return CameraConfig(
        store_id=store_id, camera_id=camera_id, view="top_down",
        line=LineSpec((0.0, 0.5), (1.0, 0.5), "below"), person_size=(0.11, 0.11),
    )  # fmt: skip


def floor_camera(store_id: str = "S001", camera_id: str = "floor") -> CameraConfig:
    """An oblique camera over the shop floor: an aisle line and two zones."""
    return CameraConfig(
        store_id=store_id, camera_id=camera_id, view="oblique",
        line=LineSpec((0.36, 0.42), (0.6, 0.42), "below"),
        zones={
            "fixture": np.array([[0.03, 0.5], [0.33, 0.5], [0.33, 0.82], [0.03, 0.82]]),
            "checkout_queue": np.array([[0.63, 0.55], [0.97, 0.55], [0.97, 0.9], [0.63, 0.9]]),
        },
        person_size=(0.05, 0.095),
    )  # fmt: skip


class Cast:
    """The people of one scene, added group by group so nobody walks through anybody."""

    def __init__(self, rng: np.random.Generator, camera: CameraConfig, width: int, height: int,
                 fps: float, max_overlap: float = 0.0) -> None:  # fmt: skip
        self.rng = rng
        self.camera = camera
        self.aspect = width / height
        self.fps = fps
        self.max_overlap = max_overlap  # seconds two people may overlap in the picture
        self.figures: list[Figure] = []

    def person(self, kind: str, keys: Keys, scale: float | None = None) -> Figure:
        rng = self.rng
        body, stripe, head = clothes(rng, FLOOR_GREY)
        return Figure(
            number=0, kind=kind, keys=np.array(keys, dtype=float),
            scale=float(rng.uniform(0.88, 1.12)) if scale is None else scale,
            body=body, stripe=stripe, head=head, stripe_period=float(rng.uniform(0.25, 0.5)),
        )  # fmt: skip

    def walk(self, t0: float, speed: float, *stops: tuple[float, float, float]) -> Keys:
        """Keyframes through (x, y, pause seconds) stops at `speed` frame widths a second."""
        x, y, pause = stops[0]
        keys: Keys = [(t0, x, y)]
        t = t0 + pause
        if pause:
            keys.append((t, x, y))
        for nx, ny, pause in stops[1:]:
            t += math.hypot(nx - x, (ny - y) / self.aspect) / speed
            keys.append((t, nx, ny))
            if pause:
                t += pause
                keys.append((t, nx, ny))
            x, y = nx, ny
        return keys

    def _boxes(self, figure: Figure, t: np.ndarray) -> tuple[np.ndarray, ...]:
        x, y, present = figure.position(t)
        w = shoulder_width(self.camera, y, figure.scale)
        if self.camera.view == "oblique":
            h = w * HEIGHT_TO_WIDTH * self.aspect
            return x - w / 2, x + w / 2, y - h, y, present
        h = w * self.aspect
        return x - w / 2, x + w / 2, y - h / 2, y + h / 2, present

    def fits(self, group: list[Figure], spacing: float = 0.1) -> bool:
        """Whether `group` overlaps nobody already cast (for longer than max_overlap)."""
        for new in group:
            t = np.arange(new.keys[0, 0], new.keys[-1, 0] + 1e-9, 1.0 / self.fps)
            nx0, nx1, ny0, ny1, _ = self._boxes(new, t)
            pad = spacing * (nx1 - nx0)
            for old in self.figures:
                ox0, ox1, oy0, oy1, present = self._boxes(old, t)
                hit = present & (nx0 - pad < ox1) & (ox0 < nx1 + pad) & (ny0 < oy1) & (oy0 < ny1)
                # A passer may hide someone for a moment; two people standing never overlap.
                limit = 0.0 if new.kind == old.kind == "stand" else self.max_overlap
                if hit.sum() / self.fps > limit:
                    return False
        return True

    def add(self, group: list[Figure]) -> None:
        for figure in group:
            self.figures.append(replace(figure, number=len(self.figures) + 1))

    def place(self, make: Callable[[float], list[Figure]], t: float, end: float,
              tries: int = 25) -> float | None:  # fmt: skip
        """Cast the group `make(t)` draws at the first time from t where it fits; its end time."""
        while t < end:
            for _ in range(tries):
                group = make(t)
                finish = max(f.keys[-1, 0] for f in group)
                if finish <= end and self.fits(group):
                    self.add(group)
                    return finish
            t += 0.4
        return None


def _grey(bgr: tuple[int, int, int]) -> float:
    b, g, r = bgr
    return 0.114 * b + 0.587 * g + 0.299 * r


def clothes(rng: np.random.Generator, floor_grey: float) -> tuple[tuple[int, int, int], ...]:
    """Body, stripe and head colours; body or stripe stands out from the floor, as most clothes
    do somewhere (a person exactly the colour of the floor is invisible to any camera)."""
    while True:
        body = tuple(int(v) for v in rng.integers(15, 240, 3))
        stripe = tuple(int(v) for v in rng.integers(15, 240, 3))
        if abs(_grey(body) - _grey(stripe)) < 45:
            continue
        if max(abs(_grey(body) - floor_grey), abs(_grey(stripe) - floor_grey)) >= 45:
            dark = rng.random() < 0.7
            head = tuple(int(v) for v in rng.integers(*((10, 70) if dark else (150, 230)), 3))
            return body, stripe, head  # type: ignore[return-value]


# -- the door, seen from above ------------------------------------------------------------------
DOOR_KINDS = ("entry", "exit", "pair", "passing", "turn_back", "retreat")
DOOR_WEIGHTS = (0.24, 0.24, 0.16, 0.12, 0.14, 0.10)


def _door_event(cast: Cast, kind: str, t: float) -> list[Figure]:
    rng = cast.rng
    size = cast.camera.person_size[1]
    speed = float(rng.uniform(0.2, 0.42))
    x = float(rng.uniform(0.14, 0.86))
    drift = float(rng.uniform(-0.1, 0.1))
    inward = rng.random() < 0.5
    top, bottom = -0.3, 1.3
    start, end = (top, bottom) if inward else (bottom, top)
    toward = 1.0 if inward else -1.0
    if kind in ("entry", "exit"):
        start, end = (top, bottom) if kind == "entry" else (bottom, top)
        return [cast.person(kind, cast.walk(t, speed, (x, start, 0), (x + drift, end, 0)))]
    if kind == "pair":
        a, b = float(rng.uniform(0.9, 1.1)), float(rng.uniform(0.9, 1.1))
        gap = size * (a + b) / 2 * float(rng.uniform(1.0, 1.2))
        lead = float(rng.uniform(-0.25, 0.25)) * size * cast.aspect * toward
        return [
            cast.person("pair", cast.walk(t, speed, (x - gap / 2, start, 0),
                                          (x - gap / 2 + drift, end, 0)), a),
            cast.person("pair", cast.walk(t, speed, (x + gap / 2, start + lead, 0),
                                          (x + gap / 2 + drift, end + lead, 0)), b),
        ]  # fmt: skip
    if kind == "passing":
        gap = size * float(rng.uniform(1.4, 2.0))
        gap = -gap if x + gap > 0.86 or (x - gap >= 0.14 and rng.random() < 0.5) else gap
        other = float(rng.uniform(0.2, 0.42))
        return [
            cast.person("entry", cast.walk(t, speed, (x, top, 0), (x + drift, bottom, 0))),
            cast.person("exit", cast.walk(t + float(rng.uniform(-0.4, 0.4)), other,
                                          (x + gap, bottom, 0), (x + gap + drift, top, 0))),
        ]  # fmt: skip
    pause = float(rng.uniform(0.2, 1.2))
    if kind == "turn_back":  # crosses well past the line, then goes back out the way it came
        turn = 0.5 + toward * float(rng.uniform(0.16, 0.32))
    else:  # retreat: comes close to the line and turns back without crossing it
        turn = 0.5 - toward * float(rng.uniform(0.13, 0.3))
    return [cast.person(kind, cast.walk(t, speed, (x, start, 0), (x + drift / 2, turn, pause),
                                        (x + drift, start, 0)))]  # fmt: skip


def door_scene(
    seed: int, *, width: int = 384, height: int = 216, fps: float = 12.0, seconds: float = 20.0,
    effects: Effects | None = None, camera: CameraConfig | None = None,
    kinds: tuple[str, ...] = DOOR_KINDS, warm_up: float = 1.5,
) -> Scene:  # fmt: skip
    """People walking in and out under a top-down door camera, one group every 0.5-2.2 s."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 501]))
    camera = camera or door_camera()
    cast = Cast(rng, camera, width, height, fps)
    weights = np.array([DOOR_WEIGHTS[DOOR_KINDS.index(k)] for k in kinds])
    t = warm_up
    while t < seconds - 3.0:
        kind = str(rng.choice(kinds, p=weights / weights.sum()))
        placed = cast.place(lambda t0, k=kind: _door_event(cast, k, t0), t, seconds - 0.2)
        if placed is None:
            break
        t += float(rng.uniform(0.5, 2.2))
    effects = effects or default_effects(rng, seconds)
    return Scene(camera, width, height, fps, seconds, tuple(cast.figures), effects, seed)


def default_effects(rng: np.random.Generator, seconds: float) -> Effects:
    """Noise and drift always; a sudden light change in a third of the clips."""
    jump = None
    if rng.random() < 0.35:
        jump = (float(rng.uniform(0.3, 0.7) * seconds), float(rng.choice([0.75, 1.25])))
    return Effects(noise=float(rng.uniform(2.5, 6.0)), drift=float(rng.uniform(0.03, 0.1)),
                   light_jump=jump)  # fmt: skip


# -- the shop floor, seen from an angle -----------------------------------------------------------
def _stand_event(cast: Cast, zone: str, t: float, stay: float) -> list[Figure]:
    rng = cast.rng
    polygon = cast.camera.zones[zone]
    (x0, y0), (x1, y1) = polygon.min(axis=0), polygon.max(axis=0)
    y = float(rng.uniform(y0 + 0.07, y1 - 0.05))
    x = float(rng.uniform(x0 + 0.07, x1 - 0.07))
    edge = -0.12 if x < 0.5 else 1.12
    speed = float(rng.uniform(0.12, 0.25))
    back = y + float(rng.uniform(-0.04, 0.04))
    return [cast.person("stand", cast.walk(t, speed, (edge, y, 0), (x, y, stay), (edge, back, 0)))]


def _floor_walk(cast: Cast, t: float) -> list[Figure]:
    rng = cast.rng
    speed = float(rng.uniform(0.12, 0.26))
    if rng.random() < 0.65:  # along the aisle, across the line, between the zones
        x = float(rng.uniform(0.42, 0.54))
        top, bottom = 0.12, 1.45
        down = rng.random() < 0.5
        a, b = (top, bottom) if down else (bottom, top)
        drift = float(rng.uniform(-0.04, 0.04))
        kind = "entry" if down else "exit"
        return [cast.person(kind, cast.walk(t, speed, (x, a, 0), (x + drift, b, 0)))]
    y = float(rng.uniform(0.14, 0.3))  # across the back of the shop, far away
    a, b = (-0.1, 1.1) if rng.random() < 0.5 else (1.1, -0.1)
    return [cast.person("pass", cast.walk(t, speed, (a, y, 0), (b, y, 0)))]


def floor_scene(
    seed: int, *, width: int = 384, height: int = 216, fps: float = 10.0, seconds: float = 40.0,
    effects: Effects | None = None, camera: CameraConfig | None = None, standers: int = 3,
    walkers: int = 6, warm_up: float = 1.5, stay: tuple[float, float] = (10.0, 30.0),
) -> Scene:  # fmt: skip
    """Shoppers standing 10-30 s in the zones while others walk the aisle and the back."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 502]))
    camera = camera or floor_camera()
    cast = Cast(rng, camera, width, height, fps, max_overlap=0.8)
    zones = list(camera.zones)
    for i in range(standers):
        zone = zones[i % len(zones)]
        still = float(rng.uniform(*stay))
        start = float(rng.uniform(warm_up, max(warm_up, seconds - still - 12.0)))
        cast.place(lambda t0, z=zone, s=still: _stand_event(cast, z, t0, s), start, seconds - 0.5)
    for _ in range(walkers):
        start = float(rng.uniform(warm_up, max(warm_up, seconds - 9.0)))
        cast.place(lambda t0: _floor_walk(cast, t0), start, seconds - 0.5)
    effects = effects or default_effects(rng, seconds)
    return Scene(camera, width, height, fps, seconds, tuple(cast.figures), effects, seed)
