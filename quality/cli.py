"""``footfall quality``: validate tables by hand and regenerate docs/quality.md.

The same suites and the same GX runner as the Dagster checks, so a data engineer can re-run a
failed contract from a terminal and read the same report.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path


def cmd_validate(args: argparse.Namespace) -> int:
    from footfall_platform.settings import Settings
    from footfall_platform.warehouse.connection import open_warehouse
    from quality.report import write_report
    from quality.suites import SUITES, suite_for
    from quality.validate import validate_suite

    settings = Settings.from_env()
    suites = [suite_for(t) for t in args.tables] if args.tables else SUITES
    run_dir = settings.reports / f"cli-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    worst = 0
    with open_warehouse(settings.warehouse, read_only=True) as con:
        for suite in suites:
            outcome = validate_suite(con, suite)
            write_report(outcome, run_dir)
            print(f"{outcome.seconds:6.2f} s  {outcome.summary()}")
            worst = max(worst, 2 if outcome.blocking_failures else 1 if outcome.warnings else 0)
    print(f"report: {run_dir / 'index.html'}")
    return 1 if worst == 2 else 0


def cmd_docs(args: argparse.Namespace) -> int:
    from quality.docs import render

    Path(args.out).write_text(render(), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    quality = sub.add_parser("quality", help="run quality suites, regenerate their docs")
    commands = quality.add_subparsers(dest="quality_command", required=True)
    validate = commands.add_parser("validate", help="validate tables against their suites")
    validate.add_argument("tables", nargs="*", help="schema.table (default: every suite)")
    validate.set_defaults(func=cmd_validate)
    docs = commands.add_parser("docs", help="write docs/quality.md from quality/suites/")
    docs.add_argument("--out", default="docs/quality.md")
    docs.set_defaults(func=cmd_docs)
