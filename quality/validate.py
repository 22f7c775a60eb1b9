"""Runs a suite with Great Expectations (GX Core 1.x) against the DuckDB warehouse.

GX's SQL execution engine pushes every expectation down to DuckDB, so a suite over millions of
rows costs a few aggregate queries, not a copy of the table into pandas. Two details of the
duckdb-engine SQLAlchemy dialect need care, both handled in `_SharedConnection`:
- its cursors share one result slot with the connection, so GX reading a result after the pooled
  connection is returned finds it empty: each GX cursor is an independent DuckDB cursor here;
- schema-qualified table assets lose their schema when GX reflects column types: the cursor's
  search path is set to the suite's schema instead.
The caller's connection is reused (read-only in checks), never closed here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import great_expectations as gx
from duckdb_engine import ConnectionWrapper, CursorWrapper
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.data_context.types.base import ProgressBarsConfig

from quality.rules import TABLE, Rule, Severity
from quality.suite import Suite

MAX_EXAMPLES = 20
REDACTED = "<redacted>"
RULE_META = "footfall_rule"

for _name in ("great_expectations", "great_expectations.expectations.registry"):
    logging.getLogger(_name).setLevel(logging.ERROR)


class _SharedConnection(ConnectionWrapper):
    """Hands GX independent cursors on a connection we own (see the module docstring)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, schema: str) -> None:
        super().__init__(con)
        self._con = con
        self._schema = schema

    def cursor(self) -> CursorWrapper:
        cursor = self._con.cursor()
        cursor.execute(f"SET search_path = '{self._schema}'")
        return CursorWrapper(cursor, self)

    def close(self) -> None:  # the caller owns the connection
        pass


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule found: readable in the UI without opening GX's JSON."""

    rule: Rule
    success: bool
    observed: Any = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    examples: list[Any] = field(default_factory=list)
    error: str | None = None

    @property
    def status(self) -> str:
        if self.success:
            return "passed"
        return "error" if self.rule.severity is Severity.ERROR else "warn"

    def as_row(self) -> dict[str, Any]:
        return {
            **self.rule.describe(),
            "outcome": self.status if self.error is None else f"{self.status} (not evaluated)",
            "observed": _short(self.observed),
            "unexpected": self.unexpected_count,
            "examples": _short(self.examples) if self.examples else "",
            "problem": self.error or "",
        }


@dataclass
class SuiteOutcome:
    suite: Suite
    outcomes: list[RuleOutcome]
    gx_results: dict[str, ExpectationSuiteValidationResult]
    validated_at: datetime
    seconds: float

    @property
    def blocking_failures(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.status == "error"]

    @property
    def warnings(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.status == "warn"]

    @property
    def passed(self) -> bool:
        return not self.blocking_failures and not self.warnings

    def summary(self) -> str:
        failed = self.blocking_failures + self.warnings
        if not failed:
            return f"{self.suite.table}: all {len(self.outcomes)} rules passed"
        return f"{self.suite.table}: " + "; ".join(
            f"[{o.rule.severity.value}] {o.rule.name}: observed {_short(o.observed)}"
            + (f", {o.unexpected_count} unexpected" if o.unexpected_count else "")
            for o in failed
        )


def _short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _examples(result: dict[str, Any], rule: Rule, private: tuple[str, ...]) -> list[Any]:
    rows = (result.get("details") or {}).get("unexpected_rows")
    if rows is not None:
        if hasattr(rows, "to_dict"):
            rows = rows.to_dict(orient="records")
        return [
            {k: (REDACTED if k in private else v) for k, v in dict(row).items()}
            for row in list(rows)[:MAX_EXAMPLES]
        ]
    values = result.get("partial_unexpected_list") or []
    if set(rule.columns) & set(private):
        return [REDACTED] * min(len(values), MAX_EXAMPLES)
    return list(values)[:MAX_EXAMPLES]


def _outcome(rule: Rule, result: Any, private: tuple[str, ...]) -> RuleOutcome:
    info = result.exception_info or {}
    raised = (
        info.get("raised_exception")
        if "raised_exception" in info
        else any(v.get("raised_exception") for v in info.values() if isinstance(v, dict))
    )
    if raised:
        message = info.get("exception_message") or next(
            (v.get("exception_message") for v in info.values() if isinstance(v, dict)), None
        )
        return RuleOutcome(rule, False, error=f"could not evaluate: {message}")
    body = result.result or {}
    observed = body.get("observed_value")
    if observed is None and "unexpected_percent" in body:
        observed = f"{100 - (body.get('unexpected_percent') or 0):.2f}% of rows as expected"
    count = body.get("unexpected_count")
    if count is None and rule.expectation.expectation_type == "unexpected_rows_expectation":
        count = observed
    return RuleOutcome(
        rule,
        bool(result.success),
        observed=observed,
        unexpected_count=count,
        unexpected_percent=body.get("unexpected_percent"),
        examples=[] if result.success else _examples(body, rule, private),
    )


FIGURES = "suite_figures"  # the batch of a suite's one-row derived datasets, side by side
# Expectations about one column's values: on a one-row dataset they read the same on a wider row.
ONE_COLUMN = {
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_null",
}


