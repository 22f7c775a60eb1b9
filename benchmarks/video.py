"""Benchmark: the whole video counting pipeline against the bare decode + MOG2 loop, on one core.

The clip is rendered (door camera, 640x360, 25 fps, 30 s, with its truth). On one core (the
process pinned to CPU 0, OpenCV single-threaded), run side by side and alternated, best of 3:

* baseline `decode+MOG2`: read every frame and apply OpenCV's default MOG2 to it at full size:
  the floor any background-subtraction counter pays (the issue's baseline);
* baseline `decode+resize+MOG2`: the same at our working width (320), every frame: what is left
  when the counter's own choices (downscaling) are granted to the baseline too;
* `pipeline`: `count_clip` as the platform runs it (decode, downscale, gain compensation, MOG2 with
  frozen learning, blobs, tracking, counting; analysing at most 12.5 frames a second);
* `pipeline, every frame`: the same analysing all 25 frames a second.

Then clips per minute with all cores (`count_clips`, one process per core) against one worker,
and OpenCV's HOG people detector timed on the same frames (the alternative the issue asks to
measure). Goals: pipeline / decode+MOG2 >= 0.6, and >= 250 fps (10x real time at 25 fps).

Run: ``python benchmarks/video.py`` (about a minute).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402

from footfall_platform.vision.detect import DetectorSettings  # noqa: E402
from footfall_platform.vision.pipeline import count_clip, count_clips  # noqa: E402
from footfall_platform.vision.render import render_clip  # noqa: E402
from footfall_platform.vision.scenarios import door_scene, floor_scene  # noqa: E402

SIZE = {"width": 640, "height": 360, "fps": 25.0}


def decode_mog2(path: Path, width: int | None = None) -> float:
    """Frames per second of reading every frame and applying default MOG2 (optionally resized)."""
    capture = cv2.VideoCapture(str(path))
    model = cv2.createBackgroundSubtractorMOG2()
    frames, started = 0, time.perf_counter()
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if width:
            frame = cv2.resize(frame, (width, width * frame.shape[0] // frame.shape[1]),
                               interpolation=cv2.INTER_AREA)  # fmt: skip
        model.apply(frame)
        frames += 1
    return frames / (time.perf_counter() - started)


def pipeline(path: Path, camera, settings: DetectorSettings) -> float:
    started = time.perf_counter()
    result = count_clip(path, camera, settings)
    return result.frames_read / (time.perf_counter() - started)


def one_core(path: Path, camera, repeats: int) -> dict[str, float]:
    every = replace(DetectorSettings(), analysis_fps=1000.0)
    runs = {
        "decode+MOG2 (640x360)": lambda: decode_mog2(path),
        "decode+resize+MOG2 (320x180)": lambda: decode_mog2(path, camera.working_width),
        "pipeline": lambda: pipeline(path, camera, DetectorSettings()),
        "pipeline, every frame": lambda: pipeline(path, camera, every),
    }
    best = dict.fromkeys(runs, 0.0)
    for _ in range(repeats):  # alternated, so a busy moment of the machine hits every side
        for name, run in runs.items():
            best[name] = max(best[name], run())
    return best


def hog(path: Path, scene, frames: int = 40) -> tuple[float, float]:
    """Milliseconds per frame of OpenCV's default HOG people detector, and its recall: the share
    of people in view (feet inside the picture) whose feet fall in the bottom third of a box."""
    detector = cv2.HOGDescriptor()
    detector.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    capture = cv2.VideoCapture(str(path))
    feet = [scene.image_positions(f) for f in scene.figures]
    spent, seen, people, index = 0.0, 0, 0, 0
    while index < frames:
        ok, frame = capture.read()
        if not ok:
            break
        started = time.perf_counter()
        boxes, _ = detector.detectMultiScale(frame, winStride=(8, 8), scale=1.05)
        spent += time.perf_counter() - started
        for x, y, present in feet:
            if present[index] and 0 <= x[index] < scene.width and 0 <= y[index] < scene.height:
                people += 1
                seen += any(bx <= x[index] <= bx + bw and by + 2 * bh / 3 <= y[index] <= by + bh
                            for bx, by, bw, bh in boxes)  # fmt: skip
        index += 1
    return 1000 * spent / max(index, 1), seen / max(people, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the clip")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clips", type=int, default=6, help="clips for the all-cores run")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="footfall-video-bench-") as tmp:
        folder = Path(tmp)
        scene = door_scene(2024, seconds=args.seconds, **SIZE)
        clip = folder / "door.mp4"
        started = time.perf_counter()
        truth = render_clip(scene, clip)
        print(f"rendered {scene.frames} frames 640x360 at 25 fps in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip

        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        cv2.setNumThreads(1)
        result = count_clip(clip, scene.camera)
        print(f"counted {result.entries}/{truth['entries']} entries and {result.exits}/"
              f"{truth['exits']} exits (counted/true)")  # fmt: skip
        best = one_core(clip, scene.camera, args.repeats)
        floor = best["decode+MOG2 (640x360)"]
        print(f"\n== one core, {scene.frames} frames, best of {args.repeats} ==")
        for name, fps in best.items():
            print(f"  {name:30} {fps:7.0f} fps  {fps / 25:5.1f}x real time  "
                  f"ratio to decode+MOG2 {fps / floor:5.2f}")  # fmt: skip
        ours = best["pipeline"]
        print(f"  goal ratio >= 0.6: {ours / floor:.2f} "
              f"[{'met' if ours / floor >= 0.6 else 'MISSED'}]; goal >= 250 fps: {ours:.0f} "
              f"[{'met' if ours >= 250 else 'MISSED'}]")  # fmt: skip
        print(f"  against decode+resize+MOG2 at the working width: "
              f"{ours / best['decode+resize+MOG2 (320x180)']:.2f}")  # fmt: skip

        eye = floor_scene(2025, seconds=20.0, **SIZE)
        render_clip(eye, folder / "floor.mp4")
        ms, recall = hog(folder / "floor.mp4", eye)
        print(f"\n== HOG people detector (OpenCV default, 640x360, oblique clip) ==\n"
              f"  {ms:.1f} ms a frame ({1000 / ms:.0f} fps, {1000 / ms / 25:.2f}x real time at 25 fps); "
              f"recall {recall:.0%} of people in view")  # fmt: skip
        mine = count_clip(folder / "floor.mp4", eye.camera)
        print(f"  the pipeline on the same clip: {mine.processing_fps:.0f} fps")

        os.sched_setaffinity(0, set(range(cores)))
        jobs = []
        for i in range(args.clips):
            s = door_scene(3000 + i, seconds=20.0, **SIZE)
            render_clip(s, folder / f"c{i}.mp4")
            jobs.append((folder / f"c{i}.mp4", s.camera))
        print(f"\n== {args.clips} clips of 20 s (640x360, 25 fps) ==")
        timing = {}
        for workers in (1, cores):
            started = time.perf_counter()
            count_clips(jobs, workers=workers)
            timing[workers] = time.perf_counter() - started
            print(f"  {workers} worker(s): {timing[workers]:5.1f} s, "
                  f"{60 * args.clips / timing[workers]:6.1f} clips a minute")  # fmt: skip
        print(f"  speed-up with {cores} cores: {timing[1] / timing[cores]:.2f}x")


if __name__ == "__main__":
    main()
