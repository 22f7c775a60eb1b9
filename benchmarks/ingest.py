"""Transactions through the raw layer against DuckDB's own read_csv, side by side.

Baseline: `CREATE TABLE t AS SELECT * FROM read_csv(file)` in DuckDB — parsing and storing with
no checks, no quarantine, no pseudonymisation and no time zones. Ours: the full loader (typed,
validated, duplicates, UTC + local time, HMAC member keys, ledger). Each run happens in its own
process so peak memory (max RSS) is measured per run. Usage:

    python benchmarks/ingest.py [--rows 1000000 5000000] [--memory-limit 1GB]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STORES = [("S1", "Europe/Paris"), ("S2", "Europe/London"), ("S3", "America/New_York"),
          ("S4", "Europe/Berlin"), ("S5", "Europe/Paris")]  # fmt: skip


def make_file(path: Path, rows: int) -> None:
    """A realistic till file: local times (one store in UTC with Z), 60% member lines."""
    import duckdb

    stores = " UNION ALL ".join(f"SELECT {i} AS k, '{s}' AS s" for i, (s, _) in enumerate(STORES))
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
            FROM range({rows}) t(i) JOIN ({stores}) st ON st.k = i % 5
        ) TO '{path}' (HEADER)""")


def run_one(kind: str, folder: Path, memory_limit: str) -> dict:
    """Child process: load once, report seconds and peak RSS."""
    import resource

    from footfall_platform.warehouse.connection import connect

    db = folder / f"{kind}.duckdb"
    db.unlink(missing_ok=True)
    con = connect(db, memory_limit=memory_limit)
    csv = folder / "landing" / "transactions" / "transactions.csv"
    started = time.perf_counter()
    if kind == "duckdb":
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv}')")
        rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    else:
        from footfall_platform.ingest.loader import SourceLoader

        loader = SourceLoader(con, folder / "landing")
        loader.load_source("stores")
        started = time.perf_counter()
        result = loader.load_source("transactions")
        assert not result.errors, result.errors
        rows = result.rows_loaded
        assert result.rows_quarantined == 0
    seconds = time.perf_counter() - started
    con.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"kind": kind, "rows": rows, "seconds": seconds, "peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 5_000_000])
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FOLDER"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child[0], Path(args.child[1]), args.memory_limit)))
        return
    env = {**os.environ, "FOOTFALL_PII_KEY": "benchmark-key"}
    print(f"transactions through the raw layer vs DuckDB read_csv (memory limit "
          f"{args.memory_limit}, {os.cpu_count()} cores)")  # fmt: skip
    print(f"{'rows':>10} {'duckdb s':>9} {'ours s':>8} {'ours rows/s':>12} {'ratio':>6} "
          f"{'duckdb MB':>10} {'ours MB':>8}")
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "landing" / "transactions").mkdir(parents=True)
            (folder / "landing" / "stores").mkdir(parents=True)
            (folder / "landing" / "stores" / "stores.csv").write_text(
                "store_id,name,city,timezone,opened_on\n"
                + "".join(f"{s},Store {s},City,{tz},2020-01-01\n" for s, tz in STORES)
            )
            make_file(folder / "landing" / "transactions" / "transactions.csv", rows)
            out = {}
            for kind in ("duckdb", "ours"):
                done = subprocess.run(
                    [sys.executable, __file__, "--memory-limit", args.memory_limit,
                     "--child", kind, str(folder)],
                    env=env, capture_output=True, text=True, check=True,
                )  # fmt: skip
                out[kind] = json.loads(done.stdout.strip().splitlines()[-1])
            d, o = out["duckdb"], out["ours"]
            assert d["rows"] == o["rows"] == rows
            print(f"{rows:>10,} {d['seconds']:>9.2f} {o['seconds']:>8.2f} "
                  f"{rows / o['seconds']:>12,.0f} {d['seconds'] / o['seconds']:>6.2f} "
                  f"{d['peak_mb']:>10.0f} {o['peak_mb']:>8.0f}")  # fmt: skip
    print("ratio = DuckDB seconds / our seconds (1.0 = as fast as DuckDB's own read_csv)")


if __name__ == "__main__":
    main()
