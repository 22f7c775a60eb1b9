"""The `footfall` command as a user runs it: a fresh home, the demo, then status."""

from __future__ import annotations

import json
import os
import pty
import stat
import subprocess
import sys
from pathlib import Path


def _env(home: Path, key: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOOTFALL_", "DAGSTER_"))}
    env["FOOTFALL_HOME"] = str(home)
    env["FOOTFALL_SETTLE_SECONDS"] = "0"  # the generator just wrote the files
    if key:
        env["FOOTFALL_PII_KEY"] = "cli-test-key"
    return env


def _footfall(home: Path, *args: str, key: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "footfall_platform.cli", *args],
        env=_env(home, key), capture_output=True, text=True, timeout=600,
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

    # The whole demo world, warehouse and serving file, holds no personal data.
    audit = _footfall(home, "--log-json", "audit-pii", "--json")
    assert audit.returncode == 0, audit.stdout[-3000:] + audit.stderr[-2000:]
    report = json.loads(audit.stdout)
    assert report["hits"] == 0 and report["findings"] == []
    assert set(report["databases"]) == {"warehouse", "serving"} and report["tables"] > 40
    logged = [json.loads(line) for line in audit.stderr.splitlines() if line.startswith("{")]
    finished = [r for r in logged if r["message"] == "command finished"]
    assert finished and finished[0]["command"] == "audit-pii" and finished[0]["exit_code"] == 0

    doctor = _footfall(home, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    failed = {n: c["detail"] for n, c in checks.items() if c["status"] == "FAIL"}
    assert doctor.returncode == 0 and not failed, failed
    for name in ("pii key", "warehouse", "serving", "dagster.yaml", "duckdb", "dbt-core"):
        assert checks[name]["status"] == "OK", checks[name]


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


def test_ingest_of_an_unknown_source_is_bad_input(tmp_path: Path) -> None:
    done = _footfall(tmp_path / "home", "ingest", "stores", "tills")
    assert done.returncode == 2
    assert "unknown source tills" in done.stderr and "transactions" in done.stderr


def _generate(home: Path, stderr: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "footfall_platform.cli", "generate", "--out", str(home),
         "--scale", "small", "--stores", "1", "--days", "14", "--members", "50"],
        env=_env(home), stdout=subprocess.PIPE, stderr=stderr,
    )  # fmt: skip


def test_progress_shows_on_a_terminal_and_never_in_logs(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    shown = _generate(tmp_path / "tty", terminal)
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    assert shown.wait(timeout=600) == 0
    assert b"generating" in seen and b"file" in seen

    logged = _generate(tmp_path / "pipe", subprocess.PIPE)
    out, err = logged.communicate(timeout=600)
    assert logged.returncode == 0 and b"Wrote the small world" in out
    assert b"generating" not in err and b"\r" not in err
