"""Driving `make ui`'s server from tests: `dagster dev` on loopback, its GraphQL API, a browser.

The UI tests start the same command `make ui` runs, against a private FOOTFALL_HOME, and talk to
it the way the UI does (GraphQL over HTTP on 127.0.0.1). Chromium comes from the system (Debian's
`chromium`, installed by `make browser-deps`): nothing is downloaded at test time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from footfall_platform.settings import Settings

REPO = Path(__file__).resolve().parents[1]
LOCATION = "footfall_platform.definitions:defs"  # the code location workspace.yaml loads
REPOSITORY = "__repository__"  # Dagster's name for the repository of a Definitions object
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
REQUIRE_BROWSER = "FOOTFALL_REQUIRE_BROWSER"  # CI sets it to 1: a missing browser fails, not skips


def artifacts_dir() -> Path:
    """Where screenshots and the server log go: $FOOTFALL_TEST_ARTIFACTS/ui or tests/artifacts/ui."""
    root = os.environ.get("FOOTFALL_TEST_ARTIFACTS")
    folder = (Path(root) if root else REPO / "tests" / "artifacts") / "ui"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def find_chromium() -> str | None:
    """FOOTFALL_CHROMIUM if set, else the first Chromium on PATH."""
    configured = os.environ.get("FOOTFALL_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_browser() -> str:
    """The Chromium executable, or a skip saying what is missing (a failure when CI requires it)."""
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "the playwright Python package is not installed (pip install -e '.[dev]')"
    chromium = find_chromium()
    if problem is None and chromium is None:
        problem = (
            "no Chromium found: run `make browser-deps` as root or `sudo apt-get install chromium`, "
            "or point FOOTFALL_CHROMIUM at a Chromium binary"
        )
    if problem is not None:
        if os.environ.get(REQUIRE_BROWSER) == "1":
            pytest.fail(f"UI browser test cannot run: {problem} ({REQUIRE_BROWSER}=1 is set)")
        pytest.skip(f"UI browser test skipped: {problem}")
    assert chromium is not None
    return chromium


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(settings: Settings, pii_key: str) -> dict[str, str]:
    """The environment `make ui` gives the server, pointed at a private home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOOTFALL_", "DAGSTER_"))}
    env.update(
        FOOTFALL_HOME=str(settings.home),
        DAGSTER_HOME=str(settings.dagster_home),
        FOOTFALL_PII_KEY=pii_key,
        FOOTFALL_SETTLE_SECONDS="0",  # the test wrote the files; no need to wait for them to settle
        PYTHONUNBUFFERED="1",
    )
    return env


