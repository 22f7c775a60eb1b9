"""``footfall count-video``: count one clip from the command line, with the pipeline's own code.

The camera is either described in a cameras.yaml (``--camera-config FILE --camera STORE/CAM``)
or given inline (``--line x1,y1,x2,y2`` and/or ``--zone NAME:x,y;x,y;...``). Prints entries,
exits, people in view, zone visits with dwell times, frames read, processing speed and whether
the file was truncated; ``--json`` prints the same as one JSON object. A clip that cannot be
decoded, or a camera the configuration does not describe, exits with status 2 and says why.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import TextIO

BAD_INPUT = 2


def _numbers(text: str, count: int | None, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}: expected numbers, got {text!r}") from None
    if count is not None and len(values) != count:
        raise argparse.ArgumentTypeError(f"{what}: expected {count} numbers, got {text!r}")
    return values


def _line(text: str) -> list[float]:
    return _numbers(text, 4, "--line x1,y1,x2,y2")


def _zone(text: str) -> dict:
    name, _, points = text.partition(":")
    if not name.strip() or not points:
        raise argparse.ArgumentTypeError(f"--zone NAME:x,y;x,y;...: got {text!r}")
    corners = [_numbers(p, 2, f"--zone {name}") for p in points.split(";") if p.strip()]
    return {"name": name.strip(), "polygon": corners}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``count-video`` subcommand; the parsed namespace carries ``func``."""
    parser = subparsers.add_parser(
        "count-video",
        help="count people in a video clip (entries, exits, zone visits, dwell)",
        description=__doc__.split("\n\n")[1],
    )
    parser.add_argument("path", type=Path, metavar="PATH", help="an .mp4, .avi or .mkv clip")
    parser.add_argument("--camera-config", type=Path, metavar="FILE", help="a cameras.yaml")
    parser.add_argument("--camera", metavar="STORE/CAM", help="the camera of FILE to use")
    parser.add_argument("--line", type=_line, metavar="x1,y1,x2,y2",
                        help="counting line, fractions of the picture (0..1)")  # fmt: skip
    parser.add_argument("--inside", default="below", choices=["above", "below", "left", "right"],
                        help="side of the line that is inside the store (default below)")  # fmt: skip
    parser.add_argument("--zone", type=_zone, action="append", default=[],
                        metavar="NAME:x,y;x,y;...", help="a zone polygon (repeatable)")  # fmt: skip
    parser.add_argument("--view", default="top_down", choices=["top_down", "oblique"])
    parser.add_argument("--person-size", type=lambda t: _numbers(t, None, "--person-size"),
                        metavar="S|FAR,NEAR", help="shoulder width / picture width (0.11)")  # fmt: skip
    parser.add_argument("--working-width", type=int, default=320, metavar="PX")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _camera(args: argparse.Namespace):
    from footfall_platform.vision.config import camera_for, camera_from_dict, load_cameras

    if args.camera_config is not None or args.camera is not None:
        if args.camera_config is None or args.camera is None or args.line or args.zone:
            raise ValueError("give --camera-config FILE --camera STORE/CAM, or --line/--zone")
        store, _, camera = args.camera.partition("/")
        return camera_for(load_cameras(args.camera_config), store, camera)
    if not args.line and not args.zone:
        raise ValueError("give --camera-config FILE --camera STORE/CAM, or --line/--zone")
    entry = {"store_id": "CLI", "camera_id": args.path.stem, "view": args.view,
             "zones": args.zone or None, "working_width": args.working_width}  # fmt: skip
    if args.line:
        x1, y1, x2, y2 = args.line
        entry["line"] = {"from": [x1, y1], "to": [x2, y2], "inside": args.inside}
    if args.person_size:
        entry["person_size"] = (
            args.person_size[0] if len(args.person_size) == 1 else args.person_size
        )
    return camera_from_dict(entry, "command line")


def run(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    """Execute a parsed ``count-video`` command; returns the exit status."""
    from footfall_platform.vision.config import CameraConfigError
    from footfall_platform.vision.pipeline import ClipUnreadable, count_clip

    out = stdout or sys.stdout
    try:
        camera = _camera(args)
        result = count_clip(args.path, camera)
    except (ClipUnreadable, CameraConfigError, ValueError) as error:
        print(f"footfall count-video: {args.path}: {error}", file=sys.stderr)
        return BAD_INPUT
    summary = {"camera": camera.key, **result.summary()}
    print(json.dumps(summary, indent=1) if args.json else report(summary), file=out)
    return 0


def report(summary: dict) -> str:
    """The plain-text form of a clip's summary."""
    lines = [
        f"clip: {summary['path']} ({summary['width']}x{summary['height']}, {summary['fps']:g} fps)",
        f"frames read: {summary['frames_read']} ({summary['seconds']:.1f} s)"
        + (f" of {summary['frames_expected']} announced" if summary["frames_expected"] else ""),
        f"truncated: {'YES: counts cover the decodable part' if summary['truncated'] else 'no'}",
        f"entries: {summary['entries']}",
        f"exits: {summary['exits']}",
        f"max people in view: {summary['max_in_view']}",
    ]
    for zone, peak in summary["max_occupancy"].items():
        dwell = [v["dwell_seconds"] for v in summary["zone_visits"] if v["zone"] == zone]
        detail = (f", dwell {', '.join(f'{d:.1f}' for d in dwell)} s "
                  f"(median {statistics.median(dwell):.1f} s)") if dwell else ""  # fmt: skip
        lines.append(f"zone {zone}: {len(dwell)} visit(s), max occupancy {peak}{detail}")
    lines.append(
        f"processing: {summary['processing_fps']:.0f} fps ({summary['processing_seconds']:.2f} s)"
    )
    return "\n".join(lines)
