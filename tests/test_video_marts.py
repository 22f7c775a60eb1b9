"""Counts from camera video in the footfall marts, with real dbt runs on a hand-made world.

Three stores: S1's door has a counting sensor (and, later, video of the same camera, which must
never add to it), S2 sends only video of its CCTV door camera (until a sensor count for that
camera arrives and takes over its day), S3 has a sensor and never any video. Drop 1 has no video
at all; the video rows of drop 2 (counts, and zone visits of S2's floor camera) are written into
the raw video tables the way the video loader writes them (vision.tables.count_rows and
visit_rows: one row per clip and quarter hour, one per visit), without rendering a clip; drop 3
brings the late sensor count. Each drop is followed by an incremental run; a full
refresh must then give what the incremental runs built.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import dagster as dg
import pytest

from assets.raw import RAW_ASSETS
from assets.transform import TRANSFORM_ASSETS, dbt_resource
from assets.video import VIDEO_ASSETS
from footfall_platform.orchestration.resources import FootfallWarehouse
from footfall_platform.settings import Settings
from footfall_platform.vision.count import Crossing, ZoneVisit
from footfall_platform.vision.pipeline import ClipResult
from footfall_platform.vision.tables import count_rows, insert_rows, utc_start, visit_rows
from footfall_platform.warehouse.connection import connect
from footfall_platform.warehouse.schema import VIDEO_TABLES, ensure_schema
from quality.suites import suite_for
from quality.validate import validate_suite
from tests.conftest import STORES_CSV, land
from tests.test_transform import build, checks, failure, footfall_home, query

DAY = dt.date(2024, 3, 1)
ZONES = {"S1": "Europe/Paris", "S2": "Europe/London", "S3": "America/New_York"}
SENSORS = (  # store-local times; S1 and S3 have a door sensor
    "store_id,camera_id,period_start,period_end,entries,exits\n"
    "S1,door,2024-03-01T09:00:00,2024-03-01T10:00:00,10,8\n"
    "S1,door,2024-03-01T10:00:00,2024-03-01T11:00:00,20,18\n"
    "S1,door,2024-03-01T11:00:00,2024-03-01T12:00:00,30,29\n"
    "S3,door,2024-03-01T09:00:00,2024-03-01T10:00:00,5,5\n"
    "S3,door,2024-03-02T09:00:00,2024-03-02T10:00:00,6,6\n"
)
LATE_SENSOR = (  # S2's CCTV door gets a sensor count for the day its video covered
    "store_id,camera_id,period_start,period_end,entries,exits\n"
    "S2,cctv_door,2024-03-01T10:00:00,2024-03-01T11:00:00,7,6\n"
)
FOOTFALL_MARTS = ["marts.fct_footfall_daily", "marts.fct_footfall_hourly", "marts.dim_store"]
CHECKED = [*FOOTFALL_MARTS, "marts.fct_camera_zone_dwell"]  # their quality suites run per drop
FOOTFALL_MODELS = dg.AssetSelection.assets(*(dg.AssetKey(t.split(".")) for t in [
    "staging.stg_camera_counts", "staging.stg_video_counts", "intermediate.int_camera_counts",
    "intermediate.int_camera_counts_hourly", *FOOTFALL_MARTS]))  # fmt: skip
_clip_numbers = count(1)


def counted(store: str, camera: str, local_start: str, minutes: float,
            crossings: list[tuple[float, str]] = (),
            stays: list[tuple[str, float, float]] = ()) -> tuple[dict[str, list[tuple]], str]:  # fmt: skip
    """The raw rows the video loader writes for a clip counted with these crossings (seconds,
    direction) and zone stays (zone, entered, left), by table, and a clip hash."""
    fps = 10.0
    result = ClipResult("clip.mp4", fps=fps, frames_read=int(minutes * 60 * fps),
                        frames_expected=int(minutes * 60 * fps), width=320, height=180,
                        working_width=320)  # fmt: skip
    result.crossings = [Crossing(i, s, d) for i, (s, d) in enumerate(crossings, start=1)]
    result.visits = [ZoneVisit(z, i, a, b) for i, (z, a, b) in enumerate(stays, start=1)]
    start = utc_start(dt.datetime.fromisoformat(local_start), ZONES[store])
    rows = {"video_counts": count_rows(result, store, camera, start, ZONES[store]),
            "video_zone_visits": visit_rows(result, store, camera, start, ZONES[store])}  # fmt: skip
    return rows, f"clip{next(_clip_numbers):04d}"


VIDEO = [  # (rows, clip hash) in the order the loader would write them
    # S1's sensor camera also filmed: the sensor counted this day, so all of it is left out,
    # the periods the sensor covers (10:30-11:10) and those it does not (18:00)
    counted("S1", "door", "2024-03-01T10:30:00", 40,
            [(60, "entry"), (900, "entry"), (1500, "exit")]),  # fmt: skip
    counted("S1", "door", "2024-03-01T18:00:00", 10, [(30, "entry"), (200, "exit")]),
    # ... and the next day, which no sensor counted: video fills it
    counted("S1", "door", "2024-03-02T10:00:00", 15,
            [(10, "entry"), (20, "entry"), (300, "exit"), (400, "entry"), (500, "exit"),
             (600, "entry"), (700, "exit")]),  # fmt: skip
    # S2 has only video; two clips share the 10:00 quarter hour and each counts its own part
    counted("S2", "cctv_door", "2024-03-01T10:00:00", 10,
            [(60, "entry"), (120, "entry"), (300, "exit"), (500, "entry")]),  # fmt: skip
    counted("S2", "cctv_door", "2024-03-01T10:10:00", 10,
            [(100, "entry"), (400, "entry"), (450, "exit")]),  # fmt: skip
    # S2's floor camera: zones only, no line (its periods hold zeros: it counts nobody in)
    counted("S2", "cctv_floor", "2024-03-01T10:05:00", 5,
            stays=[("checkout_queue", 10, 40), ("checkout_queue", 100, 190),
                   ("fixture", 20, 32.5)]),  # fmt: skip
]


def write_video(settings: Settings, clips: list[tuple[dict[str, list[tuple]], str]]) -> None:
    """Insert clips' rows into the raw video tables as the video loader does (a load time each)."""
    con = connect(settings.warehouse)
    try:
        for tables, sha in clips:
            now = dt.datetime.now(dt.UTC)
            for table, rows in tables.items():
                insert_rows(con, table, rows, sha, now)
    finally:
        con.close()


