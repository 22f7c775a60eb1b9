"""Finding people in a frame: a background model that keeps still people, and blobs split into
one detection per person.

MOG2 with its default learning rate absorbs a person who stands still in 3-4 s. Here it learns
fast only while it warms up (and again after the whole scene changed: a camera knocked, a
lighting change the gain cannot explain), and slowly otherwise, so a person standing in a queue
for minutes stays foreground. Global brightness (lighting drift, lights switched on) is removed
before the model sees the frame by scaling it to the background's level: the frame against the
model's background image, both over the pixels that were background in the previous frame. MOG2 marks shadows (darker, same colour) separately;
they are dropped. Blobs are cleaned by morphology, filtered by area in units of the calibrated
person size, and a blob wider than one person (people side by side) is cut into as many.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from footfall_platform.vision.config import ScaledCamera

REFERENCE_REFRESH_SECONDS = 5.0  # how often the background image for the gain is renewed
FOREGROUND = 200  # MOG2 writes 255 for foreground and 127 for shadow
ABREAST_SPACING = 1.1  # shoulder widths between the centres of people walking side by side
# Blob area of one person in units of shoulder width squared: shoulders and head from above;
# a standing figure seen from an angle.
PERSON_AREA = {"top_down": 0.55, "oblique": 1.7}


@dataclass(frozen=True)
class DetectorSettings:
    absorb_seconds: float = 120.0  # a person standing still this long fades into the background
    warm_up_seconds: float = 1.0  # fast learning at the start (and after a scene change)
    var_threshold: float = 16.0  # MOG2: squared Mahalanobis distance that is foreground
    scene_change: float = 0.35  # foreground share of the frame that means the scene changed
    # Frames analysed per second at most: a walking person moves about a third of their width
    # in 1/12 s, close enough to follow; faster clips are decoded in full but analysed in part.
    analysis_fps: float = 12.5


@dataclass(frozen=True)
class Detection:
    x: float  # reference point: the centre seen from above, the feet seen from an angle
    y: float


class BackgroundModel:
    """MOG2 on colour frames with gain compensation and slow learning after warm-up.

    Colour, because MOG2 tells a shadow (darker, same hue) from dark clothes by chromaticity;
    on grey frames every darker pixel looks like a shadow.
    """

    def __init__(self, fps: float, settings: DetectorSettings | None = None) -> None:
        settings = settings or DetectorSettings()
        self.settings = settings
        self.fps = fps
        self.warm_frames = max(3, int(round(settings.warm_up_seconds * fps)))
        # Still for t frames, a pixel's new mode becomes background once (1 - a)^t < 0.9.
        self.slow_rate = -math.log(0.9) / (settings.absorb_seconds * fps)
        self.refresh_frames = max(1, int(round(REFERENCE_REFRESH_SECONDS * fps)))
        self.resets = 0
        self._start()

    def _start(self) -> None:
        self.model = cv2.createBackgroundSubtractorMOG2(
            history=500, varThreshold=self.settings.var_threshold, detectShadows=True
        )
        self.learned = 0
        self.reference: np.ndarray | None = None  # the background, as the model sees it
        self.previous: np.ndarray | None = None  # background pixels of the last frame

    @property
    def warming(self) -> bool:
        return self.learned < self.warm_frames

    def _normalised(self, frame: np.ndarray) -> np.ndarray:
        """The frame at the background's brightness: overall gain measured on the pixels that
        were background last frame, in the frame and in the background image alike (the same
        pixels on both sides, so which pixels are foreground cannot bias it)."""
        if self.reference is None or self.previous is None:
            return frame
        now = sum(cv2.mean(frame, mask=self.previous)[:3])
        then = sum(cv2.mean(self.reference, mask=self.previous)[:3])
        return cv2.convertScaleAbs(frame, alpha=then / now) if now > 3.0 else frame

    def apply(self, frame: np.ndarray) -> np.ndarray | None:
        """The foreground mask (0/255) of a BGR frame, or None while (re)learning the scene."""
        frame = self._normalised(frame)
        rate = 1.0 / (self.learned + 1) if self.warming else self.slow_rate
        raw = self.model.apply(frame, learningRate=rate)
        self.learned += 1
        if self.learned <= self.warm_frames:
            return None
        if self.reference is None or self.learned % self.refresh_frames == 0:
            self.reference = self.model.getBackgroundImage()
        _, mask = cv2.threshold(raw, FOREGROUND, 255, cv2.THRESH_BINARY)
        if cv2.countNonZero(mask) > self.settings.scene_change * mask.size:
            self.resets += 1  # the camera moved or the light changed unevenly: learn again
            self._start()
            return None
        self.previous = cv2.bitwise_not(mask)
        return mask


def people_across(extent: float, person: float) -> int:
    """How many people side by side make a blob `extent` pixels across: one person is one
    shoulder width, each more adds ABREAST_SPACING of them."""
    return max(1, int(round(1.0 + (extent - person) / (ABREAST_SPACING * person))))


def robust_extent(along: np.ndarray) -> int:
    """Length of a blob along an axis, counting only 1-pixel slices that hold at least a fifth
    of the fullest slice: a speck of noise glued to a person does not make them wider."""
    counts = np.bincount((along - along.min()).astype(np.int64))
    return int((counts >= 0.2 * counts.max()).sum())


class BlobFinder:
    """Cleans a foreground mask and turns it into one detection per person."""

    def __init__(self, camera: ScaledCamera) -> None:
        self.camera = camera
        self.open_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        k = max(3, int(camera.person_near / 5) | 1)
        self.close_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        self.area_unit = PERSON_AREA[camera.config.view]
        self.min_fraction = camera.config.min_person_size

    def find(self, mask: np.ndarray) -> list[Detection]:
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self.open_kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self.close_kernel)
        count, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
        out: list[Detection] = []
        oblique = self.camera.oblique
        for i in range(1, count):
            x0, y0, w, h, area = (int(v) for v in stats[i])
            cx, cy = float(centroids[i][0]), float(centroids[i][1])
            ref_y = float(y0 + h - 1) if oblique else cy
            person = float(self.camera.person_width(ref_y))
            if area < self.area_unit * (self.min_fraction * person) ** 2:
                continue
            wide = w if oblique else math.hypot(w, h)  # a blob this small is one person
            if wide < 1.5 * person:
                out.append(Detection(cx, ref_y))
            else:
                out.extend(self._people(labels[y0 : y0 + h, x0 : x0 + w] == i, x0, y0, person))
        return out

    def _people(self, blob: np.ndarray, x0: int, y0: int, person: float) -> list[Detection]:
        """A large blob as n people side by side, cut into n equal parts across (x for an
        oblique view, the blob's major axis from above)."""
        ys, xs = np.nonzero(blob)
        if self.camera.oblique:
            along = xs.astype(np.float32)
            body = (ys >= 0.2 * blob.shape[0]) & (ys < 0.75 * blob.shape[0])
            extent = robust_extent(along[body]) if body.any() else robust_extent(along)
        else:
            pts = np.vstack([xs, ys]).astype(np.float32)
            _, vectors = np.linalg.eigh(np.cov(pts))
            along = vectors[:, -1].astype(np.float32) @ pts
            extent = robust_extent(along)
        n = people_across(extent, person)
        out = []
        if self.camera.oblique:  # the lowest pixel of each column: where feet can be
            filled = blob.any(axis=0)
            bottoms = blob.shape[0] - 1 - np.argmax(blob[::-1], axis=0)
        for part in np.array_split(np.argsort(along), n):  # equal areas: people of about one size
            px, py = xs[part], ys[part]
            if self.camera.oblique:
                # Feet where most columns of the part end: a neighbour nearer the camera who
                # reaches into the part (their blob is taller and lower) owns only a few columns.
                cols = np.arange(px.min(), px.max() + 1)
                ref_y = float(np.percentile(bottoms[cols][filled[cols]], 70))
            else:
                ref_y = float(py.mean())
            out.append(Detection(x0 + float(px.mean()), y0 + ref_y))
        return out
