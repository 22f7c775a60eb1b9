"""The `footfall` command: generate a demo world, run the whole platform, inspect a home.

Commands that need Dagster import it lazily, so the engine commands (generate, ingest, status,
rules) work without loading the orchestration layer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from footfall_platform.settings import Settings

DAGSTER_YAML = """\
# Written by footfall: the warehouse allows one writing process, so every asset that writes it
# shares the pool `duckdb_writer`, one step at a time across all runs.
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def prepare_home(settings: Settings) -> None:
    """Create the home's folders and the Dagster instance config (pools serialise writers)."""
    for folder in (settings.home, settings.landing, settings.dagster_home, settings.reports):
        folder.mkdir(parents=True, exist_ok=True)
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)


def _print_status(settings: Settings) -> None:
    from footfall_platform.warehouse.connection import open_warehouse
    from footfall_platform.warehouse.inspect import (
        ledger_summary,
        quarantine_summary,
        table_counts,
        text_table,
    )
    from footfall_platform.warehouse.schema import ensure_schema

    if not settings.warehouse.exists():
        print(f"No warehouse at {settings.warehouse} yet: run `footfall demo` or `make demo`.")
        return
    with open_warehouse(settings.warehouse) as con:
        ensure_schema(con)
        print(f"\nTables in {settings.warehouse}:\n")
        print(text_table(["table", "rows"], table_counts(con)))
        print("\nIngest ledger (ops.ingest_ledger):\n")
        print(text_table(*ledger_summary(con)))
        headers, rows = quarantine_summary(con)
        print(f"\nQuarantine (ops.quarantine), {sum(r[2] for r in rows)} rows:\n")
        print(text_table(headers, rows) if rows else "(empty)")


def cmd_generate(args: argparse.Namespace) -> int:
    from footfall_platform.demo import generate_world

    started = time.perf_counter()
    truth = generate_world(
        Path(args.out), scale=args.scale, stores=args.stores, days=args.days,
        members=args.members, seed=args.seed,
        start=dt.date.fromisoformat(args.start) if args.start else None,
    )  # fmt: skip
    files = truth.get("files", {})
    print(
        f"Wrote the {args.scale} world to {args.out}/landing ({len(files)} files) and "
        f"{args.out}/truth.json in {time.perf_counter() - started:.1f} s."
    )
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    from footfall_platform.ingest.pseudonymise import create_key_file

    settings = Settings.from_env()
    if create_key_file(settings.pii_key_file):
        print(f"Wrote a new pseudonymisation key to {settings.pii_key_file} (mode 600). Keep it.")
    else:
        print(f"{settings.pii_key_file} exists already; it was left as it is.")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    """Load the landing zone without Dagster: for scripts and for debugging a drop."""
    from footfall_platform.ingest.loader import SourceLoader
    from footfall_platform.landing.contract import LOAD_ORDER
    from footfall_platform.warehouse.connection import open_warehouse

    settings = Settings.from_env()
    failed = 0
    with open_warehouse(settings.warehouse, memory_limit=settings.memory_limit) as con:
        loader = SourceLoader(
            con, settings.landing, pii_key_file=settings.pii_key_file,
            settle_seconds=settings.settle_seconds,
        )  # fmt: skip
        for source in args.sources or LOAD_ORDER:
            result = loader.load_source(source)
            print(
                f"{source:14} files {len(result.files):4}  loaded {result.rows_loaded:>10,}  "
                f"quarantined {result.rows_quarantined:>8,}"
            )
            for error in result.errors:
                print(f"  error: {error}", file=sys.stderr)
            failed += len(result.errors)
    return 1 if failed else 0


def cmd_init(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    prepare_home(settings)
    print(f"FOOTFALL_HOME is {settings.home}; Dagster keeps its runs in {settings.dagster_home}.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    _print_status(Settings.from_env())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the demo world if the landing zone is empty, then materialize every asset."""
    from footfall_platform.demo import generate_world
    from footfall_platform.ingest.pseudonymise import create_key_file

    settings = Settings.from_env()
    prepare_home(settings)
    if create_key_file(settings.pii_key_file):
        print(f"Created the demo's pseudonymisation key {settings.pii_key_file} (mode 600).")
    if not any(p.is_file() for p in settings.landing.rglob("*")):
        started = time.perf_counter()
        generate_world(settings.home, scale=args.scale, seed=args.seed)
        print(f"Generated the {args.scale} demo world in {time.perf_counter() - started:.1f} s.")
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    from footfall_platform.orchestration.run import check_outcomes, materialize_everything
    from footfall_platform.warehouse.inspect import text_table

    started = time.perf_counter()
    result = materialize_everything(settings)
    ok = result.success
    print(f"\nMaterialized every asset in {time.perf_counter() - started:.1f} s "
          f"({'success' if ok else 'FAILED'}).")  # fmt: skip
    _print_status(settings)
    print("\nQuality checks (Great Expectations; report: "
          f"{settings.reports / result.run_id / 'index.html'})")  # fmt: skip
    print(text_table(["table", "outcome", "summary"], check_outcomes(result)))
    print(
        "\nOpen the Dagster UI with `make ui` (http://127.0.0.1:3000): the runs above are in its "
        f"history (DAGSTER_HOME={settings.dagster_home}).\nThe warehouse is {settings.warehouse}."
    )
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="footfall", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a demo world (landing zone + truth.json)")
    gen.add_argument("--out", required=True)
    gen.add_argument("--scale", default="demo", choices=["small", "demo", "large"])
    gen.add_argument("--stores", type=int)
    gen.add_argument("--days", type=int)
    gen.add_argument("--members", type=int)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--start", help="first day, YYYY-MM-DD")
    gen.set_defaults(func=cmd_generate)

    demo = sub.add_parser("demo", help="generate the demo world and materialize every asset")
    demo.add_argument("--scale", default="demo", choices=["small", "demo", "large"])
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=cmd_demo)

    ingest = sub.add_parser("ingest", help="load new landing files without Dagster")
    ingest.add_argument("sources", nargs="*")
    ingest.set_defaults(func=cmd_ingest)

    sub.add_parser("status", help="ledger and quarantine summary").set_defaults(func=cmd_status)
    sub.add_parser("init", help="create the home folders and Dagster config").set_defaults(
        func=cmd_init
    )
    sub.add_parser("keygen", help="create the pseudonymisation key file").set_defaults(
        func=cmd_keygen
    )
    from footfall_platform.mining.rules_cli import register

    register(sub)
    from quality.cli import register as register_quality

    register_quality(sub)
    from footfall_platform.vision.cli import register as register_video

    register_video(sub)
    from footfall_platform.forecast.cli import register as register_forecast

    register_forecast(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