def daily(settings: Settings) -> dict[tuple[str, str], tuple]:
    """(store, date) -> entries, exits, cameras_reporting, video_entries, video_cameras."""
    rows = query(settings, "SELECT store_id, local_date::VARCHAR, entries, exits, "
                 "cameras_reporting, video_entries, video_cameras FROM marts.fct_footfall_daily")  # fmt: skip
    return {r[:2]: r[2:] for r in rows}


def hourly(settings: Settings) -> dict[tuple[str, str], list[tuple]]:
    """(store, date) -> [(local_hour, entries, exits, video_entries), ...] by hour."""
    out: dict[tuple[str, str], list[tuple]] = {}
    for row in query(settings, "SELECT store_id, local_date::VARCHAR, local_hour, entries, exits, "
                     "video_entries FROM marts.fct_footfall_hourly ORDER BY ALL"):  # fmt: skip
        out.setdefault(row[:2], []).append(row[2:])
    return out


def loaded(settings: Settings) -> dict[tuple[str, str], dt.datetime]:
    rows = query(settings, "SELECT store_id, local_date::VARCHAR, raw_loaded_at "
                 "FROM marts.fct_footfall_daily")  # fmt: skip
    return {r[:2]: r[2] for r in rows}


def video_cameras(settings: Settings) -> dict[str, tuple[int, int]]:
    return {r[0]: r[1:] for r in query(settings, "SELECT store_id, cameras, video_cameras "
                                       "FROM marts.dim_store")}  # fmt: skip


def suites_pass(settings: Settings) -> dict[str, list[str]]:
    """The video-fed marts' quality suites (GX): failed rules per table (none expected)."""
    con = connect(settings.warehouse, read_only=True)
    try:
        outcomes = [validate_suite(con, suite_for(t)) for t in CHECKED]
    finally:
        con.close()
    return {o.suite.table: [f.rule.name for f in o.blocking_failures + o.warnings]
            for o in outcomes if o.blocking_failures or o.warnings}  # fmt: skip


@dataclass
class Drops:
    settings: Settings
    runs: list[dg.ExecuteInProcessResult]
    daily: list[dict[tuple[str, str], tuple]]  # after each drop
    hourly: list[dict[tuple[str, str], list[tuple]]]
    loaded: list[dict[tuple[str, str], dt.datetime]]
    cameras: list[dict[str, tuple[int, int]]]
    quality: list[dict[str, list[str]]]
    video_in_raw_before: int


