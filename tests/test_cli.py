"""The `footfall` command as a user runs it: a fresh home, the demo, then status."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path


def _footfall(home: Path, *args: str, key: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOOTFALL_", "DAGSTER_"))}
    env["FOOTFALL_HOME"] = str(home)
    env["FOOTFALL_SETTLE_SECONDS"] = "0"  # the generator just wrote the files
    if key:
        env["FOOTFALL_PII_KEY"] = "cli-test-key"
    return subprocess.run(
        [sys.executable, "-m", "footfall_platform.cli", *args],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_demo_builds_a_home_and_status_reports_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = _footfall(home, "demo", "--scale", "small")
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "Materialized every asset" in out and "success" in out
    for table in ("raw.transactions", "ops.ingest_ledger", "ops.quarantine"):
        assert table in out
    assert "make ui" in out
    assert "Quality checks" in out
    checks = out.split("Quality checks")[1].split("\n\n")[0].splitlines()[3:]
    assert checks and all("  passed  " in row for row in checks), out[-3000:]
    raw_checks = {row.split()[0] for row in checks if row.startswith("raw.")}
    assert len(raw_checks) == 10  # every raw table (8 sources and 2 video tables) was checked
    report = out.split("report: ")[1].split(")")[0]
    assert Path(report).is_file()
    key = home / "pii.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (home / "dagster" / "dagster.yaml").read_text().count("default_limit: 1") == 1
    assert list((home / "dagster").rglob("*.db")), "runs persist in DAGSTER_HOME"
    truth = json.loads((home / "truth.json").read_text())
    assert truth["bad_inputs"]

    status = _footfall(home, "status")
    assert status.returncode == 0, status.stderr[-2000:]
    assert "rejected" in status.stdout and "partial" in status.stdout
    assert "not valid UTF-8" in status.stdout or "wrong number of fields" in status.stdout

    again = _footfall(home, "demo", "--scale", "small")  # nothing new: loads nothing twice
    assert again.returncode == 0, again.stderr[-2000:]
    assert "Generated" not in again.stdout


def test_ingest_without_a_key_fails_with_a_clear_message(tmp_path: Path) -> None:
    home = tmp_path / "home"
    generated = _footfall(home, "generate", "--out", str(home), "--scale", "small")
    assert generated.returncode == 0, generated.stderr[-2000:]
    done = _footfall(home, "ingest", "stores", "members")
    assert done.returncode != 0
    assert "FOOTFALL_PII_KEY" in done.stderr
    ok = _footfall(home, "ingest", "stores", "members", key=True)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "members" in ok.stdout
