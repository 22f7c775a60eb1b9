"""The documented rules of video counting, on exact inputs: geometry, the turn-back rule, zone
visits, cameras.yaml and clip names, and the 15-minute rows a clip gives."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from footfall_platform.vision.config import (
    CameraConfig,
    CameraConfigError,
    ClipNameError,
    LineSpec,
    camera_for,
    load_cameras,
    parse_clip_path,
    write_cameras,
)
from footfall_platform.vision.count import Crossing, ZoneVisit, line_crossings, zone_visits
from footfall_platform.vision.geometry import inside_sign, intervals, points_in_polygon
from footfall_platform.vision.pipeline import ClipResult
from footfall_platform.vision.scenarios import door_camera, door_scene, floor_camera
from footfall_platform.vision.tables import count_rows, utc_start, visit_rows
from footfall_platform.vision.track import Track

W, H = 320, 180


def track(number: int, points: list[tuple[float, float]], first: int = 0) -> Track:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return Track(number, xs[-1], ys[-1], hits=len(points),
                 frames=list(range(first, first + len(points))), xs=xs, ys=ys)  # fmt: skip


def walk(y0: float, y1: float, n: int = 20, x: float = 160.0) -> list[tuple[float, float]]:
    return [(x, y) for y in np.linspace(y0, y1, n)]


# -- the turn-back rule ------------------------------------------------------------------------
def test_a_walk_through_counts_once_in_its_direction() -> None:
    cam = door_camera().scaled(W, H)  # line at y = 90, inside below, margin 9.6 px
    found = line_crossings([track(1, walk(10, 170)), track(2, walk(170, 10))], cam, 10.0)
    assert [(c.track_no, c.direction) for c in found] == [(1, "entry"), (2, "exit")]


def test_crossing_and_turning_back_counts_one_entry_and_one_exit() -> None:
    cam = door_camera().scaled(W, H)
    path = walk(10, 130) + walk(130, 10)  # 40 px past the line, then back out
    assert [c.direction for c in line_crossings([track(1, path)], cam, 10.0)] == ["entry", "exit"]


def test_turning_back_inside_the_band_counts_nothing() -> None:
    cam = door_camera().scaled(W, H)
    path = walk(10, 97) + walk(97, 10)  # reaches 7 px past the line: within the 9.6 px margin
    jitter = [(160.0, 90.0 + 8 * (-1) ** i) for i in range(30)]  # dithering on the line
    assert line_crossings([track(1, path), track(2, jitter)], cam, 10.0) == []


def test_a_crossing_beside_the_end_of_the_line_does_not_count() -> None:
    camera = CameraConfig("S1", "door", line=LineSpec((0.0, 0.5), (0.4, 0.5), "below"))
    cam = camera.scaled(W, H)
    assert line_crossings([track(1, walk(10, 170, x=250.0))], cam, 10.0) == []
    assert len(line_crossings([track(1, walk(10, 170, x=60.0))], cam, 10.0)) == 1


def test_inside_side_names_are_checked_against_the_line() -> None:
    assert inside_sign((0, 0.5), (1, 0.5), "below") == -inside_sign((0, 0.5), (1, 0.5), "above")
    assert inside_sign((0.5, 0), (0.5, 1), "left") == -inside_sign((0.5, 0), (0.5, 1), "right")
    with pytest.raises(ValueError, match="ambiguous"):
        inside_sign((0, 0.5), (1, 0.5), "left")


# -- zones -------------------------------------------------------------------------------------
def test_polygons_and_intervals() -> None:
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float)
    assert points_in_polygon(np.array([5, 15, -1]), np.array([5, 5, 5]), square).tolist() == [
        True, False, False]  # fmt: skip
    mask = np.array([0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1], dtype=bool)
    assert intervals(mask, max_gap=1, min_length=1) == [(1, 6), (10, 10)]
    assert intervals(mask, max_gap=0, min_length=3) == [(4, 6)]


def test_a_visit_spans_short_gaps_and_passers_by_are_not_visits() -> None:
    cam = floor_camera().scaled(W, H)  # fixture zone: x 9.6..105.6, y 90..147.6
    fps = 10.0
    stay = [(50.0, 120.0)] * 150  # 15 s in the zone
    seen = track(1, stay[:60] + [(200.0, 60.0)] * 5 + stay[65:])  # 0.5 s outside: same visit
    passer = track(2, [(x, 120.0) for x in np.linspace(0, 200, 20)])  # 2 s to cross the zone
    visits = zone_visits([seen, passer], cam, fps)
    assert [(v.zone, v.track_no, v.entered, v.left) for v in visits] == [
        ("fixture", 1, 0.0, 15.0)]  # fmt: skip


def test_a_track_lost_and_found_inside_a_zone_is_one_visit_but_two_people_are_two() -> None:
    cam = floor_camera().scaled(W, H)
    before, after = track(1, [(50.0, 120.0)] * 80), track(2, [(52.0, 121.0)] * 80, first=90)
    assert len(zone_visits([before, after], cam, 10.0)) == 1  # an occlusion broke the track
    leaving = track(3, [(50.0, 120.0)] * 80 + [(x, 120.0) for x in (30, 10, 0)])
    arriving = track(4, [(x, 120.0) for x in (0, 10, 30)] + [(50.0, 120.0)] * 80, first=90)
    assert len(zone_visits([leaving, arriving], cam, 10.0)) == 2  # one left, another came


# -- configuration and names -------------------------------------------------------------------
def test_cameras_yaml_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "cameras.yaml"
    write_cameras(path, [door_camera("S1", "door"), floor_camera("S1", "floor")])
    cameras = load_cameras(path)
    assert set(cameras) == {"S1/door", "S1/floor"}
    floor = cameras["S1/floor"]
    assert floor.view == "oblique" and floor.person_size == (0.05, 0.095)
    assert np.allclose(floor.zones["checkout_queue"], floor_camera().zones["checkout_queue"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cameras: [", "not readable YAML"),
        ("- a\n- b\n", "top-level 'cameras:' list"),
        ("cameras:\n - camera_id: door\n   line: {from: [0, .5], to: [1, .5], inside: below}\n",
         "store_id and camera_id are required"),
        ("cameras:\n - {store_id: S1, camera_id: door}\n", "give a counting line, zones, or both"),
        ("cameras:\n - store_id: S1\n   camera_id: door\n"
         "   line: {from: [0, 1.5], to: [1, .5], inside: below}\n", "fractions of the frame"),
        ("cameras:\n - store_id: S1\n   camera_id: door\n"
         "   line: {from: [0, .5], to: [1, .5], inside: left}\n", "ambiguous"),
        ("cameras:\n - store_id: S1\n   camera_id: door\n   zones: [{name: q, polygon: [[0, 0]]}]\n",
         "at least 3 points"),
        ("cameras:\n - {store_id: S1, camera_id: d, zones: [{name: q, polygon: [[0,0],[1,0],[1,1]]}]}"
         "\n - {store_id: S1, camera_id: d, zones: [{name: q, polygon: [[0,0],[1,0],[1,1]]}]}\n",
         "described twice"),
        ("cameras:\n - store_id: S1\n   camera_id: door\n   person_size: 2\n"
         "   zones: [{name: q, polygon: [[0,0],[1,0],[1,1]]}]\n", "person_size"),
    ],
)  # fmt: skip
def test_a_bad_cameras_yaml_says_what_to_fix(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_text(text)
    with pytest.raises(CameraConfigError, match=message):
        load_cameras(path)


def test_a_missing_camera_is_named_with_the_ones_described() -> None:
    with pytest.raises(CameraConfigError, match=r"camera S1/back_door is not in cameras.yaml "
                       r"\(described: S1/door\)"):  # fmt: skip
        camera_for({"S1/door": door_camera("S1", "door")}, "s1", "back_door")


def test_clip_names() -> None:
    name = parse_clip_path("video/s1/door/20250601T091500.mp4")
    assert (name.store_id, name.camera_id, name.start) == ("S1", "door",
                                                           dt.datetime(2025, 6, 1, 9, 15))  # fmt: skip
    for bad in ("video/S1/door/clip.mp4", "video/S1/door/20251301T091500.avi",
                "video/S1/door/2025-06-01 09:15.mkv"):  # fmt: skip
        with pytest.raises(ClipNameError, match=r"<YYYYMMDDTHHMMSS>\.<mp4\|avi\|mkv>"):
            parse_clip_path(bad)
    with pytest.raises(ClipNameError, match="expected video/<store_id>"):
        parse_clip_path("video/20250601T091500.mp4")
    with pytest.raises(ClipNameError, match="unsupported file type"):
        parse_clip_path("video/S1/door/20250601T091500.mov")


# -- rows --------------------------------------------------------------------------------------
def test_a_clip_gives_one_row_per_quarter_hour_it_overlaps_in_utc_with_local_time() -> None:
    start = utc_start(dt.datetime(2025, 3, 30, 1, 50), "Europe/Paris")  # 00:50 UTC, CET
    result = ClipResult("c.mp4", fps=10.0, frames_read=18_000, frames_expected=18_000,
                        width=W, height=H, working_width=W)  # 30 minutes  # fmt: skip
    result.crossings = [Crossing(1, 5.0, "entry"), Crossing(2, 700.0, "exit"),
                        Crossing(3, 700.5, "entry")]  # fmt: skip
    rows = count_rows(result, "S1", "door", start, "Europe/Paris")
    assert [(r[2].strftime("%H:%M"), r[3].isoformat(), r[4], r[6], r[7]) for r in rows] == [
        ("00:45", "2025-03-30", 1, 1, 0),  # 01:45 CET
        ("01:00", "2025-03-30", 3, 1, 1),  # 03:00 CEST: the clocks went forward at 01:00 UTC
        ("01:15", "2025-03-30", 3, 0, 0),  # watched, nobody passed: a zero row, not no row
    ]
    assert all(r[8] == 15.0 and r[9] == "video" and r[5] - r[2] == dt.timedelta(minutes=15)
               for r in rows)  # fmt: skip
    result.visits = [ZoneVisit("queue", 4, 10.0, 22.5)]
    (visit,) = visit_rows(result, "S1", "door", start, "Europe/Paris")
    assert visit[2:7] == ("queue", 4, start + dt.timedelta(seconds=10),
                          start + dt.timedelta(seconds=22.5), 12.5)  # fmt: skip


# -- the renderer's truth follows the same rules -----------------------------------------------
def test_the_renderer_is_deterministic_and_its_truth_follows_the_turn_back_rule() -> None:
    scene = door_scene(4, seconds=30.0)
    assert door_scene(4, seconds=30.0).truth() == scene.truth()
    truth = scene.truth()
    by_person: dict[int, list[str]] = {}
    for c in truth["crossings"]:
        by_person.setdefault(c["person"], []).append(c["direction"])
    for person in truth["people"]:
        got = by_person.get(person["person"], [])
        expected = {"entry": [["entry"]], "exit": [["exit"]], "retreat": [[]],
                    "turn_back": [["entry", "exit"], ["exit", "entry"]],
                    "pair": [["entry"], ["exit"]]}[person["kind"]]  # fmt: skip
        assert got in expected, person