@pytest.fixture(scope="module")
def drops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drops]:
    root = tmp_path_factory.mktemp("video_marts")
    with footfall_home(root) as s:
        land(s, "stores/stores.csv", STORES_CSV)
        land(s, "camera_counts/2024-03/sensors.csv", SENSORS)
        state = Drops(s, [], [], [], [], [], [], 0)

        def run(raw: bool) -> None:
            result = build(s, raw=raw)
            assert result.success, failure(result)
            state.runs.append(result)
            state.daily.append(daily(s))
            state.hourly.append(hourly(s))
            state.loaded.append(loaded(s))
            state.cameras.append(video_cameras(s))
            state.quality.append(suites_pass(s))

        run(raw=True)  # drop 1: no video anywhere, the video asset never ran
        state.video_in_raw_before = query(s, "SELECT count(*) FROM raw.video_counts")[0][0]
        write_video(s, VIDEO)  # drop 2: video, after the marts were built
        run(raw=False)
        land(s, "camera_counts/2024-03/S2_late.csv", LATE_SENSOR)  # drop 3: a sensor takes over
        run(raw=True)
        yield state


def test_a_home_that_never_had_video_builds_every_model(drops: Drops) -> None:
    first = drops.runs[0]
    assert drops.video_in_raw_before == 0  # the table exists (a dbt source), empty
    built = {e.asset_key.to_user_string() for e in first.get_asset_materialization_events()}
    assert {"staging/stg_video_counts", "intermediate/int_camera_counts",
            "marts/fct_footfall_daily", "marts/fct_footfall_hourly", "marts/dim_store"} <= built  # fmt: skip
    assert drops.daily[0] == {
        ("S1", "2024-03-01"): (60, 55, 1, 0, 0),
        ("S3", "2024-03-01"): (5, 5, 1, 0, 0),
        ("S3", "2024-03-02"): (6, 6, 1, 0, 0),
    }
    assert drops.cameras[0] == {"S1": (1, 0), "S2": (0, 0), "S3": (1, 0)}


def test_a_store_with_only_video_gets_its_video_entries(drops: Drops) -> None:
    s = drops.settings
    # entries, exits, cameras reporting (the door, and the floor camera's zero rows), of which
    # video, video cameras
    assert drops.daily[1][("S2", "2024-03-01")] == (5, 2, 2, 5, 2)
    raw = query(s, "SELECT sum(entries), sum(exits) FROM raw.video_counts WHERE store_id = 'S2'")
    assert raw == [(5, 2)]
    # the two clips sharing 10:00-10:15 add up in it: 3 + 1 entries
    quarters = query(s, "SELECT strftime(timezone('Europe/London', period_start), '%H:%M'), "
                     "entries, exits, clips FROM staging.stg_video_counts WHERE store_id = 'S2' "
                     "AND camera_id = 'cctv_door' ORDER BY period_start")  # fmt: skip
    assert quarters == [("10:00", 4, 1, 2), ("10:15", 1, 1, 1)]
    assert drops.hourly[1][("S2", "2024-03-01")] == [(10, 5, 2, 5)]
    assert drops.cameras[1]["S2"] == (2, 2)


def test_a_sensor_day_keeps_exactly_the_sensor_numbers(drops: Drops) -> None:
    s = drops.settings
    # S1's door was also filmed on the 1st (5 entries, 3 exits): the sensor's day is untouched
    assert query(s, "SELECT sum(entries), sum(exits) FROM raw.video_counts WHERE store_id = 'S1' "
                    "AND local_date = ?", [DAY]) == [(3, 2)]  # fmt: skip
    assert drops.daily[1][("S1", "2024-03-01")] == drops.daily[0][("S1", "2024-03-01")]
    assert drops.daily[1][("S1", "2024-03-01")] == (60, 55, 1, 0, 0)
    # no 18:00 from the video either, though the sensor sent nothing for that hour
    assert drops.hourly[1][("S1", "2024-03-01")] == [(9, 10, 8, 0), (10, 20, 18, 0),
                                                     (11, 30, 29, 0)]  # fmt: skip
    # the next day no sensor counted: the same camera's video fills it
    assert drops.daily[1][("S1", "2024-03-02")] == (4, 3, 1, 4, 1)
    assert drops.cameras[1]["S1"] == (1, 1)
    sources = query(s, "SELECT local_date::VARCHAR, count_source, count(*) FROM "
                       "intermediate.int_camera_counts WHERE store_id = 'S1' GROUP BY ALL "
                       "ORDER BY 1")  # fmt: skip
    assert sources == [("2024-03-01", "sensor", 3), ("2024-03-02", "video", 1)]


def test_a_video_drop_after_the_build_reaches_its_days_on_the_next_incremental_run(
    drops: Drops,
) -> None:
    before, after = drops.loaded[0], drops.loaded[1]
    assert set(after) - set(before) == {("S2", "2024-03-01"), ("S1", "2024-03-02")}
    assert after[("S3", "2024-03-01")] == before[("S3", "2024-03-01")]  # untouched
    assert after[("S3", "2024-03-02")] == before[("S3", "2024-03-02")]
    # the overridden video moved S1's watermark, so the next run does not rebuild it again
    assert after[("S1", "2024-03-01")] > before[("S1", "2024-03-01")]
    video_loaded = query(drops.settings, "SELECT max(loaded_at) FROM raw.video_counts")[0][0]
    assert max(after.values()) == video_loaded


