"""Drawing a scene into a real video file that OpenCV's pip wheel can write (mp4v or MJPG).

The picture is drawn on a canvas larger than the frame, so a camera move is a shift of the crop
window, and people are drawn before they enter the frame and after they leave it. Each frame
then gets the lighting of its time (slow drift, a sudden change) and sensor noise. Nothing but
the clip is written, and `render_clip` returns the scene's exact truth.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import cv2
import numpy as np

from footfall_platform.vision.scenarios import FLOOR_GREY
from footfall_platform.vision.scene import HEIGHT_TO_WIDTH, Figure, Scene, shoulder_width

CODECS = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}
NOISE_BANK = 8  # noise frames drawn once and reused in random order: fast and still random


def floor_texture(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A tiled floor with stains and a mat: texture for the background model to learn."""
    tile = max(8, width // 12)
    base = np.full((height, width, 3), FLOOR_GREY, dtype=np.float32)
    yy, xx = np.mgrid[0:height, 0:width]
    checker = ((xx // tile + yy // tile) % 2).astype(np.float32)
    base += (checker * 14.0 - 7.0)[..., None]
    tint = rng.uniform(-12, 12, 3).astype(np.float32)
    base += tint
    small = rng.normal(0.0, 10.0, (max(2, height // 24), max(2, width // 24), 3)).astype(np.float32)
    base += cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    base[::tile, :] -= 25
    base[:, ::tile] -= 25
    for _ in range(3):  # mats, marks and fixtures that never move
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(tile, 4 * tile)), int(rng.integers(tile, 3 * tile))
        colour = rng.uniform(50, 200, 3).astype(np.float32)
        cv2.rectangle(base, (x0, y0), (x0 + w, y0 + h), colour.tolist(), -1)
    return np.clip(base, 0, 255).astype(np.uint8)


def _stripes(size: int, period: float, body, stripe) -> np.ndarray:
    patch = np.empty((size, size, 3), dtype=np.uint8)
    patch[:] = body
    step = max(2, int(round(period)))
    for y in range(0, size, step):
        patch[y : y + max(1, step // 2)] = stripe
    return patch


def _blit(canvas: np.ndarray, patch: np.ndarray, mask: np.ndarray, x0: int, y0: int) -> None:
    """Paste `patch` where `mask` is set, clipped to the canvas."""
    h, w = mask.shape
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x0 + w, canvas.shape[1]), min(y0 + h, canvas.shape[0])
    if cx1 <= cx0 or cy1 <= cy0:
        return
    sub = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
    roi = canvas[cy0:cy1, cx0:cx1]
    np.copyto(roi, patch[sub], where=mask[sub][..., None].astype(bool))


class Painter:
    """Draws the people of a scene at one instant onto a canvas."""

    def __init__(self, scene: Scene, margin: int) -> None:
        self.scene = scene
        self.margin = margin
        self.textures: dict[int, np.ndarray] = {}

    def texture(self, figure: Figure, size: int) -> np.ndarray:
        cached = self.textures.get(figure.number)
        if cached is None or cached.shape[0] < size:
            cached = _stripes(max(size, 8) * 2, figure.stripe_period * size, figure.body,
                              figure.stripe)  # fmt: skip
            self.textures[figure.number] = cached
        return cached

    def draw(self, canvas: np.ndarray, t: float) -> None:
        scene = self.scene
        placed = []
        for figure in scene.figures:
            x, y, present = figure.position(np.array([t]))
            if present[0]:
                placed.append((float(y[0]), float(x[0]), figure))
        placed.sort(key=lambda p: p[0])  # far first: nearer people hide farther ones
        for y, x, figure in placed:
            px = self.margin + x * scene.width
            py = self.margin + y * scene.height
            w = float(shoulder_width(scene.camera, y, figure.scale)) * scene.width
            if scene.camera.view == "oblique":
                self._standing(canvas, figure, px, py, w, t)
            else:
                self._from_above(canvas, figure, px, py, w, t)

    def _heading(self, figure: Figure, t: float) -> float:
        x0, y0, _ = figure.position(np.array([t - 0.1]))
        x1, y1, _ = figure.position(np.array([t + 0.1]))
        dx = (x1[0] - x0[0]) * self.scene.width
        dy = (y1[0] - y0[0]) * self.scene.height
        return math.degrees(math.atan2(dy, dx)) if abs(dx) + abs(dy) > 1e-6 else 90.0

    def _from_above(self, canvas: np.ndarray, figure: Figure, px: float, py: float, w: float,
                    t: float) -> None:  # fmt: skip
        size = int(math.ceil(w * 1.2)) + 2
        x0, y0 = int(px) - size // 2, int(py) - size // 2
        mask = np.zeros((size, size), dtype=np.uint8)
        centre = (size // 2, size // 2)
        angle = self._heading(figure, t) + 90.0  # shoulders across the walking direction
        cv2.ellipse(mask, centre, (max(2, int(w / 2)), max(2, int(w * 0.3))), angle, 0, 360,
                    255, -1)  # fmt: skip
        _blit(canvas, self.texture(figure, size), mask, x0, y0)
        cv2.circle(canvas, (int(px), int(py)), max(2, int(w * 0.2)), figure.head, -1)

    @staticmethod
    def _shadow(canvas: np.ndarray, px: float, py: float, w: float) -> None:
        """A lamp's shadow on the floor beside the feet: the floor, darker (not a new colour)."""
        half_w, half_h = max(2, int(0.6 * w)), max(1, int(0.18 * w))
        x0, y0 = int(px) - half_w, int(py) - half_h
        mask = np.zeros((2 * half_h + 1, 2 * half_w + 1), dtype=np.uint8)
        cv2.ellipse(mask, (half_w, half_h), (half_w, half_h), 0, 0, 360, 255, -1)
        cx0, cy0 = max(x0, 0), max(y0, 0)
        cx1 = min(x0 + mask.shape[1], canvas.shape[1])
        cy1 = min(y0 + mask.shape[0], canvas.shape[0])
        if cx1 <= cx0 or cy1 <= cy0:
            return
        roi = canvas[cy0:cy1, cx0:cx1]
        inside = mask[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0].astype(bool)
        roi[inside] = (roi[inside] * 0.62).astype(np.uint8)

    def _standing(self, canvas: np.ndarray, figure: Figure, px: float, py: float, w: float,
                  t: float) -> None:  # fmt: skip
        h = w * HEIGHT_TO_WIDTH
        sway = 0.6 * math.sin(2.0 * math.pi * 0.7 * t + figure.number)
        px += sway
        self._shadow(canvas, px + 0.35 * w, py, w)
        size_w, size_h = int(math.ceil(w)) + 2, int(math.ceil(h)) + 2
        mask = np.zeros((size_h, size_w), dtype=np.uint8)
        body_h = 0.78 * h
        cv2.ellipse(mask, (size_w // 2, int(size_h - body_h / 2) - 1),
                    (max(2, int(w / 2)), max(3, int(body_h / 2))), 0, 0, 360, 255, -1)  # fmt: skip
        texture = self.texture(figure, max(size_w, size_h))
        _blit(canvas, texture, mask, int(px) - size_w // 2, int(py) - size_h)
        cv2.circle(canvas, (int(px), int(py - 0.86 * h)), max(2, int(w * 0.24)), figure.head, -1)


def lighting(scene: Scene, t: float) -> float:
    """Overall gain at time t: a slow drift, times a sudden change from its time on."""
    fx = scene.effects
    gain = 1.0 + fx.drift * math.sin(2.0 * math.pi * t / max(scene.seconds, 1.0) + scene.seed)
    if fx.light_jump is not None and t >= fx.light_jump[0]:
        gain *= fx.light_jump[1]
    return gain


def render_frames(scene: Scene):
    """Yield the frames of `scene` (BGR uint8), one per frame time."""
    rng = np.random.default_rng(np.random.SeedSequence([scene.seed, 503]))
    margin = int(0.4 * scene.width)
    floor = floor_texture(scene.width + 2 * margin, scene.height + 2 * margin, rng)
    painter = Painter(scene, margin)
    noise = [
        rng.normal(0.0, scene.effects.noise, (scene.height, scene.width, 3)).astype(np.int16)
        for _ in range(NOISE_BANK)
    ]
    canvas = np.empty_like(floor)
    for i, t in enumerate(scene.times):
        np.copyto(canvas, floor)
        painter.draw(canvas, float(t))
        ox, oy = scene.offset(np.array([t]))
        x0 = margin + int(round(ox[0] * scene.width))
        y0 = margin + int(round(oy[0] * scene.height))
        frame = cv2.convertScaleAbs(
            canvas[y0 : y0 + scene.height, x0 : x0 + scene.width], alpha=lighting(scene, float(t))
        )
        if scene.effects.noise > 0:
            frame = cv2.add(frame, noise[(i * 5 + int(rng.integers(NOISE_BANK))) % NOISE_BANK],
                            dtype=cv2.CV_8U)  # fmt: skip
        yield frame


def write_clip(frames, path: Path, fps: float, size: tuple[int, int]) -> int:
    """Write frames to `path` (codec by extension) under a hidden name, renamed when complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix not in CODECS:
        raise ValueError(f"cannot write {suffix}: use one of {', '.join(CODECS)}")
    hidden = path.with_name(f".{path.stem}.writing{suffix}")
    writer = cv2.VideoWriter(str(hidden), cv2.VideoWriter_fourcc(*CODECS[suffix]), fps, size)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {suffix} with {CODECS[suffix]}")
    count = 0
    try:
        for frame in frames:
            writer.write(frame)
            count += 1
    finally:
        writer.release()
    os.replace(hidden, path)
    return count


def render_clip(scene: Scene, path: Path) -> dict:
    """Render `scene` into `path` (.mp4 / .avi / .mkv) and return its truth."""
    write_clip(render_frames(scene), path, scene.fps, (scene.width, scene.height))
    return scene.truth()