class DagsterDev:
    """`dagster dev -w workspace.yaml -h 127.0.0.1 -p PORT` in its own process group."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml",
             "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its webserver, daemon, code server and runs share a group
        )  # fmt: skip

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def wait_ready(self, timeout: float = 300.0) -> None:
        """Until the webserver answers and the code location has loaded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dagster dev exited with {self.process.returncode}:\n"
                                   f"{self.log_tail()}")  # fmt: skip
            try:
                with urllib.request.urlopen(f"{self.url}/server_info", timeout=5):
                    pass
                if self._location_loaded():
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(1)
        raise TimeoutError(f"dagster dev not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def _location_loaded(self) -> bool:
        data = self.graphql("""{ workspaceOrError { ... on Workspace { locationEntries {
            name locationOrLoadError { __typename ... on PythonError { message } } } } } }""")
        for entry in data["workspaceOrError"]["locationEntries"]:
            loaded = entry["locationOrLoadError"]
            if entry["name"] == LOCATION and loaded is not None:
                if loaded["__typename"] == "PythonError":
                    raise RuntimeError(f"the code location failed to load: {loaded['message']}")
                return loaded["__typename"] == "RepositoryLocation"
        return False

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM the whole group (dagster dev shuts its children down), SIGKILL what lingers."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                self.process.poll()  # reap the leader, or it lingers as a zombie in the group
                if not _group_alive(self.process.pid):
                    break
                time.sleep(0.5)
            else:
                continue
            break
        self._log.close()

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.load(response)
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    # What a person does with the UI's switches and buttons, through the same API.

    def instigator_state(self, kind: str, name: str) -> dict[str, Any]:
        """The id, status (RUNNING/STOPPED) and latest tick of a sensor or a schedule."""
        typename = kind.capitalize()
        data = self.graphql(
            f"""query($s: {typename}Selector!) {{ {kind}OrError({kind}Selector: $s) {{
                __typename ... on {typename} {{ {kind}State {{
                    id status ticks(limit: 1) {{ status }} }} }} }} }}""",
            {"s": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                   f"{kind}Name": name}},
        )[f"{kind}OrError"]  # fmt: skip
        assert data["__typename"] == typename, f"{kind} {name} not found: {data}"
        return data[f"{kind}State"]

    def stop_instigator(self, kind: str, name: str, timeout: float = 180.0) -> None:
        """Switch a sensor or schedule off, between two ticks.

        The daemon writes a sensor's state back when a tick ends, so a switch flipped during the
        tick the daemon runs at start-up would be undone; wait for that tick to finish first.
        """
        deadline = time.monotonic() + timeout
        while kind == "sensor" and time.monotonic() < deadline:
            ticks = self.instigator_state(kind, name)["ticks"]
            if ticks and ticks[0]["status"] != "STARTED":
                break
            time.sleep(1)
        state_id = self.instigator_state(kind, name)["id"]
        mutation = "stopSensor" if kind == "sensor" else "stopRunningSchedule"
        self.graphql(f"mutation($id: String) {{ {mutation}(id: $id) {{ __typename }} }}",
                     {"id": state_id})  # fmt: skip
        assert self.instigator_state(kind, name)["status"] == "STOPPED", f"{name} still running"

    def dismiss_community_prompt(self) -> None:
        """The 'Join the Dagster community' dialog a fresh instance shows once on localhost."""
        self.graphql("mutation { setNuxSeen }")

    def launch_run(self, job: str, assets: list[list[str]], tags: dict[str, str]) -> str:
        """Launch `job` on a subset of its assets (with their checks), as the UI's launchpad does."""
        data = self.graphql(
            """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
                __typename ... on LaunchRunSuccess { run { runId } } ... on Error { message } } }""",
            {"p": {
                "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                             "jobName": job, "assetSelection": [{"path": a} for a in assets]},
                "runConfigData": {},
                "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
            }},
        )["launchRun"]  # fmt: skip
        assert data["__typename"] == "LaunchRunSuccess", data
        return data["run"]["runId"]

    def runs(self, tags: dict[str, str] | None = None) -> list[dict[str, Any]]:
        data = self.graphql(
            """query($f: RunsFilter) { runsOrError(filter: $f) { ... on Runs { results {
                runId status jobName creationTime startTime endTime tags { key value } } } } }""",
            {"f": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}},
        )
        return data["runsOrError"]["results"]

    def run(self, run_id: str) -> dict[str, Any]:
        found = [r for r in self.runs() if r["runId"] == run_id]
        assert found, f"no run {run_id}"
        return found[0]

    def wait_for_run(self, run_id: str, timeout: float = 400.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run["status"] in TERMINAL:
                return run
            time.sleep(2)
        raise TimeoutError(f"run {run_id} not finished after {timeout:.0f} s:\n{self.log_tail()}")

    def wait_for_runs(self, tags: dict[str, str], timeout: float = 180.0) -> list[dict[str, Any]]:
        """Until at least one run carries `tags` (say, a run the landing sensor requested)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.runs(tags)
            if found:
                return found
            time.sleep(1)
        raise TimeoutError(f"no run tagged {tags} after {timeout:.0f} s:\n{self.log_tail()}")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def writer_steps(
    dagster_home: Path, run_ids: list[str], pool: str
) -> list[tuple[float, float, str]]:
    """(start, end, run:step) of every step in `pool` of these runs, from the instance's records."""
    import dagster as dg

    steps = []
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        for run_id in run_ids:
            run = instance.get_run_by_id(run_id)
            assert run is not None and run.execution_plan_snapshot_id
            plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
            pooled = {step.key for step in plan.steps if step.pool == pool}
            for stats in instance.get_run_step_stats(run_id):
                if stats.step_key in pooled:
                    assert stats.start_time and stats.end_time, stats
                    steps.append(
                        (stats.start_time, stats.end_time, f"{run_id[:8]}:{stats.step_key}")
                    )
    return sorted(steps)


def pool_slots(dagster_home: Path, pool: str) -> int:
    """How many steps of `pool` the running instance lets run at once (its dagster.yaml limit)."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        return instance.event_log_storage.get_concurrency_info(pool).slot_count
