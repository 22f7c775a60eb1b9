"""Faults from outside the code: a stray lock holder, a full disk, a run killed mid-write.

Each uses real processes and real files: a second Python process that holds the warehouse, a
child whose writes fail the way they fail on a full disk, a loader killed with SIGKILL inside a
file's transaction. What is asserted is what an operator relies on afterwards: a clear error, the
previous serving file intact, a warehouse that opens and a next run that completes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.raw import RAW_ASSETS
from footfall_platform.demo import generate_world
from footfall_platform.landing.contract import LOAD_ORDER
from footfall_platform.orchestration.resources import FootfallWarehouse
from footfall_platform.serving.parquet import export_parquet, parquet_folder
from footfall_platform.serving.publish import check_complete, publish
from footfall_platform.settings import Settings
from footfall_platform.warehouse.connection import WarehouseLocked, connect

HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("CREATE TABLE kept AS SELECT range AS x FROM range(1000)")
    con.execute("BEGIN TRANSACTION")
    con.execute("INSERT INTO kept SELECT range FROM range(1000, 5000)")  # never committed
    print("held", flush=True)
    time.sleep(600)
""")


def test_a_stray_lock_holder_is_named_waited_for_and_leaves_the_data_intact(
    tmp_path: Path,
) -> None:
    db = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), "--stray-notebook"], stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseLocked) as locked:
            connect(db, lock_wait=0.5)
        error = locked.value
        assert error.pid == holder.pid and error.path == db
        assert "--stray-notebook" in error.command  # its command line, to recognise it
        assert error.waited >= 0.5
        message = str(error)
        assert f"process {holder.pid}" in message and f"kill {holder.pid}" in message
        assert "serving.duckdb" in message and f"PID {holder.pid}" in message  # DuckDB's text
        assert isinstance(error, duckdb.Error)  # callers catching DuckDB errors still do

        # The holder dies (SIGKILL, mid-transaction) while we wait: we get in, nothing is lost
        # and nothing half-written shows.
        threading.Timer(1.0, holder.kill).start()
        con = connect(db, lock_wait=60)
        assert holder.poll() is not None  # we got in because it went, not by a fluke
        assert con.execute("SELECT count(*), sum(x) FROM kept").fetchone() == (1000, 499500)
        con.close()
    finally:
        holder.kill()
        holder.wait(timeout=30)


DISK_FULL = textwrap.dedent("""
    import json, resource, signal, sys
    from pathlib import Path
    # A file may not grow past 2 MB: writes beyond fail with EFBIG ("File too large") exactly
    # where a full disk fails them with ENOSPC, inside DuckDB's and Parquet's own writers.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2_000_000, 2_000_000))
    from footfall_platform.serving.parquet import export_parquet
    from footfall_platform.serving.publish import ServingNotPublished, publish
    from footfall_platform.warehouse.connection import connect
    warehouse, serving = sys.argv[1], Path(sys.argv[2])
    out = {}
    con = connect(warehouse)
    try:
        publish(con, serving)
    except ServingNotPublished as error:
        out["publish"] = [str(error), error.disk_full, repr(error.__cause__)]
    con.close()
    try:
        export_parquet(serving, "next")
    except ServingNotPublished as error:
        out["parquet"] = [str(error), error.disk_full]
    print(json.dumps(out))
""")


