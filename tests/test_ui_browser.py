"""The Dagster UI as a data team uses it: `make ui`'s server on loopback, a real daemon, Chromium.

One `dagster dev` serves the module (starting it costs tens of seconds). The landing zone holds
the store list of a small demo world when it starts, so the landing sensor's first tick requests an
ingest run; the concurrency test launches a second run of the same asset "from the UI" while that
one is in flight, and both compete for the one warehouse writer slot. The quality-gated automation
sensor and the daily schedule are switched off, as an operator pausing them would, so that no dbt
or model run competes with the runs under test.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from footfall_platform.cli import prepare_home
from footfall_platform.demo import generate_world
from footfall_platform.orchestration.resources import WRITER_POOL
from footfall_platform.settings import Settings
from footfall_platform.warehouse.connection import open_warehouse
from tests.conftest import PII_KEY, private_home
from tests.ui_helpers import (
    REQUIRE_BROWSER,
    DagsterDev,
    artifacts_dir,
    pool_slots,
    require_browser,
    server_env,
    writer_steps,
)

pytestmark = pytest.mark.slow

# The groups in the order the data flows, as the README promises them.
FLOW = [["ingest"], ["staging"], ["intermediate"], ["marts"], ["features"],
        ["mining", "forecasts", "recommendations"], ["serving"]]  # fmt: skip
GROUPS = [group for layer in FLOW for group in layer]
AUTOMATIONS = {"landing_sensor": "sensor", "quality_gated_automation": "sensor",
               "daily_refresh": "schedule"}  # fmt: skip
PAUSED = ["quality_gated_automation", "daily_refresh"]
FIRST_DROP = ["stores"]  # one small file: every step of a run starts a Python process
RUN_TIMEOUT = 400.0  # seconds; generous because every step starts a Python process
STARTUP_TIMEOUT = 600.0


@dataclass
class UI:
    server: DagsterDev
    settings: Settings
    truth: dict
    default_status: dict[str, str]


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    root = tmp_path_factory.mktemp("ui")
    with pytest.MonkeyPatch.context() as env:
        settings = private_home(root, env)
    prepare_home(settings)  # what `make ui` runs first (`footfall init`)
    with (settings.dagster_home / "dagster.yaml").open("a") as config:
        # Loading the code location (dbt re-parses a stale manifest) can outlast Dagster's
        # default 180 s on a busy two-core machine; the test is about the UI, not that limit.
        config.write(f"code_servers:\n  local_startup_timeout: {STARTUP_TIMEOUT:.0f}\n")
    world = root / "world"
    truth = generate_world(world, scale="small", days=7, video=False)
    for source in FIRST_DROP:
        shutil.copytree(world / "landing" / source, settings.landing / source)

    server = DagsterDev(server_env(settings, PII_KEY), artifacts_dir() / "dagster-dev.log")
    try:
        server.wait_ready(STARTUP_TIMEOUT)
        default_status = {name: server.instigator_state(kind, name)["status"]
                          for name, kind in AUTOMATIONS.items()}  # fmt: skip
        for name in PAUSED:
            server.stop_instigator(AUTOMATIONS[name], name)
        server.dismiss_community_prompt()
        yield UI(server, settings, truth, default_status)
    finally:
        server.stop()


def test_a_missing_browser_skips_on_a_laptop_and_fails_where_ci_requires_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FOOTFALL_CHROMIUM", "/nonexistent/chromium")
    monkeypatch.delenv(REQUIRE_BROWSER, raising=False)
    with pytest.raises(
        pytest.skip.Exception, match="UI browser test skipped: .*(Chromium|playwright)"
    ):
        require_browser()
    monkeypatch.setenv(REQUIRE_BROWSER, "1")
    with pytest.raises(pytest.fail.Exception, match="FOOTFALL_REQUIRE_BROWSER=1 is set"):
        require_browser()


def test_a_run_launched_from_the_ui_and_a_sensor_run_both_succeed_one_writer_at_a_time(
    ui: UI,
) -> None:
    server = ui.server
    sensor_run = server.wait_for_runs({"dagster/sensor_name": "landing_sensor"})[-1]
    assert set(_tags(sensor_run)["footfall/sources"].split(",")) == set(FIRST_DROP)
    ui_run_id = server.launch_run("ingest", [["raw", "stores"]], tags={"dagster/from_ui": "true"})
    runs = {
        "sensor": server.wait_for_run(sensor_run["runId"], RUN_TIMEOUT),
        "ui": server.wait_for_run(ui_run_id, RUN_TIMEOUT),
    }
    assert {k: r["status"] for k, r in runs.items()} == {"sensor": "SUCCESS", "ui": "SUCCESS"}, (
        server.log_tail()
    )
    # The UI's run was launched before the sensor's had finished: the two really competed.
    assert runs["ui"]["creationTime"] < runs["sensor"]["endTime"], runs

    # One writer at a time: the instance's pool holds one slot, and no two writer steps overlap.
    assert pool_slots(ui.settings.dagster_home, WRITER_POOL) == 1
    steps = writer_steps(ui.settings.dagster_home, [r["runId"] for r in runs.values()],
                         WRITER_POOL)  # fmt: skip
    for run in runs.values():  # raw/stores and its quality check, in each run
        assert sum(step[2].startswith(run["runId"][:8]) for step in steps) == 2, steps
    for before, after in zip(steps, steps[1:], strict=False):
        assert after[0] >= before[1], f"writers overlapped: {before} and {after}"

    _assert_ledger_adds_up(ui)


def _assert_ledger_adds_up(ui: UI) -> None:
    """Both runs wanted the same file: it loaded once and every row is accounted for."""
    landing = ui.settings.landing
    landed = sorted(p.relative_to(landing).as_posix() for p in landing.rglob("*") if p.is_file())
    with open_warehouse(ui.settings.warehouse, read_only=True) as con:
        ledger = con.execute(
            "SELECT path, source, rows_in, rows_loaded, rows_quarantined FROM ops.ingest_ledger "
            "ORDER BY path"
        ).fetchall()
        assert [row[0] for row in ledger] == landed  # every file once, none twice
        for path, _source, rows_in, loaded, quarantined in ledger:
            assert rows_in == ui.truth["files"][path]["rows"] == loaded + quarantined, path
        for source in FIRST_DROP:
            in_table = con.execute(f"SELECT count(*) FROM raw.{source}").fetchone()[0]
            assert in_table == sum(row[3] for row in ledger if row[1] == source) > 0, source
        in_quarantine = con.execute("SELECT count(*) FROM ops.quarantine").fetchone()[0]
        assert in_quarantine == sum(row[4] for row in ledger)


def test_the_ui_shows_the_groups_and_automations_and_materializes_an_asset(ui: UI) -> None:
    chromium = require_browser()
    from playwright.sync_api import expect, sync_playwright

    server, shots = ui.server, artifacts_dir()
    nodes = server.graphql("{ assetNodes { groupName isMaterializable } }")["assetNodes"]
    assert {n["groupName"] for n in nodes if n["isMaterializable"]} == set(GROUPS)
    assert set(ui.default_status.values()) == {"RUNNING"}, ui.default_status

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(90_000)

            # The global asset graph: one node per group, laid out left to right as data flows.
            page.goto(f"{server.url}/asset-groups")
            nodes = {g: page.locator(f'[data-tooltip="{g}"]') for g in GROUPS}
            for node in nodes.values():
                expect(node).to_be_visible()
            x = {g: node.bounding_box()["x"] for g, node in nodes.items()}
            for upstream, downstream in zip(FLOW, FLOW[1:], strict=False):
                assert max(x[g] for g in upstream) < min(x[g] for g in downstream), x
            _shot(page, shots / "01-asset-graph.png")

            # Automation: the sensors and the schedule, each with its on/off switch.
            page.goto(f"{server.url}/automation")
            for name in AUTOMATIONS:
                expect(page.get_by_role("link", name=name)).to_be_visible()
            expect(page.get_by_text("At 05:00 AM UTC")).to_be_visible()
            running = {name: status == "RUNNING" for name, status in ui.default_status.items()}
            running.update(dict.fromkeys(PAUSED, False))
            assert _switches(page, running) == running
            _shot(page, shots / "02-automation.png")

            # An asset page's Materialize button launches a run; its page turns to Success.
            page.goto(f"{server.url}/assets/raw/stores")
            button = page.locator("button", has_text=re.compile(r"^Materialize$"))
            with page.expect_response(_is_launch) as launched:
                button.click()
            run_id = launched.value.json()["data"]["launchPipelineExecution"]["run"]["id"]
            page.goto(f"{server.url}/runs/{run_id}")
            expect(page.get_by_text("Success", exact=True)).to_be_visible(
                timeout=RUN_TIMEOUT * 1000
            )
            expect(page.get_by_text("RUN_SUCCESS", exact=True)).to_be_visible()
            _shot(page, shots / "03-run-success.png")

            # The runs list: every run so far, the sensor's named as its launcher.
            page.goto(f"{server.url}/runs")
            for listed in server.runs():
                expect(page.get_by_role("link", name=listed["runId"][:8])).to_be_visible()
            expect(page.get_by_text("landing_sensor", exact=True).first).to_be_visible()
            _shot(page, shots / "04-runs.png")
        finally:
            browser.close()

    run = server.run(run_id)
    assert run["status"] == "SUCCESS" and _tags(run)["dagster/from_ui"] == "true"
    latest = server.graphql(
        """{ assetOrError(assetKey: {path: ["raw", "stores"]}) { ... on Asset {
            assetMaterializations(limit: 1) { runId } } } }"""
    )["assetOrError"]["assetMaterializations"]
    assert latest == [{"runId": run_id}]


def _tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def _is_launch(response) -> bool:
    """The UI's launch mutation (posted to /graphql?op=LaunchPipelineExecution)."""
    return "/graphql" in response.url and "LaunchPipelineExecution" in (
        response.request.post_data or ""
    )


# Each automation row: its link, and in the same row the switch (a checkbox styled as a switch).
_SWITCHES_JS = """() => Object.fromEntries(
  [...document.querySelectorAll("a[href*='/sensors/'], a[href*='/schedules/']")].map(a => {
    let row = a.parentElement;
    while (row && !row.querySelector("label[class*='Switch'] input[type=checkbox]")) {
      row = row.parentElement;
    }
    const input = row && row.querySelector("label[class*='Switch'] input[type=checkbox]");
    return [a.getAttribute("href").split("/").pop(), input ? input.checked : null];
  }))"""


def _switches(page, expected: dict[str, bool], timeout: float = 60.0) -> dict[str, bool | None]:
    """The switches once they show `expected`, or as they are after `timeout` seconds.

    Rows render before their state loads, with every switch off for a moment; like Playwright's
    own `expect`, look again until the page settles.
    """
    deadline = time.monotonic() + timeout

    def shown() -> dict[str, bool | None]:  # other sensors (run summaries) are not under test
        switches = page.evaluate(_SWITCHES_JS)
        return {name: switches.get(name) for name in expected}

    while (seen := shown()) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    return seen


def _shot(page, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
