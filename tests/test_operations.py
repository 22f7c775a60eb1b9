"""Operations: retention with real materializations, run summaries, the PII audit, doctor."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from assets.ops import OPS_ASSETS
from assets.raw import RAW_ASSETS
from assets.retention import RetentionPeriods, retention_asset
from footfall_platform import cli
from footfall_platform.demo import generate_world
from footfall_platform.operations import doctor
from footfall_platform.operations.pii_audit import audit_files, format_report
from footfall_platform.operations.pii_patterns import redact
from footfall_platform.operations.retention import RetentionPolicy, enforce_retention
from footfall_platform.operations.run_log import configure_logging, read_run_summaries
from footfall_platform.orchestration.resources import FootfallWarehouse
from footfall_platform.orchestration.run_summary import RUN_SUMMARY_SENSORS, RunLog
from footfall_platform.settings import Settings
from footfall_platform.warehouse.connection import connect
from quality.checks import build_suite_check
from quality.suites import suite_for
from quality.validate import validate_suite
from tests.conftest import private_home

RETENTION_CHECK = build_suite_check(suite_for("ops.retention_log"))


@pytest.fixture(autouse=True)
def _root_logging() -> Iterator[None]:
    """`footfall` configures the root logger for its process; tests call it in this one."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo world's raw layer, ledger and quarantine (bad inputs included)."""
    root = tmp_path_factory.mktemp("ops")
    with pytest.MonkeyPatch.context() as env:
        settings = private_home(root, env)
        generate_world(settings.home, scale="small", seed=3, video=False)
        warehouse = FootfallWarehouse.from_settings(settings, settle_seconds=0)
        result = dg.materialize([*RAW_ASSETS, *OPS_ASSETS], resources={"warehouse": warehouse})
    assert result.success
    return settings.warehouse


def _copy(warehouse: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse, copy)
    return copy


def _resources(warehouse: Path, tmp_path: Path, periods: RetentionPeriods) -> dict:
    return {
        "warehouse": FootfallWarehouse(
            warehouse_path=str(warehouse), landing_path=str(tmp_path / "landing"),
            pii_key_file=str(tmp_path / "pii.key"), reports_path=str(tmp_path / "reports"),
        ),
        "retention_periods": periods,
    }  # fmt: skip


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


