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
    raised = info.get("raised_exception") if "raised_exception" in info else any(
        v.get("raised_exception") for v in info.values() if isinstance(v, dict)
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


def validate_suite(con: duckdb.DuckDBPyConnection, suite: Suite) -> SuiteOutcome:
    """Validate every rule of `suite`, one GX batch per dataset, on the caller's connection."""
    started = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_sql(
        name="warehouse",
        connection_string="duckdb:///:memory:",  # never opened: the creator supplies `con`
        kwargs={"creator": lambda: _SharedConnection(con, suite.schema)},
    )
    outcomes: list[RuleOutcome] = []
    gx_results: dict[str, ExpectationSuiteValidationResult] = {}
    for dataset in [TABLE, *suite.datasets]:
        rules = [r for r in suite.rules if r.dataset == dataset]
        if not rules:
            continue
        asset_name = suite.name if dataset == TABLE else f"{suite.name}__{dataset}"
        if dataset == TABLE:
            asset = source.add_table_asset(name=asset_name, table_name=suite.name)
        else:
            query = f"SELECT * FROM ({suite.datasets[dataset].strip()}) AS {dataset}"
            asset = source.add_query_asset(name=asset_name, query=query)
        expectations = [
            rule.expectation.copy(update={"id": None, "meta": {RULE_META: i}})
            for i, rule in enumerate(rules)
        ]  # one store write for the suite, not one per expectation
        gx_suite = context.suites.add(
            gx.ExpectationSuite(name=f"{suite.table}:{dataset}", expectations=expectations)
        )
        batch = asset.add_batch_definition_whole_table("all").get_batch()
        result = batch.validate(
            gx_suite,
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": MAX_EXAMPLES},
        )
        gx_results[dataset] = result
        for item in result.results:
            rule = rules[item.expectation_config.meta[RULE_META]]
            outcomes.append(_outcome(rule, item, suite.private_columns))
    order = {id(r): i for i, r in enumerate(suite.rules)}
    outcomes.sort(key=lambda o: order[id(o.rule)])
    return SuiteOutcome(
        suite, outcomes, gx_results, datetime.now(UTC), time.perf_counter() - started
    )
