"""Human-readable validation reports: one folder per run, one page per table.

Each table's page starts with our own summary (rule, severity, why, outcome, observed value) and
links GX's own Data Docs rendering of every batch it validated. The run's index lists every table
checked in that run so far; it is rewritten by each check, so it is complete when the run ends.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from great_expectations.render.renderer import ValidationResultsPageRenderer
from great_expectations.render.view import DefaultJinjaPageView

from quality.validate import SuiteOutcome

STATUS_COLOURS = {"passed": "#1a7f37", "warn": "#9a6700", "error": "#cf222e"}
STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
    "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 8px;"
    "text-align:left;vertical-align:top;font-size:13px}th{background:#f4f4f4}"
)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _status_cell(status: str) -> str:
    colour = STATUS_COLOURS.get(status.split(" ")[0], "#000")
    return f"<b style='color:{colour}'>{html.escape(status)}</b>"


def write_report(outcome: SuiteOutcome, run_dir: Path) -> Path:
    """Write the table's page (and GX's pages) under `run_dir`; return the page's path."""
    table_dir = run_dir / _safe(outcome.suite.table)
    table_dir.mkdir(parents=True, exist_ok=True)
    gx_links = []
    for dataset, result in outcome.gx_results.items():
        document = ValidationResultsPageRenderer().render(result)
        page = table_dir / f"gx_{_safe(dataset)}.html"
        page.write_text(DefaultJinjaPageView().render(document), encoding="utf-8")
        gx_links.append(f"<a href='{page.name}'>{html.escape(dataset)}</a>")
    keys = ["rule", "dataset", "columns", "severity", "outcome", "observed", "unexpected",
            "examples", "why", "problem"]  # fmt: skip
    rows = []
    for o in outcome.outcomes:
        row = o.as_row()
        rows.append([
            _status_cell(str(row[k])) if k == "outcome" else html.escape(str(row[k] or ""))
            for k in keys
        ])  # fmt: skip
    status = "error" if outcome.blocking_failures else "warn" if outcome.warnings else "passed"
    body = (
        f"<h1>{html.escape(outcome.suite.table)} — {_status_cell(status)}</h1>"
        f"<p>{html.escape(outcome.suite.purpose)}</p>"
        f"<p>Validated {outcome.validated_at:%Y-%m-%d %H:%M:%S} UTC in {outcome.seconds:.2f} s; "
        f"{len(outcome.outcomes)} rules, {len(outcome.blocking_failures)} ERROR failures, "
        f"{len(outcome.warnings)} warnings. Great Expectations Data Docs per batch: "
        f"{', '.join(gx_links)}. <a href='../index.html'>All tables of this run</a></p>"
        + _table(keys, rows)
    )
    index = table_dir / "index.html"
    index.write_text(_page(f"{outcome.suite.table} validation", body), encoding="utf-8")
    (table_dir / "summary.json").write_text(
        json.dumps({"table": outcome.suite.table, "status": status, "summary": outcome.summary(),
                    "validated_at": outcome.validated_at.isoformat()}),
        encoding="utf-8",
    )  # fmt: skip
    _write_run_index(run_dir)
    return index


def _write_run_index(run_dir: Path) -> None:
    rows = []
    for summary_file in sorted(run_dir.glob("*/summary.json")):
        s = json.loads(summary_file.read_text(encoding="utf-8"))
        link = f"<a href='{summary_file.parent.name}/index.html'>{html.escape(s['table'])}</a>"
        rows.append([link, _status_cell(s["status"]), html.escape(s["summary"]),
                     html.escape(s["validated_at"])])  # fmt: skip
    body = f"<h1>Validation run {html.escape(run_dir.name)}</h1>" + _table(
        ["table", "status", "summary", "validated at (UTC)"], rows
    )
    (run_dir / "index.html").write_text(_page("Validation run", body), encoding="utf-8")