# -- retention --------------------------------------------------------------------------------
def test_retention_erases_old_personal_data_and_keeps_the_books(
    ingested: Path, tmp_path: Path
) -> None:
    warehouse = _copy(ingested, tmp_path)
    with connect(warehouse) as con:
        first, last = con.execute(
            "SELECT min(local_date), max(local_date) FROM raw.transactions"
        ).fetchone()
        middle = first + (last - first) / 2
        days = (dt.datetime.now(dt.UTC).date() - middle).days
        # Rows rejected long ago (the loader stamps them now): older than a 30-day period.
        con.execute(
            "UPDATE ops.quarantine SET quarantined_at = quarantined_at - INTERVAL 40 DAYS "
            "WHERE source = 'transactions'"
        )
        # The incremental basket mart as dbt leaves it: member keys on every day.
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.fct_baskets AS SELECT store_id, receipt_id, local_date, "
            "max(member_key) AS member_key FROM raw.transactions GROUP BY ALL"
        )
        members = con.execute("SELECT member_key, joined_on FROM raw.members").pl()
        sales = con.execute("SELECT member_key, local_date FROM raw.transactions").pl()
        ledger = _rows(con, "SELECT * FROM ops.ingest_ledger ORDER BY path")
        lines = con.execute("SELECT count(*) FROM raw.transactions").fetchone()[0]
        quarantine = dict(_rows(con, "SELECT source, count(*) FROM ops.quarantine GROUP BY 1"))
    assert quarantine.get("transactions", 0) > 0 and len(quarantine) > 1

    periods = RetentionPeriods(retention_days=days, quarantine_retention_days=30)
    result = dg.materialize(
        [retention_asset, RETENTION_CHECK], resources=_resources(warehouse, tmp_path, periods)
    )
    assert result.success
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    keep = dt.date.fromisoformat(meta["personal_cutoff"].value)
    assert abs((keep - middle).days) <= 1  # the cutoff is today minus the period

    last_activity = (
        members.group_by("member_key").agg(pl.col("joined_on").max())
        .join(sales.drop_nulls().group_by("member_key").agg(pl.col("local_date").max()),
              on="member_key", how="left")
        .with_columns(active=pl.max_horizontal("joined_on", "local_date"))
    )  # fmt: skip
    expired = set(last_activity.filter(pl.col("active") < keep)["member_key"])
    kept = set(last_activity["member_key"]) - expired
    assert expired and kept  # the period splits the members

    with connect(warehouse, read_only=True) as con:
        after = {k for (k,) in _rows(con, "SELECT DISTINCT member_key FROM raw.members")}
        assert after == kept
        assert con.execute("SELECT count(*) FROM raw.transactions").fetchone()[0] == lines
        old_keys, new_keys = con.execute(
            "SELECT count(member_key) FILTER (WHERE local_date < ?), "
            "count(member_key) FILTER (WHERE local_date >= ?) FROM raw.transactions",
            [keep, keep],
        ).fetchone()
        assert old_keys == 0
        assert new_keys == sales.filter(pl.col("local_date") >= keep)["member_key"].count() > 0
        assert con.execute(
            "SELECT count(member_key) FILTER (WHERE local_date < ?), count(member_key) "
            "FILTER (WHERE local_date >= ?) > 0 FROM marts.fct_baskets", [keep, keep]
        ).fetchone() == (0, True)  # fmt: skip
        # Till lines of erased members older than the cutoff no longer name them.
        assert not con.execute(
            "SELECT count(*) FROM raw.transactions WHERE member_key IN (SELECT * FROM "
            "(VALUES " + ", ".join(f"('{k}')" for k in list(expired)[:50]) + "))"
        ).fetchone()[0]
        assert _rows(con, "SELECT * FROM ops.ingest_ledger ORDER BY path") == ledger
        now_quarantine = dict(_rows(con, "SELECT source, count(*) FROM ops.quarantine GROUP BY 1"))
        assert "transactions" not in now_quarantine
        assert now_quarantine == {k: v for k, v in quarantine.items() if k != "transactions"}
        logged = dict(_rows(con, "SELECT table_name || ':' || action, sum(rows_affected) "
                                 "FROM ops.retention_log GROUP BY 1"))  # fmt: skip
        assert logged["ops.quarantine:deleted"] == quarantine["transactions"]
        assert logged["raw.members:deleted"] == members.filter(
            pl.col("member_key").is_in(list(expired))).height  # fmt: skip
        assert logged["raw.transactions:anonymised"] == sales.filter(
            pl.col("local_date") < keep)["member_key"].count()  # fmt: skip
        # The books still add up: every loaded or quarantined row is present or logged.
        for table in ("ops.ingest_ledger", "ops.quarantine", "ops.retention_log"):
            outcome = validate_suite(con, suite_for(table))
            assert not outcome.blocking_failures, outcome.summary()
    assert meta["deleted/raw.members"].value == logged["raw.members:deleted"]
    (check,) = result.get_asset_check_evaluations()
    assert check.passed, check.description

    # Nothing is older than before: nothing more to erase.
    again = dg.materialize([retention_asset], resources=_resources(warehouse, tmp_path, periods))
    rerun = again.get_asset_materialization_events()[0].materialization.metadata
    assert rerun["erased"].value == "nothing"


def test_retention_is_off_unless_configured(ingested: Path, tmp_path: Path) -> None:
    warehouse = _copy(ingested, tmp_path)
    with connect(warehouse, read_only=True) as con:
        before = _rows(con, "SELECT count(*), count(member_key) FROM raw.transactions")
        members = _rows(con, "SELECT count(*) FROM raw.members")
    result = dg.materialize(
        [retention_asset, RETENTION_CHECK],
        resources=_resources(warehouse, tmp_path, RetentionPeriods()),
    )
    assert result.success
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["personal_cutoff"].value == "off" and meta["dagster/row_count"].value == 0
    with connect(warehouse, read_only=True) as con:
        assert _rows(con, "SELECT count(*), count(member_key) FROM raw.transactions") == before
        assert _rows(con, "SELECT count(*) FROM raw.members") == members
        assert _rows(con, "SELECT count(*) FROM ops.retention_log") == [(0,)]


