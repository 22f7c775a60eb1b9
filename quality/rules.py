"""The vocabulary suites are written in: one call per rule, each with a severity and a reason.

A rule is a Great Expectations expectation plus what a data analyst needs to judge a failure:
how bad it is (ERROR stops everything built on the table, WARN reports and lets it run) and why
the rule exists. Rules run against the table itself or against a named *dataset*: a SQL query
over the warehouse declared by the suite (per store-day totals, coverage shares, daily volumes),
so table-level contracts that need a join or an aggregate are still plain GX expectations whose
observed values are readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import great_expectations as gx
from great_expectations.expectations import Expectation

TABLE = "table"  # the dataset name of the suite's own table


class Severity(StrEnum):
    ERROR = "ERROR"  # the table breaks its contract: nothing downstream may use it
    WARN = "WARN"  # worth a look; downstream still runs


ERROR = Severity.ERROR
WARN = Severity.WARN

# What SQLAlchemy reflects for DuckDB's types, which is what GX compares column types against.
# TIMESTAMP and TIMESTAMPTZ, DOUBLE and FLOAT reflect alike; list types reflect as nothing.
GX_TYPE_NAMES = {
    "VARCHAR": "String", "DATE": "DATE", "TIMESTAMP": "TIMESTAMP", "TIMESTAMPTZ": "TIMESTAMP",
    "INTEGER": "Integer", "BIGINT": "BigInteger", "DOUBLE": "FLOAT", "FLOAT": "FLOAT",
    "BOOLEAN": "BOOLEAN", "DECIMAL": "NUMERIC", "HUGEINT": "HugeInteger",
}  # fmt: skip


@dataclass(frozen=True)
class Rule:
    """One expectation with its severity, its reason, and the dataset it is checked on."""

    name: str
    expectation: Expectation
    severity: Severity
    why: str
    dataset: str = TABLE
    columns: tuple[str, ...] = field(default=())  # for the readable listing

    def describe(self) -> dict[str, Any]:
        return {
            "rule": self.name,
            "dataset": self.dataset,
            "columns": ", ".join(self.columns),
            "severity": self.severity.value,
            "why": self.why,
        }


def _rule(
    name: str,
    expectation: Expectation,
    why: str,
    severity: Severity,
    dataset: str,
    columns: tuple[str, ...],
) -> Rule:
    expectation.description = why
    return Rule(name, expectation, severity, why, dataset, columns)


def columns_match(
    names: list[str], *, why: str, severity: Severity = ERROR, dataset: str = TABLE
) -> Rule:
    """The table has exactly these columns, no more, no fewer."""
    return _rule(
        "columns match",
        gx.expectations.ExpectTableColumnsToMatchSet(column_set=names, exact_match=True),
        why, severity, dataset, tuple(names),
    )  # fmt: skip


def columns_are(
    columns: list[tuple[str, str]], why: str, severity: Severity = ERROR, dataset: str = TABLE
) -> list[Rule]:
    """The table has exactly these columns, each of this DuckDB type."""
    rules = [columns_match([name for name, _ in columns], why=why, severity=severity,
                           dataset=dataset)]  # fmt: skip
    for name, sql_type in columns:
        gx_type = GX_TYPE_NAMES.get(sql_type.split("(")[0].strip().upper())
        if gx_type is None:
            continue  # list and struct types: GX cannot reflect them
        rules.append(
            _rule(
                f"{name} is {sql_type}",
                gx.expectations.ExpectColumnValuesToBeOfType(column=name, type_=gx_type),
                why, severity, dataset, (name,),
            )
        )  # fmt: skip
    return rules


def not_null(
    *columns: str, why: str, severity: Severity = ERROR, dataset: str = TABLE
) -> list[Rule]:
    return [
        _rule(
            f"{c} not null", gx.expectations.ExpectColumnValuesToNotBeNull(column=c),
            why, severity, dataset, (c,),
        )
        for c in columns
    ]  # fmt: skip


def unique(*columns: str, why: str, severity: Severity = ERROR, dataset: str = TABLE) -> Rule:
    """No two rows share these columns: a hash aggregate, fast on millions of rows."""
    keys = ", ".join(f'"{c}"' for c in columns)
    query = (
        f"SELECT {keys}, count(*) AS copies FROM {{batch}} GROUP BY ALL HAVING count(*) > 1"
    )
    return _rule(
        f"({', '.join(columns)}) unique",
        gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query=query),
        why, severity, dataset, columns,
    )  # fmt: skip


def no_rows_from(
    name: str, query: str, *, why: str, severity: Severity = ERROR,
    columns: tuple[str, ...] = (), dataset: str = TABLE,
) -> Rule:
    """`query` (SQL reading the dataset as ``{batch}``, e.g. joined to a dimension) returns no
    rows; the rows it does return are the examples."""
    return _rule(
        name, gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query=query),
        why, severity, dataset, columns,
    )  # fmt: skip


def between(
    column: str,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    why: str,
    severity: Severity = ERROR,
    mostly: float | None = None,
    dataset: str = TABLE,
) -> Rule:
    """Values within [minimum, maximum]; `mostly` tolerates a share of exceptions."""
    kwargs: dict[str, Any] = {"column": column, "min_value": minimum, "max_value": maximum}
    if mostly is not None:
        kwargs["mostly"] = mostly
    low = "-inf" if minimum is None else f"{minimum:g}"
    high = "inf" if maximum is None else f"{maximum:g}"
    share = "" if mostly is None else f" for {mostly:.0%} of rows"
    return _rule(
        f"{column} in [{low}, {high}]{share}",
        gx.expectations.ExpectColumnValuesToBeBetween(**kwargs),
        why, severity, dataset, (column,),
    )  # fmt: skip


def one_of(
    column: str, values: list[str], *, why: str, severity: Severity = ERROR, dataset: str = TABLE
) -> Rule:
    return _rule(
        f"{column} in {{{', '.join(values)}}}",
        gx.expectations.ExpectColumnValuesToBeInSet(column=column, value_set=values),
        why, severity, dataset, (column,),
    )  # fmt: skip


def no_rows_where(
    name: str,
    condition: str,
    *,
    why: str,
    severity: Severity = ERROR,
    columns: tuple[str, ...] = (),
    dataset: str = TABLE,
) -> Rule:
    """No row of the dataset satisfies `condition` (SQL over its columns)."""
    return _rule(
        name,
        gx.expectations.UnexpectedRowsExpectation(
            unexpected_rows_query="SELECT * FROM {batch} WHERE "
            + condition.replace("{", "{{").replace("}", "}}")
        ),
        why, severity, dataset, columns,
    )  # fmt: skip


def row_count_between(
    minimum: int | None = None,
    maximum: int | None = None,
    *,
    why: str,
    severity: Severity = ERROR,
    dataset: str = TABLE,
) -> Rule:
    return _rule(
        f"row count in [{minimum}, {maximum}]",
        gx.expectations.ExpectTableRowCountToBeBetween(min_value=minimum, max_value=maximum),
        why, severity, dataset, (),
    )  # fmt: skip
