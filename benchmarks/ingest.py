"""Transactions through the raw layer against DuckDB's own read_csv, side by side.

Baseline: `CREATE TABLE t AS SELECT * FROM read_csv(file)` in DuckDB: parsing and storing with no
checks, no quarantine, no pseudonymisation and no time zones. Ours: the full loader (typed,
validated, duplicates, UTC + local time, HMAC member keys, ledger, one transaction).

Both sides read the same file into a fresh database with the same memory limit, each run in its
own child process so that peak memory (max RSS) belongs to one side only. Each child first warms
up with its own load of a small file of the same shape (extensions loaded, code paths touched),
then times one load, up to the commit, and the CHECKPOINT after it: DuckDB's own CTAS leaves
part of its writing (merging the row groups its threads wrote) to the next checkpoint, while the
loader's INSERT leaves next to nothing, so both figures are shown. Runs alternate between the
sides and the median of `--repeat` runs is reported; CPU seconds (user + sys, to the commit) are
shown too, as they suffer less than wall time from other work on the machine. `--bad-every N` also times a file where every N-th row
repeats another (quarantined as a duplicate): the price of a file that is not clean.

    python benchmarks/ingest.py [--rows 1000000 5000000] [--memory-limit 1GB] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STORES = [("S1", "Europe/Paris"), ("S2", "Europe/London"), ("S3", "America/New_York"),
          ("S4", "Europe/Berlin"), ("S5", "Europe/Paris")]  # fmt: skip
WARM_UP_ROWS = 20_000


def make_file(path: Path, rows: int, bad_every: int = 0) -> None:
    """A realistic till file: local times (one store in UTC with Z), 60% member lines.

    With `bad_every`, every bad_every-th row repeats the row before it.
    """
    import duckdb

    stores = " UNION ALL ".join(f"SELECT {i} AS k, '{s}' AS s" for i, (s, _) in enumerate(STORES))
    row = f"CASE WHEN n % {bad_every} = {bad_every} - 1 THEN n - 1 ELSE n END" if bad_every else "n"
    duckdb.sql(f"""
        COPY (
            SELECT 'R' || (i // 3) AS receipt_id, st.s AS store_id,
                   strftime(TIMESTAMP '2025-01-01 08:00:00' + to_seconds((i * 7) % 40000000),
                            '%Y-%m-%dT%H:%M:%S') || CASE WHEN st.s = 'S2' THEN 'Z' ELSE '' END
                       AS sold_at,
                   CASE WHEN i % 5 < 3 THEN 'M' || (i * 7919 % 200000) ELSE '' END AS member_id,
                   'SKU' || lpad((i * 31 % 4000)::VARCHAR, 5, '0') AS sku,
                   CASE WHEN i % 50 = 0 THEN -1 ELSE 1 + i % 3 END AS quantity,
                   round(2 + (i * 37 % 9000) / 100.0, 2) AS unit_price,
                   CASE WHEN i % 10 = 0 THEN 0.5 ELSE 0 END AS discount
            FROM (SELECT {row} AS i FROM range({rows}) t(n)) JOIN ({stores}) st ON st.k = i % 5
        ) TO '{path}' (HEADER)""")


def make_landing(folder: Path, rows: int, bad_every: int = 0) -> Path:
    (folder / "landing" / "transactions").mkdir(parents=True)
    (folder / "landing" / "stores").mkdir(parents=True)
    (folder / "landing" / "stores" / "stores.csv").write_text(
        "store_id,name,city,timezone,opened_on\n"
        + "".join(f"{s},Store {s},City,{tz},2020-01-01\n" for s, tz in STORES)
    )
    csv = folder / "landing" / "transactions" / "transactions.csv"
    make_file(csv, rows, bad_every)
    return csv


def _cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load(kind: str, folder: Path, db: Path, memory_limit: str) -> dict:
    """One load of folder's transactions into a new database `db`, then a checkpoint.

    `seconds` and `cpu` run to the commit; `checkpoint` is the CHECKPOINT that follows, which
    is where DuckDB finishes writing whatever a statement left for later.
    """
    from footfall_platform.warehouse.connection import connect

    db.unlink(missing_ok=True)
    con = connect(db, memory_limit=memory_limit)
    csv = folder / "landing" / "transactions" / "transactions.csv"
    try:
        if kind == "duckdb":
            started, cpu = time.perf_counter(), _cpu()
            con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv}')")
            seconds, cpu = time.perf_counter() - started, _cpu() - cpu
            out = {"loaded": con.execute("SELECT count(*) FROM t").fetchone()[0], "quarantined": 0}
        else:
            from footfall_platform.ingest.loader import SourceLoader

            loader = SourceLoader(con, folder / "landing")
            loader.load_source("stores")
            started, cpu = time.perf_counter(), _cpu()
            result = loader.load_source("transactions")
            seconds, cpu = time.perf_counter() - started, _cpu() - cpu
            assert not result.errors, result.errors
            out = {"loaded": result.rows_loaded, "quarantined": result.rows_quarantined}
        started = time.perf_counter()
        con.execute("CHECKPOINT")
        return {**out, "seconds": seconds, "cpu": cpu, "checkpoint": time.perf_counter() - started}
    finally:
        con.close()


def run_child(kind: str, folder: Path, warm_up: Path, memory_limit: str) -> dict:
    """Child process: a warm-up load of a small file, then the timed load; peak RSS after both."""
    import resource

    _load(kind, warm_up, warm_up / f"{kind}.duckdb", memory_limit)
    out = _load(kind, folder, folder / f"{kind}.duckdb", memory_limit)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    (folder / f"{kind}.duckdb").unlink(missing_ok=True)
    return out


def compare(folder: Path, warm_up: Path, rows: int, args: argparse.Namespace) -> dict:
    env = {**os.environ, "FOOTFALL_PII_KEY": "benchmark-key"}
    runs: dict[str, list[dict]] = {"duckdb": [], "ours": []}
    for _ in range(args.repeat):
        for kind in runs:
            done = subprocess.run(
                [sys.executable, __file__, "--memory-limit", args.memory_limit,
                 "--child", kind, str(folder), str(warm_up)],
                env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            runs[kind].append(json.loads(done.stdout.strip().splitlines()[-1]))
    for kind, results in runs.items():
        for result in results:
            assert result["loaded"] + result["quarantined"] == rows, (kind, result)
    return {
        kind: {
            "seconds": statistics.median(r["seconds"] for r in results),
            "durable": statistics.median(r["seconds"] + r["checkpoint"] for r in results),
            "cpu": statistics.median(r["cpu"] for r in results),
            "peak_mb": max(r["peak_mb"] for r in results),
            "quarantined": results[0]["quarantined"],
        }
        for kind, results in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 5_000_000])
    parser.add_argument("--memory-limit", default=os.environ.get("FOOTFALL_DUCKDB_MEMORY", "1GB"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bad-every", type=int, default=0, help="also time a file with bad rows")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "FOLDER", "WARM_UP"))
    args = parser.parse_args()
    if args.child:
        kind, folder, warm_up = args.child
        print(json.dumps(run_child(kind, Path(folder), Path(warm_up), args.memory_limit)))
        return
    print(f"transactions through the raw layer vs DuckDB read_csv (memory limit "
          f"{args.memory_limit}, {os.cpu_count()} cores, median of {args.repeat} runs)")  # fmt: skip
    print(f"{'rows':>10} {'file':>10} {'duckdb s':>9} {'ours s':>7} {'duckdb rows/s':>14} "
          f"{'ours rows/s':>12} {'ratio':>6} {'cpu ratio':>9} {'+ checkpoint: duckdb s':>23} "
          f"{'ours s':>7} {'ratio':>6} {'duckdb MB':>10} {'ours MB':>8}")  # fmt: skip
    cases = [(rows, 0) for rows in args.rows]
    cases += [(rows, args.bad_every) for rows in args.rows if args.bad_every]
    with tempfile.TemporaryDirectory() as tmp:
        warm_up = Path(tmp) / "warm-up"
        make_landing(warm_up, WARM_UP_ROWS)
        for rows, bad_every in cases:
            folder = Path(tmp) / f"{rows}-{bad_every}"
            make_landing(folder, rows, bad_every)
            d, o = compare(folder, warm_up, rows, args).values()
            label = f"1/{bad_every} bad" if bad_every else "clean"
            print(f"{rows:>10,} {label:>10} {d['seconds']:>9.2f} {o['seconds']:>7.2f} "
                  f"{rows / d['seconds']:>14,.0f} {rows / o['seconds']:>12,.0f} "
                  f"{d['seconds'] / o['seconds']:>6.2f} {d['cpu'] / o['cpu']:>9.2f} "
                  f"{d['durable']:>23.2f} {o['durable']:>7.2f} {d['durable'] / o['durable']:>6.2f} "
                  f"{d['peak_mb']:>10.0f} {o['peak_mb']:>8.0f}", flush=True)  # fmt: skip
            if bad_every:
                print(f"{'':>17} ours quarantined {o['quarantined']:,} duplicate rows")
            for db in folder.glob("*.duckdb*"):
                db.unlink()
    print(
        "ratio = DuckDB seconds / our seconds (1.0 = as fast as DuckDB's own read_csv), timed to "
        "the commit; cpu ratio the same in CPU seconds;\n+ checkpoint: timed until the CHECKPOINT "
        "after the commit is done too (DuckDB's CTAS leaves part of its writing for it)"
    )


if __name__ == "__main__":
    main()
