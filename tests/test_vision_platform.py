"""Video in the platform: a real materialize of the video assets on a temp warehouse, the demo
clips against their truth, exactly once, and the `footfall count-video` command."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from assets.raw import RAW_ASSETS
from assets.transform import TRANSFORM_ASSETS, dbt_resource
from assets.video import COUNTS, VIDEO_ASSETS, VISITS
from footfall_platform.cli import main
from footfall_platform.orchestration.resources import WRITER_POOL, FootfallWarehouse
from footfall_platform.settings import Settings
from footfall_platform.vision.config import write_cameras
from footfall_platform.vision.demo import render_demo_clips
from footfall_platform.vision.scenarios import door_camera
from footfall_platform.warehouse.connection import open_warehouse
from tests.conftest import STORES_CSV, land

STORES = [a for a in RAW_ASSETS if a.key == dg.AssetKey(["raw", "stores"])]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    landing = tmp_path_factory.mktemp("demo") / "landing"
    return landing, render_demo_clips(landing, ["S1", "S2"], seed=3)


def _warehouse(home: Settings) -> FootfallWarehouse:
    return FootfallWarehouse(
        warehouse_path=str(home.warehouse), landing_path=str(home.landing),
        pii_key_file=str(home.pii_key_file), settle_seconds=0,
    )  # fmt: skip


def _fill(home: Settings, demo: tuple[Path, dict]) -> None:
    landing, _ = demo
    land(home, "stores/stores.csv", STORES_CSV)
    for path in (landing / "video").rglob("*"):
        if path.is_file():
            land(home, path.relative_to(landing).as_posix(), path.read_bytes())


def test_materializing_video_counts_the_demo_clips_exactly_once(home: Settings, demo) -> None:
    _, truth = demo
    _fill(home, demo)
    result = dg.materialize([*STORES, *VIDEO_ASSETS], resources={"warehouse": _warehouse(home)})
    assert result.success
    events = {e.asset_key: e.materialization.metadata
              for e in result.get_asset_materialization_events()}  # fmt: skip
    meta = events[COUNTS]
    assert meta["clips"].value == len(truth["clips"]) == 4
    assert meta["files_loaded"].value == 5  # four clips and cameras.yaml
    assert (meta["entries"].value, meta["exits"].value) == (
        truth["totals"]["entries"],
        truth["totals"]["exits"],
    )
    assert meta["fps"].value > 0 and "| store_id |" in meta["preview"].value
    assert events[VISITS]["zone_visits"].value == truth["totals"]["zone_visits"] == 2
    with open_warehouse(home.warehouse, read_only=True) as con:
        by_clip = con.execute("""
            SELECT l.path, sum(c.entries), sum(c.exits), count(*) FROM raw.video_counts c
            JOIN ops.ingest_ledger l ON l.sha256 = c.source_sha256 GROUP BY 1""").fetchall()
        visits = con.execute("SELECT store_id, zone, dwell_seconds, entered_at FROM "
                             "raw.video_zone_visits ORDER BY store_id").fetchall()  # fmt: skip
        ledger = con.execute("SELECT count(*) FROM ops.ingest_ledger").fetchone()[0]
        assert con.execute("SELECT DISTINCT source, period_minutes FROM raw.video_counts"
                           ).fetchall() == [("video", 15.0)]  # fmt: skip
    for path, entries, exits, _ in by_clip:
        assert (entries, exits) == (truth["clips"][path]["entries"], truth["clips"][path]["exits"])
    for (store, zone, dwell, _), want in zip(visits, [c for c in truth["clips"].values()
                                                       if c["visits"]], strict=True):  # fmt: skip
        assert (store, zone) == (want["store_id"], want["visits"][0]["zone"])
        assert abs(dwell - want["visits"][0]["dwell"]) < 1.0

    again = dg.materialize([*STORES, *VIDEO_ASSETS], resources={"warehouse": _warehouse(home)})
    assert again.success
    assert again.get_asset_materialization_events()[-1].materialization.metadata["clips"].value == 0
    with open_warehouse(home.warehouse, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ops.ingest_ledger").fetchone()[0] == ledger
        assert con.execute("SELECT count(*) FROM raw.video_counts").fetchone()[0] == len(by_clip)


def test_counted_clips_reach_the_footfall_marts(home: Settings, demo) -> None:
    _, truth = demo
    _fill(home, demo)
    result = dg.materialize([*STORES, *VIDEO_ASSETS, *TRANSFORM_ASSETS],
                            resources={"warehouse": _warehouse(home), "dbt": dbt_resource(home)})  # fmt: skip
    assert result.success
    expected: dict[tuple[str, str], list[int]] = {}  # (store, local date) -> entries, exits
    for clip in truth["clips"].values():  # every clip's camera is video-only: all of it counts
        day = expected.setdefault((clip["store_id"], clip["start_local"][:10]), [0, 0])
        day[0] += clip["entries"]
        day[1] += clip["exits"]
    with open_warehouse(home.warehouse, read_only=True) as con:
        daily = con.execute("SELECT store_id, local_date::VARCHAR, entries, exits, video_entries, "
                            "cameras_reporting, video_cameras FROM marts.fct_footfall_daily"
                            ).fetchall()  # fmt: skip
        dwell = con.execute("SELECT store_id, zone, visits, max_dwell_seconds "
                            "FROM marts.fct_camera_zone_dwell ORDER BY store_id").fetchall()  # fmt: skip
    assert {(s, d): [e, x] for s, d, e, x, *_ in daily} == expected
    assert sum(e for _, _, e, *_ in daily) == truth["totals"]["entries"] > 0
    assert all(video == entries and cameras == video_cameras == 2
               for _, _, entries, _, video, cameras, video_cameras in daily)  # fmt: skip
    stays = [(c["store_id"], v["zone"], v["dwell"]) for c in truth["clips"].values()
             for v in c["visits"]]  # fmt: skip
    assert [row[:3] for row in dwell] == [(store, zone, 1) for store, zone, _ in stays]
    assert all(abs(row[3] - want[2]) < 1.0 for row, want in zip(dwell, stays, strict=True))


def test_a_clip_that_cannot_be_counted_fails_the_run_naming_it_and_the_rest_loads(
    home: Settings, demo
) -> None:
    _fill(home, demo)
    clip = (demo[0] / next(iter(demo[1]["clips"]))).read_bytes() + b"\0" * 8  # other bytes
    land(home, "video/S2/side_door/20250501T100000.mp4", clip)
    result = dg.materialize([*STORES, *VIDEO_ASSETS], resources={"warehouse": _warehouse(home)},
                            raise_on_error=False)  # fmt: skip
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "camera S2/side_door is not in cameras.yaml" in str(failure.event_specific_data)
    assert {e.asset_key for e in result.get_asset_materialization_events()} >= {COUNTS, VISITS}
    with open_warehouse(home.warehouse, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ops.ingest_ledger WHERE source = 'video' "
                           "AND status = 'loaded'").fetchone()[0] == 5  # fmt: skip


def test_the_video_assets_are_ingest_writers_with_opencv_and_duckdb() -> None:
    (assets,) = VIDEO_ASSETS
    assert set(assets.keys) == {COUNTS, VISITS}
    for key in assets.keys:
        spec = assets.specs_by_key[key]
        assert spec.group_name == "ingest" and spec.kinds == {"opencv", "duckdb"}
        assert dg.AssetKey(["raw", "stores"]) in {d.asset_key for d in spec.deps}
        assert spec.description
    assert assets.op.pool == WRITER_POOL


# -- the command -------------------------------------------------------------------------------
def test_count_video_prints_counts_zones_frames_speed_and_truncation(demo, capsys) -> None:
    landing, truth = demo
    floor = next(p for p, c in truth["clips"].items() if c["visits"])
    code = main(["count-video", str(landing / floor), "--camera-config",
                 str(landing / "video" / "cameras.yaml"), "--camera",
                 f"{truth['clips'][floor]['store_id']}/cctv_floor"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    for text in (f"entries: {truth['clips'][floor]['entries']}", "exits:", "max people in view:",
                 "zone fixture: 1 visit(s), max occupancy 1, dwell", "frames read: 160 (16.0 s)",
                 "truncated: no", "processing:"):  # fmt: skip
        assert text in out, out


def test_count_video_inline_camera_as_json(demo, capsys) -> None:
    landing, truth = demo
    door = next(p for p, c in truth["clips"].items() if not c["visits"])
    code = main(["count-video", str(landing / door), "--line", "0,0.5,1,0.5", "--zone",
                 "left:0,0;0.5,0;0.5,1;0,1", "--json"])  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (summary["entries"], summary["exits"]) == (truth["clips"][door]["entries"],
                                                      truth["clips"][door]["exits"])  # fmt: skip
    assert summary["truncated"] is False and summary["frames_read"] == 100
    assert set(summary["max_occupancy"]) == {"left"} and summary["processing_fps"] > 0


def test_count_video_says_what_is_wrong(tmp_path: Path, demo, capsys) -> None:
    landing, truth = demo
    config = tmp_path / "cameras.yaml"
    write_cameras(config, [door_camera("S1", "door")])
    clip = str(landing / next(iter(truth["clips"])))
    assert main(["count-video", clip, "--camera-config", str(config), "--camera", "S1/side"]) == 2
    assert "camera S1/side is not in cameras.yaml (described: S1/door)" in capsys.readouterr().err
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    assert main(["count-video", str(text), "--line", "0,0.5,1,0.5"]) == 2
    assert "not a video" in capsys.readouterr().err
    assert main(["count-video", clip]) == 2
    assert "give --camera-config FILE --camera STORE/CAM, or --line/--zone" in (
        capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        main(["count-video", clip, "--line", "0,0.5,1"])
    assert "expected 4 numbers" in capsys.readouterr().err
