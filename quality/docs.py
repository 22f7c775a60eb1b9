"""docs/quality.md, generated from the suites so the analysts' reading never drifts from the code."""

from __future__ import annotations

from itertools import groupby

from quality.suite import Suite
from quality.suites import SUITES

HEADER = """# Quality suites

Generated from `quality/suites/` by `footfall quality docs` (a test fails when this file is stale).
Every warehouse table has one suite; each runs as a blocking Dagster asset check
(`gx_<table>_contract`) with Great Expectations after the table is written.

- **ERROR** rules stop every asset built on the table, in the same run and in later automated
  runs (`all_deps_blocking_checks_passed`), until the table meets its contract again.
- **WARN** rules report in the check's metadata and the run's report, and let downstream run.
- A rule runs on the table itself or on a named dataset: a SQL query over the warehouse (per
  store-day totals, coverage shares, daily volumes) declared next to the rules.
- Reports: `$FOOTFALL_REPORTS/<run id>/index.html` (GX Data Docs pages per batch beside them),
  linked from each check's metadata.
"""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def suite_markdown(suite: Suite) -> str:
    lines = [
        f"## `{suite.table}`",
        "",
        suite.purpose,
        "",
        "| rule | on | severity | why |",
        "|---|---|---|---|",
    ]
    for (dataset, severity, why), rules in groupby(
        suite.rules, key=lambda r: (r.dataset, r.severity.value, r.why)
    ):  # consecutive rules with one reason read as one row
        names = "; ".join(_cell(r.name) for r in rules)
        lines.append(f"| {names} | {dataset} | {severity} | {_cell(why)} |")
    if suite.datasets:
        lines += ["", "Datasets:", ""]
        lines += [f"- `{name}`: `{_cell(sql)}`" for name, sql in suite.datasets.items()]
    return "\n".join(lines) + "\n"


def render() -> str:
    return HEADER + "\n" + "\n".join(suite_markdown(s) for s in SUITES)