def test_quarantine_retention_runs_on_its_own_period(ingested: Path, tmp_path: Path) -> None:
    warehouse = _copy(ingested, tmp_path)
    now = dt.datetime.now(dt.UTC)
    with connect(warehouse) as con:
        total = con.execute("SELECT count(*) FROM ops.quarantine").fetchone()[0]
        keys = con.execute("SELECT count(member_key) FROM raw.transactions").fetchone()[0]
        result = enforce_retention(con, RetentionPolicy(quarantine_days=1),
                                   now=now + dt.timedelta(days=3))  # fmt: skip
        assert result.rows == {("ops.quarantine", "deleted"): total}
        assert result.personal_cutoff is None
        assert con.execute("SELECT count(*) FROM ops.quarantine").fetchone()[0] == 0
        assert con.execute("SELECT count(member_key) FROM raw.transactions").fetchone()[0] == keys


def test_a_failed_retention_erases_nothing(ingested: Path, tmp_path: Path) -> None:
    warehouse = _copy(ingested, tmp_path)
    with connect(warehouse) as con:
        members = con.execute("SELECT count(*) FROM raw.members").fetchone()[0]
        # A basket mart whose member_key cannot take NULL: the anonymising step fails midway.
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.fct_baskets (local_date DATE, member_key VARCHAR NOT NULL)")
        con.execute("INSERT INTO marts.fct_baskets VALUES (DATE '2000-01-01', 'k')")
        with pytest.raises(duckdb.Error):
            enforce_retention(con, RetentionPolicy(personal_days=1))
        assert con.execute("SELECT count(*) FROM raw.members").fetchone()[0] == members
        assert con.execute("SELECT count(*) FROM ops.retention_log").fetchone()[0] == 0


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1.5"])
def test_a_bad_retention_setting_is_refused_with_its_name(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOOTFALL_QUARANTINE_RETENTION_DAYS", value)
    with pytest.raises(ValueError, match="FOOTFALL_QUARANTINE_RETENTION_DAYS"):
        Settings.from_env()
    with pytest.raises(ValueError, match="at least 1|whole number"):
        RetentionPolicy(personal_days=0)


def test_a_bad_retention_setting_stops_the_cli_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FOOTFALL_RETENTION_DAYS", "two years")
    assert cli.main(["doctor"]) == cli.EXIT_FINDINGS
    assert "FOOTFALL_RETENTION_DAYS='two years' is not a whole number" in capsys.readouterr().err


def test_doctor_warns_when_retention_is_off_or_too_short_for_the_models(home: Settings) -> None:
    assert doctor.check_retention(home).status == doctor.WARN  # off
    short = dataclasses.replace(home, retention_days=30, quarantine_retention_days=7)
    check = doctor.check_retention(short)
    assert check.status == doctor.WARN and "propensity" in check.detail
    long = dataclasses.replace(home, retention_days=730)
    assert doctor.check_retention(long).status == doctor.OK


def test_retention_settings_reach_the_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOOTFALL_RETENTION_DAYS", "730")
    monkeypatch.delenv("FOOTFALL_QUARANTINE_RETENTION_DAYS", raising=False)
    periods = RetentionPeriods.from_settings(Settings.from_env())
    assert periods.policy() == RetentionPolicy(personal_days=730, quarantine_days=None)


# -- run summaries ----------------------------------------------------------------------------
def _evaluate(sensor_name: str, result: dg.ExecuteInProcessResult, instance: dg.DagsterInstance,
              folder: Path) -> list[dict]:  # fmt: skip
    sensor = next(s for s in RUN_SUMMARY_SENSORS if s.name == sensor_name)
    event = result.get_run_success_event() if result.success else result.get_run_failure_event()
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor_name, dagster_event=event, dagster_instance=instance,
        dagster_run=result.dagster_run, resources={"run_log": RunLog(folder=str(folder))},
    )  # fmt: skip
    sensor(context)
    return read_run_summaries(folder)


