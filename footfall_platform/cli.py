"""The `footfall` command: generate a demo world, run the whole platform, inspect a home.

Commands that need Dagster import it lazily, so the engine commands (generate, ingest, status,
rules) work without loading the orchestration layer.

Exit codes: 0 done; 1 something failed (a run, a file that did not load, a doctor check);
2 findings or bad input (personal data found, a bad argument, an unreadable input file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import time
from pathlib import Path

from footfall_platform.settings import Settings, SettingsError

EXIT_OK, EXIT_FAILED, EXIT_FINDINGS = 0, 1, 2
log = logging.getLogger("footfall.cli")

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


def _bars(args: argparse.Namespace) -> bool:
    from footfall_platform.operations.progress import bars_enabled

    return bars_enabled(json_logs=getattr(args, "json_logs", False))


def cmd_generate(args: argparse.Namespace) -> int:
    from footfall_platform.demo import generate_world
    from footfall_platform.operations.progress import watch_files

    started = time.perf_counter()
    with watch_files(Path(args.out) / "landing", "generating", enabled=_bars(args)):
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
    from footfall_platform.ingest.loader import SourceLoader, SourceResult
    from footfall_platform.ingest.pseudonymise import MissingPiiKey
    from footfall_platform.landing.contract import LOAD_ORDER
    from footfall_platform.operations.progress import bar
    from footfall_platform.warehouse.connection import open_warehouse

    unknown = [s for s in args.sources if s not in LOAD_ORDER]
    if unknown:
        print(f"footfall ingest: unknown source {', '.join(unknown)}; the sources are "
              f"{', '.join(LOAD_ORDER)}", file=sys.stderr)  # fmt: skip
        return EXIT_FINDINGS
    settings = Settings.from_env()
    failed = 0
    with open_warehouse(settings.warehouse, memory_limit=settings.memory_limit) as con:
        loader = SourceLoader(
            con, settings.landing, pii_key_file=settings.pii_key_file,
            settle_seconds=settings.settle_seconds,
        )  # fmt: skip
        for source in args.sources or LOAD_ORDER:
            files = loader.pending(source)
            result = SourceResult(source)
            with bar(len(files), source, "file", enabled=_bars(args)) as progress:
                for file in files:  # one at a time: the bar moves per file
                    try:
                        done = loader.load_source(source, [file])
                    except MissingPiiKey as error:
                        print(f"footfall ingest: {source}: {error}", file=sys.stderr)
                        return EXIT_FAILED
                    result.files += done.files
                    result.errors += done.errors
                    progress.update(1)
            print(
                f"{source:14} files {len(result.files):4}  loaded {result.rows_loaded:>10,}  "
                f"quarantined {result.rows_quarantined:>8,}"
            )
            for error in result.errors:
                print(f"  error: {error}", file=sys.stderr)
            failed += len(result.errors)
    return EXIT_FAILED if failed else EXIT_OK


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
        from footfall_platform.operations.progress import watch_files

        started = time.perf_counter()
        with watch_files(settings.landing, "generating", enabled=_bars(args)):
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


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check the install, the key, the folders, the databases, the disk and the Dagster config."""
    import json

    from footfall_platform.operations.doctor import as_json, exit_code, format_checks, run_checks

    checks = run_checks(Settings.from_env())
    print(json.dumps(as_json(checks), indent=1) if args.json else format_checks(checks))
    return exit_code(checks)


def cmd_audit_pii(args: argparse.Namespace) -> int:
    """Scan the warehouse and the serving file for personal data; 2 if any is found."""
    import json

    from footfall_platform.operations.pii_audit import audit_files, format_report
    from footfall_platform.warehouse.connection import WarehouseLocked

    settings = Settings.from_env()
    try:
        report = audit_files([("warehouse", settings.warehouse), ("serving", settings.serving)])
    except (FileNotFoundError, WarehouseLocked) as error:
        print(f"footfall audit-pii: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(report.as_dict(), indent=1) if args.json else format_report(report))
    log.info("pii audit", extra={"hits": report.hits, "tables": report.tables})
    return EXIT_FINDINGS if report.hits else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="footfall", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--log-json", action="store_true",
        help="log JSON lines on stderr (also FOOTFALL_LOG_FORMAT=json); no progress bars",
    )  # fmt: skip
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
    doctor = sub.add_parser("doctor", help="check the install, key, folders, databases, disk")
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    doctor.set_defaults(func=cmd_doctor)
    audit = sub.add_parser(
        "audit-pii", help="look for personal data in every table (exit 2 if any)"
    )
    audit.add_argument("--json", action="store_true", help="print one JSON object")
    audit.set_defaults(func=cmd_audit_pii)
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
    from footfall_platform.operations.run_log import configure_logging, wants_json

    args = build_parser().parse_args(argv)
    args.json_logs = wants_json(args.log_json)
    configure_logging(args.json_logs, logging.INFO if args.json_logs else logging.WARNING)
    started = time.perf_counter()
    try:
        code = int(args.func(args) or 0)
    except SettingsError as error:  # a bad FOOTFALL_* variable: bad input, said plainly
        print(f"footfall {args.command}: {error}", file=sys.stderr)
        code = EXIT_FINDINGS
    seconds = round(time.perf_counter() - started, 3)
    log.info("command finished",
             extra={"command": args.command, "exit_code": code, "seconds": seconds})  # fmt: skip
    return code


if __name__ == "__main__":
    sys.exit(main())
