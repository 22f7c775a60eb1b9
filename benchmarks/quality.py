"""The transactions suite's validation time as a share of that table's load time.

Same process, same file, side by side: load N till lines through the raw layer (the baseline,
named "load"), then validate `raw.transactions` against its full GX suite (every rule, every
dataset: coverage joins, store-opening join, volume drift). Both sides are warmed first by a
50k-row load and validation (imports, GX's registries, DuckDB's caches), as in a running Dagster
process where checks follow one another. Goal: validation adds at most 25%.
Usage:

    python benchmarks/quality.py [--rows 1000000 5000000] [--memory-limit 1GB]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import STORES, make_file  # noqa: E402  (the ingest benchmark's till file)

PRODUCTS = 4000  # make_file draws SKU00000..SKU03999
WARM_UP_ROWS = 50_000


def measure(folder: Path, rows: int, memory_limit: str) -> tuple[float, float, bool]:
    from footfall_platform.ingest.loader import SourceLoader
    from footfall_platform.warehouse.connection import connect
    from quality.suites import suite_for
    from quality.validate import validate_suite

    landing = folder / "landing"
    for source in ("stores", "products", "transactions"):
        (landing / source).mkdir(parents=True)
    (landing / "stores" / "stores.csv").write_text(
        "store_id,name,city,timezone,opened_on\n"
        + "".join(f"{s},Store {s},City,{tz},2020-01-01\n" for s, tz in STORES)
    )
    (landing / "products" / "products.csv").write_text(
        "sku,name,category,brand,unit_price,description\n"
        + "".join(f"SKU{i:05d},Item {i},Cat {i % 9},Brand,9.99,Text\n" for i in range(PRODUCTS))
    )
    make_file(landing / "transactions" / "transactions.csv", rows)
    con = connect(folder / "w.duckdb", memory_limit=memory_limit)
    loader = SourceLoader(con, landing)
    loader.load_source("stores")
    loader.load_source("products")
    started = time.perf_counter()
    result = loader.load_source("transactions")
    load = time.perf_counter() - started
    assert result.rows_loaded == rows, result
    con.close()
    con = connect(folder / "w.duckdb", read_only=True, memory_limit=memory_limit)
    started = time.perf_counter()
    outcome = validate_suite(con, suite_for("raw.transactions"))
    validate = time.perf_counter() - started
    con.close()
    return load, validate, not outcome.blocking_failures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 5_000_000])
    parser.add_argument("--memory-limit", default="1GB")
    args = parser.parse_args()
    os.environ.setdefault("FOOTFALL_PII_KEY", "benchmark-key")
    print(f"raw.transactions suite vs loading the table (baseline: load), {os.cpu_count()} cores")
    print(f"{'rows':>10} {'load s':>8} {'validate s':>11} {'share':>7} {'rules pass':>11}")
    with tempfile.TemporaryDirectory() as tmp:  # both sides warm: imports, registries, caches
        measure(Path(tmp), WARM_UP_ROWS, args.memory_limit)
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            load, validate, ok = measure(Path(tmp), rows, args.memory_limit)
        print(f"{rows:>10,} {load:>8.2f} {validate:>11.2f} {validate / load:>7.1%} {ok!s:>11}")


if __name__ == "__main__":
    main()