def test_the_run_summary_sensor_writes_one_line_per_run(ingested: Path, tmp_path: Path) -> None:
    warehouse = _copy(ingested, tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [*OPS_ASSETS, RETENTION_CHECK, retention_asset],
        resources=_resources(warehouse, tmp_path, RetentionPeriods()),
        instance=instance, tags={"footfall/trigger": "test"},
    )  # fmt: skip
    assert result.success
    folder = tmp_path / "logs"
    (line,) = _evaluate("run_summary_success", result, instance, folder)
    assert line["run_id"] == result.run_id and line["status"] == "SUCCESS"
    assert line["job"] == result.dagster_run.job_name
    with connect(warehouse, read_only=True) as con:
        ledger_rows = con.execute("SELECT count(*) FROM ops.ingest_ledger").fetchone()[0]
    assert line["assets"] == {
        "ops/ingest_ledger": ledger_rows, "ops/quarantine": line["assets"]["ops/quarantine"],
        "ops/retention": 0,
    }  # fmt: skip
    assert line["assets"]["ops/quarantine"] > 0
    assert line["checks_passed"] == ["ops/retention:gx_retention_log_contract"]
    assert line["checks_failed"] == [] and line["failed_steps"] == []
    assert line["tags"] == {"footfall/trigger": "test"}
    started = dt.datetime.fromisoformat(line["started_at"])
    ended = dt.datetime.fromisoformat(line["ended_at"])
    assert started <= ended and line["duration_seconds"] == pytest.approx(
        (ended - started).total_seconds(), abs=0.01
    )
    text = (folder / "runs.jsonl").read_text()
    assert not re.search(r"[0-9a-f]{64}", text)  # no member key, no file hash: names and counts


def test_a_failed_run_is_summarised_with_its_failed_step(tmp_path: Path) -> None:
    not_a_database = tmp_path / "warehouse.duckdb"
    not_a_database.write_text("this is not a DuckDB file")
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [retention_asset], resources=_resources(not_a_database, tmp_path, RetentionPeriods()),
        instance=instance, raise_on_error=False,
    )  # fmt: skip
    assert not result.success
    folder = tmp_path / "logs"
    (line,) = _evaluate("run_summary_failure", result, instance, folder)
    assert line["status"] == "FAILURE" and line["assets"] == {}
    (failed,) = line["failed_steps"]
    assert failed["step"] == "ops__retention" and failed["error"]
    assert "not a DuckDB" not in (folder / "runs.jsonl").read_text()  # error messages stay out


def test_json_logs_are_one_object_per_line_and_redacted() -> None:
    stream = io.StringIO()
    configure_logging(True, stream=stream)
    logging.getLogger("footfall.test").warning(
        "member wrote from %s", "jane.doe@example.com",
        extra={"rows": 3, "phone": "+33 6 39 98 12 34"},
    )  # fmt: skip
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert (record["level"], record["logger"], record["rows"]) == ("WARNING", "footfall.test", 3)
    assert "jane.doe" not in line and "39 98 12" not in line
    assert record["message"] == "member wrote from j***@***.com"


def test_redaction_masks_emails_and_phones_and_leaves_ids_alone() -> None:
    text = ("call +33 6 39 98 12 34, 07700 900123 or +1 (555) 555-0123; "
            "mail zoe.roux3@example.org; receipt R-S001-000123 at 2025-05-01 10:00:00+02:00, "
            "sku FA-0001234567, epc 3034257BF7194E4000001A85")  # fmt: skip
    out = redact(text)
    for secret in ("39 98 12", "900123", "555-0123", "zoe.roux3"):
        assert secret not in out
    for kept in ("R-S001-000123", "2025-05-01 10:00:00+02:00", "FA-0001234567",
                 "3034257BF7194E4000001A85"):  # fmt: skip
        assert kept in out


# -- PII audit --------------------------------------------------------------------------------
def test_the_demo_worlds_raw_layer_and_quarantine_raise_no_false_alarm(ingested: Path) -> None:
    report = audit_files([("warehouse", ingested)])
    assert report.findings == [], format_report(report)
    assert report.tables >= 10 and report.rows > 10_000


LOOKALIKES = [
    "SKU-0001234567", "FA-00123", "3034257BF7194E4000001A85", "a" * 64,
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "2025-05-01 10:00:00+02", "2025-05-01T10:00:00+01:00", "01.02.2025 10:30", "2025/05/01",
    "R-S001-20250501-000123", "0000123456", "LC01000003 loaded", "Classic Linen Shirt",
    "Paris Opéra", "Kestrel & Co", "Summer Sale", "12.50", "shelf_3", "S001_2025-05.csv",
    '{"member_id": "' + "b" * 64 + '", "full_name": "<redacted>", "email": null}',
    "<redacted: 120 characters>", "period longer than 24 hours", "Grace", "Martin",
]  # fmt: skip


