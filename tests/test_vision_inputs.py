"""Every bad video input of the issue: a clear reason in the ledger, nothing lost, the rest loads."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from footfall_platform.ingest.loader import SourceLoader
from footfall_platform.settings import Settings
from footfall_platform.vision.config import write_cameras
from footfall_platform.vision.loader import VideoLoader, VideoLoadResult
from footfall_platform.vision.pipeline import ClipUnreadable, count_clip
from footfall_platform.vision.render import render_clip
from footfall_platform.vision.scenarios import door_camera, door_scene
from footfall_platform.vision.scene import Effects
from footfall_platform.warehouse.connection import open_warehouse
from tests.conftest import STORES_CSV, land

CLIP = "video/S1/door/20250601T100000"
SMALL = {"width": 320, "height": 180, "fps": 10.0, "seconds": 12.0}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    """One door scene as MJPG .avi and mp4v .mp4, and a second scene, rendered once."""
    folder = tmp_path_factory.mktemp("clips")
    scene, other = door_scene(71, **SMALL), door_scene(72, **SMALL)
    return {
        "avi": (folder / "a.avi", render_clip(scene, folder / "a.avi")),
        "mp4": (folder / "a.mp4", render_clip(scene, folder / "a.mp4")),
        "other": (folder / "b.mp4", render_clip(other, folder / "b.mp4")),
    }


def setup_landing(home: Settings, cameras: list[str] = ("door",)) -> None:
    land(home, "stores/stores.csv", STORES_CSV)
    write_cameras(home.landing / "video" / "cameras.yaml", [door_camera("S1", c) for c in cameras])


def run(home: Settings) -> tuple[VideoLoadResult, dict[str, tuple]]:
    """Load stores and video once; the ledger rows of video by path."""
    with open_warehouse(home.warehouse) as con:
        SourceLoader(con, home.landing).load_source("stores")
        result = VideoLoader(con, home.landing, workers=1).load()
        rows = con.execute(
            "SELECT path, status, message, rows_in, rows_loaded FROM ops.ingest_ledger "
            "WHERE source = 'video'"
        ).fetchall()
    return result, {r[0]: r[1:] for r in rows}


def copy(src: Path, home: Settings, relative: str, keep: float = 1.0) -> Path:
    data = src.read_bytes()
    return land(home, relative, data[: int(len(data) * keep)])


def counts(home: Settings) -> tuple[int, int, int]:
    with open_warehouse(home.warehouse, read_only=True) as con:
        return con.execute("SELECT count(*), coalesce(sum(entries), 0), coalesce(sum(exits), 0) "
                           "FROM raw.video_counts").fetchone()  # fmt: skip


def test_a_file_that_is_not_video_is_rejected_with_the_reason(home: Settings, clips) -> None:
    setup_landing(home)
    land(home, f"{CLIP}.mp4", "store_id,entries\nS1,3\n" * 50)
    land(home, "video/S1/door/20250601T110000.avi", bytes(range(256)) * 20)
    land(home, "video/S1/door/20250601T120000.mkv", b"")
    copy(clips["mp4"][0], home, "video/S1/door/20250601T130000.mp4")
    result, ledger = run(home)
    assert ledger[f"{CLIP}.mp4"][:2] == (
        "rejected",
        "not a video: the content is not MP4, AVI or Matroska",
    )
    assert ledger["video/S1/door/20250601T110000.avi"][0] == "rejected"
    assert ledger["video/S1/door/20250601T120000.mkv"][:2] == ("rejected", "empty file (0 bytes)")
    assert ledger["video/S1/door/20250601T130000.mp4"][0] == "loaded"  # the good clip beside them
    assert counts(home)[1:] == (clips["mp4"][1]["entries"], clips["mp4"][1]["exits"])
    assert not result.errors


def test_a_truncated_clip_counts_its_decodable_part_and_is_partial(home: Settings, clips) -> None:
    full_path, truth = clips["avi"]
    setup_landing(home)
    cut = copy(full_path, home, f"{CLIP}.avi", keep=0.6)
    full = count_clip(full_path, door_camera("S1", "door"))
    part = count_clip(cut, door_camera("S1", "door"))
    assert part.truncated and not full.truncated
    assert part.frames_expected == full.frames_read == 120 and 50 < part.frames_read < 90
    # Counting is causal: up to the cut, the truncated clip counts what the whole clip counts.
    before_cut = [(c.seconds, c.direction) for c in full.crossings if c.seconds < part.seconds - 1]
    assert [(c.seconds, c.direction) for c in part.crossings][: len(before_cut)] == before_cut
    assert part.entries + part.exits < truth["entries"] + truth["exits"]
    _, ledger = run(home)
    status, message, rows_in, rows_loaded = ledger[f"{CLIP}.avi"]
    assert status == "partial" and rows_in == rows_loaded == 1
    assert message.startswith(f"truncated: {part.frames_read} of 120 frames decodable")
    assert counts(home)[1:] == (part.entries, part.exits)


def test_the_complete_clip_sent_again_replaces_the_truncated_delivery(home: Settings,
                                                                      clips) -> None:  # fmt: skip
    setup_landing(home)
    copy(clips["avi"][0], home, f"{CLIP}.avi", keep=0.6)
    run(home)
    path = copy(clips["avi"][0], home, f"{CLIP}.avi")
    path.touch()
    _, ledger = run(home)
    assert "replaces 1 earlier delivery" in ledger[f"{CLIP}.avi"][1]
    assert counts(home) == (1, clips["avi"][1]["entries"], clips["avi"][1]["exits"])


def test_a_truncated_mp4_has_lost_its_index_and_is_rejected_saying_so(home: Settings,
                                                                      clips) -> None:  # fmt: skip
    setup_landing(home)
    copy(clips["mp4"][0], home, f"{CLIP}.mp4", keep=0.6)
    _, ledger = run(home)
    status, message = ledger[f"{CLIP}.mp4"][:2]
    assert status == "rejected" and "MP4 without a readable index (moov atom)" in message


@pytest.mark.parametrize(("suffix", "fourcc"), [(".avi", "MJPG"), (".mp4", "mp4v")])
def test_a_clip_with_zero_frames_is_rejected(home: Settings, tmp_path: Path, suffix: str,
                                             fourcc: str) -> None:  # fmt: skip
    empty = tmp_path / f"empty{suffix}"
    writer = cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*fourcc), 10, (320, 180))
    writer.release()
    assert empty.stat().st_size > 0
    with pytest.raises(ClipUnreadable, match="no decodable frame|nothing is decodable"):
        count_clip(empty, door_camera("S1", "door"))
    setup_landing(home)
    copy(empty, home, f"{CLIP}{suffix}")
    _, ledger = run(home)
    assert ledger[f"{CLIP}{suffix}"][0] == "rejected"


def test_a_camera_missing_from_cameras_yaml_is_named_and_its_clip_waits(home: Settings,
                                                                       clips) -> None:  # fmt: skip
    setup_landing(home)
    copy(clips["mp4"][0], home, "video/S1/back_door/20250601T100000.mp4")
    copy(clips["other"][0], home, f"{CLIP}.mp4")
    result, ledger = run(home)
    assert result.errors == [
        "video/S1/back_door/20250601T100000.mp4: camera S1/back_door is not in cameras.yaml "
        "(described: S1/door); add it with its store_id, camera_id, line and/or zones"
    ]
    assert "video/S1/back_door/20250601T100000.mp4" not in ledger  # nothing lost: it waits
    assert ledger[f"{CLIP}.mp4"][0] == "loaded"
    setup_landing(home, cameras=["door", "back_door"])  # the operator describes the camera
    result, ledger = run(home)
    assert not result.errors
    assert ledger["video/S1/back_door/20250601T100000.mp4"][0] == "loaded"
    assert ledger["video/cameras.yaml"][0] == "loaded"


def test_unusable_cameras_yaml_is_rejected_and_every_clip_waits(home: Settings, clips) -> None:
    land(home, "stores/stores.csv", STORES_CSV)
    land(home, "video/cameras.yaml", "cameras:\n - {store_id: S1, camera_id: door}\n")
    copy(clips["mp4"][0], home, f"{CLIP}.mp4")
    result, ledger = run(home)
    assert ledger["video/cameras.yaml"][0] == "rejected"
    assert "give a counting line, zones, or both" in ledger["video/cameras.yaml"][1]
    assert len(result.errors) == 1 and "cameras.yaml is unusable" in result.errors[0]
    assert f"{CLIP}.mp4" not in ledger


def test_a_file_name_without_a_time_is_rejected_with_the_expected_pattern(home: Settings,
                                                                          clips) -> None:  # fmt: skip
    setup_landing(home)
    copy(clips["mp4"][0], home, "video/S1/door/entrance_morning.mp4")
    copy(clips["mp4"][0], home, "video/S1/door/notes.txt")
    _, ledger = run(home)
    status, message = ledger["video/S1/door/entrance_morning.mp4"][:2]
    assert status == "rejected"
    assert "has no parseable time" in message
    assert "video/<store_id>/<camera_id>/<YYYYMMDDTHHMMSS>.<mp4|avi|mkv>" in message
    assert "unsupported file type" in ledger["video/S1/door/notes.txt"][1]


def test_the_same_bytes_load_once_under_any_name(home: Settings, clips) -> None:
    setup_landing(home)
    copy(clips["mp4"][0], home, f"{CLIP}.mp4")
    copy(clips["mp4"][0], home, "video/S1/door/20250602T100000.mp4")  # same run, same bytes
    run(home)
    copy(clips["mp4"][0], home, "video/S1/door/20250603T100000.mp4")  # a later run
    _, ledger = run(home)
    statuses = sorted(v[0] for k, v in ledger.items() if k.endswith(".mp4"))
    assert statuses == ["duplicate", "duplicate", "loaded"]
    assert ledger["video/S1/door/20250603T100000.mp4"][1] == (
        f"same content as {CLIP}.mp4: nothing loaded"
    )
    assert counts(home)[0] == 1


def test_a_clip_of_an_unknown_store_waits_for_the_store_list(home: Settings, clips) -> None:
    land(home, "stores/stores.csv", STORES_CSV)
    write_cameras(home.landing / "video" / "cameras.yaml", [door_camera("S9", "door")])
    copy(clips["mp4"][0], home, "video/S9/door/20250601T100000.mp4")
    result, ledger = run(home)
    assert result.errors == [
        "video/S9/door/20250601T100000.mp4: store S9 is not in raw.stores: "
        "load the store list first; the clip stays in the landing zone"
    ]
    assert "video/S9/door/20250601T100000.mp4" not in ledger


def test_a_camera_that_moved_recovers_within_seconds(tmp_path: Path) -> None:
    moved_at = 9.0
    scene = door_scene(5, seconds=24.0, effects=Effects(camera_move=(moved_at, 0.05, 0.04)))
    truth = render_clip(scene, tmp_path / "moved.mp4")
    result = count_clip(tmp_path / "moved.mp4", scene.camera)
    assert result.scene_resets >= 1
    settled = moved_at + 2.0  # background relearnt in 1 s, tracks confirmed soon after

    def seen(items) -> list[str]:
        return [d for t, d in items if t >= settled]

    assert seen((c.seconds, c.direction) for c in result.crossings) == seen(
        (c["t"], c["direction"]) for c in truth["crossings"]
    )
    assert len(seen((c["t"], c["direction"]) for c in truth["crossings"])) >= 5
    around = [c for c in result.crossings if moved_at - 0.5 <= c.seconds < settled]
    true_around = [c for c in truth["crossings"] if moved_at - 0.5 <= c["t"] < settled]
    assert len(around) <= len(true_around)  # the move itself is never counted as people


def test_frames_are_never_written(home: Settings, clips) -> None:
    setup_landing(home)
    copy(clips["mp4"][0], home, f"{CLIP}.mp4")
    before = {p for p in home.home.rglob("*") if p.is_file()}
    run(home)
    written = {p for p in home.home.rglob("*") if p.is_file()} - before
    for path in written:
        head = path.read_bytes()[:16]
        assert not head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"BM", b"RIFF", b"GIF8")), path
        assert head[4:8] != b"ftyp", path
    with open_warehouse(home.warehouse, read_only=True) as con:
        blobs = con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE "
                            "data_type = 'BLOB'").fetchall()  # fmt: skip
    assert blobs == []
    assert {p.suffix for p in written} <= {".duckdb", ".wal"}  # the warehouse, nothing else