@dataclass(frozen=True)
class _Batch:
    """One GX batch and its rules: a table of the warehouse, a table of the derived database,
    or the FIGURES frame (where column c of dataset d is "d__c")."""

    name: str
    table: str
    rules: list[Rule]
    source: str = "derived"  # warehouse | derived | frame

    def expectations(self) -> list[Any]:
        updates = [{"id": None, "meta": {RULE_META: i}} for i in range(len(self.rules))]
        if self.source == "frame":
            for update, rule in zip(updates, self.rules, strict=True):
                update["column"] = f"{rule.dataset}__{rule.expectation.column}"
        return [r.expectation.copy(update=u) for r, u in zip(self.rules, updates, strict=True)]


def _plan(
    con: duckdb.DuckDBPyConnection, suite: Suite
) -> tuple[duckdb.DuckDBPyConnection, list[_Batch]]:
    """Compute each derived dataset once into a private in-memory database and plan the batches.

    GX asks several metrics of every expectation and re-runs a query asset for each, so a
    coverage join over millions of till lines would run a dozen times; the datasets are small
    (aggregates, or the offending rows only), so they are computed once here and GX reads them
    as plain tables. One-row datasets checked only by single-column rules (coverage shares,
    volume ratios) are validated side by side in one in-memory frame: each SQL batch costs
    ~70 ms of reflection and graph building whatever its size, a one-row frame ~35 ms.
    The warehouse connection stays read-only.
    """
    by_dataset: dict[str, list[Rule]] = {}
    for rule in suite.rules:
        by_dataset.setdefault(rule.dataset, []).append(rule)
    derived = duckdb.connect()
    derived.execute("SET TimeZone = 'UTC'")
    batches = (
        [_Batch(TABLE, suite.name, by_dataset.pop(TABLE), source="warehouse")]
        if TABLE in by_dataset
        else []
    )
    figures: list[str] = []
    for name, rules in by_dataset.items():
        derived.register("incoming", con.execute(suite.datasets[name]).fetch_arrow_table())
        derived.execute(f'CREATE TABLE "{name}" AS SELECT * FROM incoming')
        derived.unregister("incoming")
        rows = derived.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        if rows == 1 and all(r.expectation.expectation_type in ONE_COLUMN for r in rules):
            figures.append(name)
        else:
            batches.append(_Batch(name, name, rules))
    if figures:
        derived.execute(
            f'CREATE TABLE "{FIGURES}" AS SELECT '
            + ", ".join(
                f'"{d}"."{c}" AS "{d}__{c}"'
                for d in figures
                for c in derived.execute(f'SELECT * FROM "{d}" LIMIT 0').pl().columns
            )
            + " FROM "
            + " CROSS JOIN ".join(f'"{d}"' for d in figures)
        )
        rules = [r for d in figures for r in by_dataset[d]]
        batches.append(_Batch(FIGURES, FIGURES, rules, source="frame"))
    return derived, batches


def _source(context: Any, name: str, con: duckdb.DuckDBPyConnection, schema: str) -> Any:
    return context.data_sources.add_sql(
        name=name,
        connection_string="duckdb:///:memory:",  # never opened: the creator supplies `con`
        kwargs={"creator": lambda: _SharedConnection(con, schema)},
    )


def validate_suite(con: duckdb.DuckDBPyConnection, suite: Suite) -> SuiteOutcome:
    """Validate every rule of `suite` on the caller's connection, one GX batch per dataset."""
    started = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    # An ephemeral context has no project file, yet GX serialises its whole config to YAML after
    # every datasource, asset and batch definition added (a dozen times a suite, ~0.1 s).
    context._save_project_config = lambda *args, **kwargs: None
    # GX draws a progress bar per batch on stderr: noise in every check's log.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    derived, batches = _plan(con, suite)
    sources = {
        "warehouse": _source(context, "warehouse", con, suite.schema),
        "derived": _source(context, "derived", derived, "main"),
        "frame": context.data_sources.add_pandas("frames"),
    }
    outcomes: list[RuleOutcome] = []
    gx_results: dict[str, ExpectationSuiteValidationResult] = {}
    try:
        for plan in batches:
            name = suite.name if plan.source == "warehouse" else f"{suite.name}__{plan.name}"
            parameters = None
            if plan.source == "frame":
                asset = sources["frame"].add_dataframe_asset(name=name)
                definition = asset.add_batch_definition_whole_dataframe("all")
                parameters = {"dataframe": derived.execute(f'SELECT * FROM "{plan.table}"').df()}
            else:
                asset = sources[plan.source].add_table_asset(name=name, table_name=plan.table)
                definition = asset.add_batch_definition_whole_table("all")
            gx_suite = context.suites.add(  # one store write for the suite, not one per rule
                gx.ExpectationSuite(
                    name=f"{suite.table}:{plan.name}", expectations=plan.expectations()
                )  # fmt: skip
            )
            batch = definition.get_batch(batch_parameters=parameters)
            result = batch.validate(
                gx_suite,
                result_format={
                    "result_format": "SUMMARY",
                    "partial_unexpected_count": MAX_EXAMPLES,
                },
            )
            gx_results[plan.name] = result
            for item in result.results:
                rule = plan.rules[item.expectation_config.meta[RULE_META]]
                outcomes.append(_outcome(rule, item, suite.private_columns))
    finally:
        derived.close()
    order = {id(r): i for i, r in enumerate(suite.rules)}
    outcomes.sort(key=lambda o: order[id(o.rule)])
    return SuiteOutcome(
        suite, outcomes, gx_results, datetime.now(UTC), time.perf_counter() - started
    )
