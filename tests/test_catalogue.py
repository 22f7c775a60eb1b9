"""The asset catalogue as the data team sees it in the Dagster UI: every asset says what it is,
who owns it, what builds it, and the pictures that say more than a preview are drawn right."""

from __future__ import annotations

import datetime as dt
import struct

import dagster as dg
import duckdb
import numpy as np
import polars as pl
import pytest

from footfall_platform.footfall_heatmap import footfall_by_weekday_hour, heatmap_chart
from footfall_platform.mining.rules_chart import rules_chart
from footfall_platform.settings import Settings

# The data flow, left to right, as the groups appear in the UI (intermediate sits inside dbt).
FLOW_GROUPS = {"ingest", "staging", "intermediate", "marts", "features", "forecasts",
               "recommendations", "mining", "serving"}  # fmt: skip
KNOWN_KINDS = {"duckdb", "dbt", "polars", "opencv", "prophet", "lightgbm", "implicit",
               "great_expectations", "sklearn", "scipy"}  # fmt: skip
DBT_GROUPS = {"staging", "intermediate", "marts", "features"}


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", png[16:24])


@pytest.fixture
def graph(home: Settings):
    from footfall_platform.definitions import build_definitions

    return build_definitions(home).resolve_asset_graph()


def test_every_asset_has_a_description_group_owner_and_kinds(graph) -> None:
    problems = []
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        if len((node.description or "").strip()) < 40:
            problems.append(f"{name}: description missing or too short")
        if node.group_name not in FLOW_GROUPS:
            problems.append(f"{name}: group {node.group_name!r} is not a step of the flow")
        if node.owners != ["team:data"]:
            problems.append(f"{name}: owners {node.owners}")
        if not node.kinds or not node.kinds <= KNOWN_KINDS:
            problems.append(f"{name}: kinds {sorted(node.kinds)}")
        if "duckdb" not in node.kinds or (node.group_name in DBT_GROUPS) != ("dbt" in node.kinds):
            problems.append(f"{name}: kinds {sorted(node.kinds)} in group {node.group_name}")
    assert problems == []
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups == FLOW_GROUPS


def test_every_table_with_a_quality_suite_shows_the_great_expectations_kind(graph) -> None:
    from quality.suites import SUITES

    for suite in SUITES:
        key = dg.AssetKey(list(suite.asset_key))
        assert "great_expectations" in graph.get(key).kinds, suite.table
    video = graph.get(dg.AssetKey(["raw", "video_counts"]))
    assert {"opencv", "duckdb", "great_expectations"} <= video.kinds


def test_the_heatmap_puts_each_hour_under_its_weekday() -> None:
    con = duckdb.connect()
    monday = dt.date(2026, 11, 2)
    rows = []
    for store in ("S1", "S2"):
        for day in range(70):  # ten weeks: the heatmap reads only the newest eight
            date = monday + dt.timedelta(days=day)
            for hour in range(9, 21):
                entries = 5 + (100 if (date.isoweekday() == 6 and hour == 15) else 0)
                if day < 14:
                    entries = 1000  # outside the window: must not show
                rows.append((store, date, hour, entries))
            rows.append((store, date, None, 7))  # whole-day counts have no hour
    con.execute("CREATE SCHEMA marts")
    frame = pl.DataFrame(rows, schema=["store_id", "local_date", "local_hour", "entries"],
                         orient="row")  # fmt: skip
    con.register("frame", frame)
    con.execute("CREATE TABLE marts.fct_footfall_hourly AS SELECT * FROM frame")
    grid = footfall_by_weekday_hour(con)
    assert grid.shape == (7, 24)
    assert np.unravel_index(np.nanargmax(grid), grid.shape) == (5, 15)
    assert grid[5, 15] == pytest.approx(105.0)
    assert grid[0, 10] == pytest.approx(5.0)
    assert np.isnan(grid[0, 3])  # closed at 3 am
    width, height = png_size(heatmap_chart(grid))
    assert (width, height) == (1000, 360)


def test_the_rules_chart_draws_rules_and_says_when_there_are_none() -> None:
    rules = pl.DataFrame({"support": [0.01, 0.002, 0.05], "confidence": [0.6, 0.9, 0.4],
                          "lift": [3.0, 8.0, 1.1]})  # fmt: skip
    drawn, empty = rules_chart(rules), rules_chart(rules.clear())
    assert png_size(drawn) == (800, 450)
    assert png_size(empty) == (800, 450)
    assert drawn != empty
