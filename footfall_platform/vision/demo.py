"""Rendered clips for the demo world: a door camera and a floor camera per store, with truth.

Short and small (320x180, 10 fps) so the whole demo renders in a few seconds; each door clip
holds walkers, pairs and turn-backs, each floor clip a shopper standing in a zone for 10-12 s.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from footfall_platform.vision.config import CAMERAS_FILE, write_cameras
from footfall_platform.vision.render import render_clip
from footfall_platform.vision.scenarios import door_camera, door_scene, floor_camera, floor_scene

DOOR_CAMERA = "cctv_door"
FLOOR_CAMERA = "cctv_floor"
SIZE = {"width": 320, "height": 180, "fps": 10.0}


def render_demo_clips(landing: Path, stores: list[str], seed: int,
                      start: dt.date | None = None) -> dict:  # fmt: skip
    """Write `landing/video/<store>/<camera>/<time>.mp4` for each store and `video/cameras.yaml`;
    return the truth of every clip by landing path (for truth.json)."""
    if start is None:
        from footfall_platform.demo.world import DEFAULT_START as start
    landing = Path(landing)
    cameras = []
    clips: dict[str, dict] = {}
    for k, store in enumerate(stores):
        day = dt.datetime.combine(start + dt.timedelta(days=k % 7), dt.time(10, 0))
        door = door_camera(store, DOOR_CAMERA)
        floor = floor_camera(store, FLOOR_CAMERA)
        cameras += [door, floor]
        scenes = [
            (door, day, door_scene(seed * 1000 + 2 * k, camera=door, seconds=10.0, **SIZE)),
            (floor, day + dt.timedelta(minutes=5), floor_scene(
                seed * 1000 + 2 * k + 1, camera=floor, seconds=16.0, standers=1, walkers=2,
                stay=(10.0, 12.0), **SIZE)),
        ]  # fmt: skip
        for camera, at, scene in scenes:
            rel = f"video/{store}/{camera.camera_id}/{at:%Y%m%dT%H%M%S}.mp4"
            truth = render_clip(scene, landing / rel)
            clips[rel] = {"start_local": at.isoformat(), **truth}
    write_cameras(landing / "video" / CAMERAS_FILE, cameras)
    return {
        "cameras_file": f"video/{CAMERAS_FILE}",
        "clips": clips,
        "totals": {
            "entries": sum(c["entries"] for c in clips.values()),
            "exits": sum(c["exits"] for c in clips.values()),
            "zone_visits": sum(len(c["visits"]) for c in clips.values()),
        },
    }