def test_a_sensor_count_arriving_later_takes_the_day_over_from_video(drops: Drops) -> None:
    # the door is the sensor's now; the floor camera (zero rows, no sensor) stays on video
    assert drops.daily[2][("S2", "2024-03-01")] == (7, 6, 2, 0, 1)
    assert drops.hourly[2][("S2", "2024-03-01")] == [(10, 7, 6, 0)]
    assert drops.cameras[2]["S2"] == (2, 1)
    unchanged = {k: v for k, v in drops.daily[1].items() if k != ("S2", "2024-03-01")}
    assert {k: drops.daily[2][k] for k in unchanged} == unchanged


def test_camera_zone_visits_reach_their_dwell_mart(drops: Drops) -> None:
    rows = query(drops.settings, "SELECT store_id, local_date::VARCHAR, camera_id, zone, visits, "
                 "total_dwell_seconds, mean_dwell_seconds, median_dwell_seconds, p90_dwell_seconds, "
                 "max_dwell_seconds FROM marts.fct_camera_zone_dwell ORDER BY zone")  # fmt: skip
    assert rows == [
        ("S2", "2024-03-01", "cctv_floor", "checkout_queue", 2, 120.0, 60.0, 60.0, 84.0, 90.0),
        ("S2", "2024-03-01", "cctv_floor", "fixture", 1, 12.5, 12.5, 12.5, 12.5, 12.5),
    ]


def test_every_check_and_quality_suite_passes_after_each_drop(drops: Drops) -> None:
    for result in drops.runs:
        failed = [name for name, e in checks(result).items() if not e.passed]
        assert failed == []
        assert "accepted_values_int_camera_counts_count_source__sensor__video" in checks(result)
    assert drops.quality == [{}, {}, {}]


def test_incremental_runs_equal_a_full_refresh(drops: Drops) -> None:
    s = drops.settings
    con = connect(s.warehouse)
    try:
        before = {t: con.execute(f"FROM {t} ORDER BY ALL").fetchall() for t in FOOTFALL_MARTS}
    finally:
        con.close()
    refreshed = build(s, raw=False, full_refresh=True, selection=FOOTFALL_MODELS)
    assert refreshed.success, failure(refreshed)
    con = connect(s.warehouse, read_only=True)
    try:
        for table in FOOTFALL_MARTS:
            assert con.execute(f"FROM {table} ORDER BY ALL").fetchall() == before[table], table
    finally:
        con.close()


def test_a_warehouse_made_before_video_gets_the_video_tables(tmp_path: Path) -> None:
    con = connect(tmp_path / "old.duckdb")
    try:
        ensure_schema(con)
        for table in VIDEO_TABLES:  # as a warehouse created before the video tables existed
            con.execute(f"DROP TABLE raw.{table}")
        con.execute("INSERT INTO raw.camera_counts (store_id, camera_id, entries, exits) "
                    "VALUES ('S1', 'door', 1, 1)")  # fmt: skip
        ensure_schema(con)  # what every loader does when it opens the warehouse
        columns = {t: [c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' "
            "AND table_name = ? ORDER BY ordinal_position", [t]).fetchall()]
            for t in VIDEO_TABLES}  # fmt: skip
        assert con.execute("SELECT count(*) FROM raw.camera_counts").fetchone()[0] == 1
    finally:
        con.close()
    assert columns["video_counts"][-4:] == ["source", "source_sha256", "source_line", "loaded_at"]
    assert columns["video_zone_visits"][:3] == ["store_id", "camera_id", "zone"]


def test_video_counts_feed_the_footfall_models_in_the_asset_graph(home: Settings) -> None:
    resources = {"warehouse": FootfallWarehouse.from_settings(home), "dbt": dbt_resource(home)}
    defs = dg.Definitions(assets=[*RAW_ASSETS, *VIDEO_ASSETS, *TRANSFORM_ASSETS],
                          resources=resources)  # fmt: skip
    graph = defs.resolve_asset_graph()
    key = dg.AssetKey
    assert graph.get(key(["staging", "stg_video_counts"])).parent_keys == {
        key(["raw", "video_counts"])
    }
    assert graph.get(key(["intermediate", "int_camera_counts"])).parent_keys == {
        key(["staging", "stg_camera_counts"]), key(["staging", "stg_video_counts"])}  # fmt: skip
    for mart in ("fct_footfall_daily", "fct_footfall_hourly"):  # the depends_on lines
        parents = graph.get(key(["marts", mart])).parent_keys
        assert {key(["raw", "camera_counts"]), key(["raw", "video_counts"])} <= parents, mart