def test_ids_codes_hashes_and_timestamps_are_not_personal_data(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("CREATE SCHEMA raw")
        con.execute(
            "CREATE TABLE raw.lookalikes (value VARCHAR, codes VARCHAR[], seen_at TIMESTAMPTZ)"
        )
        con.executemany("INSERT INTO raw.lookalikes VALUES (?, ?, now())",
                        [(v, [v, v.lower()]) for v in LOOKALIKES])  # fmt: skip
    report = audit_files([("warehouse", tmp_path / "w.duckdb")])
    assert report.findings == [], format_report(report)


@pytest.fixture
def planted(ingested: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the ingested world with personal data planted in three places."""
    warehouse = _copy(ingested, tmp_path)
    with connect(warehouse) as con:
        sku = con.execute("SELECT min(sku) FROM raw.products").fetchone()[0]
        con.execute("UPDATE raw.products SET description = 'ask Zoé Lefèvre on +33 6 39 98 12 "
                    "34' WHERE sku = ?", [sku])  # fmt: skip
        con.execute("CREATE TABLE raw.notes (member_id VARCHAR, note VARCHAR)")
        con.execute("INSERT INTO raw.notes VALUES ('LC01000003', 'mail jane.doe7@example.com')")
        con.execute(
            "INSERT INTO ops.quarantine VALUES ('members', 'members/m.csv', 'abc', 2, 'test', "
            '\'{"member_id": "LC01000010", "phone": "07700 900123"}\', now())'
        )
    monkeypatch.setenv("FOOTFALL_HOME", str(tmp_path))
    monkeypatch.delenv("FOOTFALL_WAREHOUSE", raising=False)
    monkeypatch.delenv("FOOTFALL_SERVING", raising=False)
    return warehouse


SECRETS = ("Zoé", "Lefèvre", "39 98 12", "LC01000003", "LC01000010", "jane.doe7", "900123")


def test_planted_personal_data_is_found_and_shown_masked(
    planted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["audit-pii", "--json"]) == cli.EXIT_FINDINGS
    out = capsys.readouterr().out
    report = json.loads(out)
    found = {(f["table"], f["column"], f["kind"]): f for f in report["findings"]}
    assert set(found) == {
        ("raw.products", "description", "phone"), ("raw.products", "description", "name"),
        ("raw.notes", "member_id", "column_name"), ("raw.notes", "note", "email"),
        ("ops.quarantine", "raw_record", "phone"), ("ops.quarantine", "raw_record", "json_field"),
    }  # fmt: skip
    assert found[("raw.notes", "note", "email")]["example"] == "j***@***.com"
    assert found[("raw.products", "description", "name")]["example"] == "Z*** L***"
    assert found[("raw.products", "description", "phone")]["example"] == "+3***34"
    assert all(f["hits"] == 1 for f in report["findings"])
    assert "missing" in report["databases"]["serving"]  # not published: noted, not fatal
    assert cli.main(["audit-pii"]) == cli.EXIT_FINDINGS
    text = capsys.readouterr().out
    assert "6 hits in 4 columns" in text
    for secret in SECRETS:
        assert secret not in out and secret not in text


def test_audit_without_any_database_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FOOTFALL_HOME", str(tmp_path / "empty"))
    assert cli.main(["audit-pii"]) == cli.EXIT_FAILED
    assert "footfall demo" in capsys.readouterr().err


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A DuckDB file held open for writing by another process: (path, its PID)."""
    path = tmp_path / "locked.duckdb"
    duckdb.connect(str(path)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        yield path, holder.pid
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_audit_of_a_locked_file_names_the_writer(
    locked: tuple[Path, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path, pid = locked
    monkeypatch.setenv("FOOTFALL_HOME", str(path.parent / "home"))
    monkeypatch.setenv("FOOTFALL_WAREHOUSE", str(path))
    assert cli.main(["audit-pii"]) == cli.EXIT_FAILED
    assert f"PID {pid}" in capsys.readouterr().err


# -- doctor -----------------------------------------------------------------------------------
def test_doctor_checks_the_key(tmp_path: Path) -> None:
    key = tmp_path / "pii.key"
    assert doctor.check_key(key).status == doctor.FAIL
    assert doctor.check_key(key, env_key="short").status == doctor.WARN
    assert doctor.check_key(key, env_key="k" * 40).status == doctor.OK
    key.write_text("ab" * 32 + "\n")
    key.chmod(0o644)
    open_key = doctor.check_key(key)
    assert open_key.status == doctor.FAIL and "chmod 600" in open_key.fix
    key.chmod(0o600)
    assert doctor.check_key(key).status == doctor.OK
    key.write_text("too short\n")
    assert doctor.check_key(key).status == doctor.WARN
    key.write_text("")
    assert doctor.check_key(key).status == doctor.FAIL


def test_doctor_checks_free_disk_against_its_thresholds(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    assert doctor.check_disk(tmp_path, warn_bytes=1, fail_bytes=0).status == doctor.OK
    assert doctor.check_disk(tmp_path, warn_bytes=free * 2, fail_bytes=1).status == doctor.WARN
    full = doctor.check_disk(tmp_path / "not" / "yet", warn_bytes=free * 4, fail_bytes=free * 2)
    assert full.status == doctor.FAIL and "free disk space" in full.fix


def test_doctor_checks_the_databases(tmp_path: Path, locked: tuple[Path, int]) -> None:
    assert doctor.check_database("w", tmp_path / "none.duckdb", "build").status == doctor.WARN
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"\0" * 4096)
    assert doctor.check_database("w", junk, "build").status == doctor.FAIL
    good = tmp_path / "good.duckdb"
    with connect(good) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    ok = doctor.check_database("w", good, "build")
    assert ok.status == doctor.OK and f"duckdb {duckdb.__version__}" in ok.detail
    assert "storage v1" in ok.detail
    path, pid = locked
    held = doctor.check_database("w", path, "build")
    assert held.status == doctor.WARN and f"PID {pid}" in held.detail


def test_doctor_checks_folders_and_the_dagster_config(tmp_path: Path) -> None:
    assert doctor.check_writable("home", tmp_path).status == doctor.OK
    assert doctor.check_writable("home", tmp_path / "missing").status == doctor.WARN
    (tmp_path / "file").write_text("x")
    assert doctor.check_writable("home", tmp_path / "file").status == doctor.FAIL
    assert doctor.check_dagster_yaml(tmp_path).status == doctor.WARN
    (tmp_path / "dagster.yaml").write_text("concurrency:\n  pools:\n    default_limit: 4\n")
    assert doctor.check_dagster_yaml(tmp_path).status == doctor.FAIL
    (tmp_path / "dagster.yaml").write_text(cli.DAGSTER_YAML)
    assert doctor.check_dagster_yaml(tmp_path).status == doctor.OK


def test_doctor_checks_packages_and_their_pins() -> None:
    missing = doctor.Package("no-such-dist", "no_such_module_xyz", "no-such-dist")
    assert doctor.check_package(missing).status == doctor.FAIL
    assert doctor.check_package(doctor.PACKAGES[1]).status == doctor.OK  # duckdb
    assert "BI drivers" in doctor._duckdb_rule("2.0.1")
    assert doctor._duckdb_rule("1.5.6") is None
    assert doctor._gx_rule("0.18.8") and doctor._gx_rule("1.24.1") is None
    assert doctor.check_python((3, 12)).status == doctor.FAIL
    assert doctor.check_python((3, 11)).status == doctor.OK


def test_doctor_on_a_fresh_home_fails_only_for_the_key(
    home: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.prepare_home(home)
    monkeypatch.delenv("FOOTFALL_PII_KEY")
    checks = doctor.run_checks(home, packages=(), warn_bytes=0, fail_bytes=0)
    status = {c.name: c.status for c in checks}
    assert status["pii key"] == doctor.FAIL and doctor.exit_code(checks) == 1
    not_ok = {n for n, s in status.items() if s != doctor.OK}
    assert not_ok == {"pii key", "warehouse", "serving", "retention"}
    cli.cmd_keygen(None)
    checks = doctor.run_checks(home, packages=(), warn_bytes=0, fail_bytes=0)
    assert doctor.exit_code(checks) == 0
    assert json.loads(json.dumps(doctor.as_json(checks)))["ok"] is True
    assert os.stat(home.pii_key_file).st_mode & 0o077 == 0