def test_a_full_disk_during_publish_leaves_the_served_version_intact(tmp_path: Path) -> None:
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    con = connect(warehouse)
    con.execute("CREATE SCHEMA marts")
    con.execute(  # ~10 MB of incompressible text: far past the child's 2 MB
        "CREATE TABLE marts.fct_big AS SELECT range AS id, md5(range::VARCHAR) AS a, "
        "md5((range + 1)::VARCHAR) AS b FROM range(300000)"
    )
    first = publish(con, serving)
    con.close()
    exported = export_parquet(serving, first.version)
    before = serving.stat().st_ino

    child = subprocess.run(
        [sys.executable, "-c", DISK_FULL, str(warehouse), str(serving)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    out = json.loads(child.stdout.splitlines()[-1])
    message, disk_full, cause = out["publish"]
    assert "was not replaced" in message and "previous version is untouched" in message
    assert "File too large" in message and disk_full and "free disk space" in message
    assert "IOException" in cause  # DuckDB's own write failed: no simulation in our code
    parquet_message, parquet_full = out["parquet"]
    assert "serving_parquet was not replaced" in parquet_message and parquet_full

    assert serving.stat().st_ino == before  # never swapped
    reader = duckdb.connect(str(serving), read_only=True)
    assert check_complete(reader) == (first.version, 1)
    reader.close()
    leftovers = [p.name for p in tmp_path.rglob("*") if "building" in p.name or ".link" in p.name]
    assert leftovers == []  # half-written files are removed, not left to fill the disk
    assert parquet_folder(serving).resolve().name == exported.version
    assert sorted(p.name for p in (tmp_path / ".serving_parquet").iterdir()) == [first.version]


CRASHING_INGEST = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from footfall_platform.ingest.loader import SourceLoader
    from footfall_platform.landing.contract import LOAD_ORDER
    from footfall_platform.warehouse.connection import connect
    warehouse, landing, victim, marker = sys.argv[1:5]
    write_ledger = SourceLoader._write_ledger

    def stall(self, result, file, now):
        write_ledger(self, result, file, now)
        if result.path == victim:  # rows and ledger row written, the transaction not committed
            Path(marker).touch()
            time.sleep(600)  # until SIGKILL

    SourceLoader._write_ledger = stall
    con = connect(warehouse)
    con.execute("SET checkpoint_threshold = '1GB'")  # no checkpoint unless asked for
    loader = SourceLoader(con, Path(landing))
    for source in LOAD_ORDER:
        if source == "transactions":  # the files before are in the database file, the ones
            con.execute("CHECKPOINT")  # of this source only in the write-ahead log
        loader.load_source(source)
""")


def _raw_assets(settings: Settings, warehouse: Path) -> dg.ExecuteInProcessResult:
    resource = FootfallWarehouse(
        warehouse_path=str(warehouse), landing_path=str(settings.landing),
        pii_key_file=str(settings.pii_key_file), settle_seconds=0,
    )  # fmt: skip
    return dg.materialize(RAW_ASSETS, resources={"warehouse": resource})


def _accounted(con: duckdb.DuckDBPyConnection) -> None:
    """Every ledger row's counts are the rows in raw and quarantine; no row without a ledger."""
    for path, source, sha, loaded, quarantined in con.execute(
        "SELECT path, source, sha256, rows_loaded, rows_quarantined FROM ops.ingest_ledger "
        "WHERE status <> 'duplicate'"
    ).fetchall():
        in_raw = con.execute(
            f"SELECT count(*) FROM raw.{source} WHERE source_sha256 = ?", [sha]
        ).fetchone()[0]
        in_quarantine = con.execute(
            "SELECT count(*) FROM ops.quarantine WHERE sha256 = ?", [sha]
        ).fetchone()[0]
        assert (in_raw, in_quarantine) == (loaded, quarantined), path
    for source in LOAD_ORDER:
        orphans = con.execute(
            f"SELECT count(*) FROM raw.{source} WHERE source_sha256 NOT IN "
            "(SELECT sha256 FROM ops.ingest_ledger)"
        ).fetchone()[0]
        assert orphans == 0, source


@pytest.mark.slow
def test_a_run_killed_mid_write_leaves_a_warehouse_the_next_run_completes(
    home: Settings, tmp_path: Path
) -> None:
    generate_world(home.home, scale="small", seed=5)
    files = sorted(p for p in (home.landing / "transactions").rglob("*") if p.is_file())
    victim = files[len(files) // 2].relative_to(home.landing).as_posix()
    marker = tmp_path / "inside-the-transaction"
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING_INGEST, str(home.warehouse), str(home.landing), victim,
         str(marker)],
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert child.poll() is None, "the loader ended before reaching the file"
            assert time.monotonic() < deadline, "the loader never reached the file"
            time.sleep(0.05)
        wal = Path(f"{home.warehouse}.wal")
        assert wal.stat().st_size > 0  # files committed since the checkpoint
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        child.kill()
        child.wait(timeout=30)

    con = connect(home.warehouse, lock_wait=10)  # opens; replays the WAL of committed files
    ledger = dict(con.execute("SELECT path, status FROM ops.ingest_ledger").fetchall())
    assert victim not in ledger and any(p.startswith("transactions/") for p in ledger)
    _accounted(con)  # no half-loaded file: each is all there with its counts, or absent
    con.close()

    assert _raw_assets(home, home.warehouse).success  # the next run completes
    clean = tmp_path / "clean.duckdb"
    assert _raw_assets(home, clean).success  # the same drop, loaded in one uninterrupted run
    con = connect(home.warehouse)
    _accounted(con)
    con.execute(f"ATTACH '{clean}' AS clean (READ_ONLY)")
    ledger = "path, source, sha256, bytes, rows_in, rows_loaded, rows_quarantined, status"
    pairs = [("ops.ingest_ledger", ledger), ("ops.quarantine", "* EXCLUDE (quarantined_at)")]
    pairs += [(f"raw.{source}", "* EXCLUDE (loaded_at)") for source in LOAD_ORDER]
    for table, columns in pairs:  # the same rows, each exactly once, as in the clean run
        ours = f"SELECT {columns} FROM {table}"
        theirs = f"SELECT {columns} FROM clean.{table}"
        for a, b in ((ours, theirs), (theirs, ours)):
            extra = con.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchone()[0]
            assert extra == 0, (table, a)
    con.close()
