"""A suite: the contract of one warehouse table, as rules over the table and derived datasets."""

from __future__ import annotations

from dataclasses import dataclass, field

from quality.rules import TABLE, Rule


@dataclass(frozen=True)
class Suite:
    """Everything a table promises to the tables built on it.

    `datasets` name SQL queries over the warehouse (aggregates, joins with other tables) that rules
    can target besides the table itself; `private_columns` never appear in failure examples.
    """

    table: str  # schema.name
    asset_key: tuple[str, ...]
    purpose: str
    rules: tuple[Rule, ...]
    datasets: dict[str, str] = field(default_factory=dict)
    private_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = {r.dataset for r in self.rules} - {TABLE, *self.datasets}
        if unknown:
            raise ValueError(f"suite {self.table}: rules name unknown datasets {sorted(unknown)}")
        names = [(r.dataset, r.name) for r in self.rules]
        if len(names) != len(set(names)):
            raise ValueError(f"suite {self.table}: two rules share a name")

    @property
    def schema(self) -> str:
        return self.table.split(".")[0]

    @property
    def name(self) -> str:
        return self.table.split(".")[1]

    @property
    def check_name(self) -> str:
        return f"gx_{self.name}_contract"


def latest_rows(table: str, key: tuple[str, ...]) -> str:
    """The current version of each key: later deliveries correct earlier ones (as in staging)."""
    keys = ", ".join(key)
    return (
        f"SELECT * FROM {table} QUALIFY row_number() OVER "
        f"(PARTITION BY {keys} ORDER BY loaded_at DESC, source_line DESC) = 1"
    )


CURRENT_STORES = latest_rows("raw.stores", ("store_id",))


def daily_volume_drift(table: str, window_days: int = 28) -> str:
    """Rows on the latest local date against the median of the days before it.

    One row: the latest date, its rows, the trailing median and their ratio (null while fewer
    than a week of history exists, so a young warehouse cannot raise a false alarm).
    """
    return f"""
        WITH daily AS (SELECT local_date, count(*) AS n FROM {table} GROUP BY local_date),
        latest AS (SELECT max(local_date) AS d FROM daily),
        history AS (
            SELECT median(n) AS median_rows, count(*) AS days FROM daily, latest
            WHERE local_date < latest.d AND local_date >= latest.d - {window_days}
        )
        SELECT latest.d AS latest_date, daily.n AS latest_rows, history.median_rows,
               CASE WHEN history.days >= 7 THEN daily.n / history.median_rows END AS ratio
        FROM latest JOIN daily ON daily.local_date = latest.d CROSS JOIN history
    """


def coverage(table: str, column: str, reference: str) -> str:
    """Share of the table's rows whose `column` value exists in `reference`.

    Aggregating to distinct values before the join keeps this cheap on millions of rows.
    """
    return f"""
        SELECT sum(t.n) AS rows_checked,
               coalesce(sum(t.n) FILTER (WHERE r.{column} IS NULL), 0) AS rows_unmatched,
               coalesce(1 - coalesce(sum(t.n) FILTER (WHERE r.{column} IS NULL), 0) / sum(t.n),
                        1.0) AS share_matched
        FROM (SELECT {column}, count(*) AS n FROM {table} WHERE {column} IS NOT NULL
              GROUP BY {column}) t
        LEFT JOIN (SELECT DISTINCT {column} FROM {reference}) r ON t.{column} = r.{column}
    """


def before_store_opened(local_date: str = "local_date") -> str:
    """Store-days dated before their store opened (a wrong clock or a wrong store id), as a query
    over the validated batch: checked in the table's own batch, no extra dataset to build."""
    return f"""
        SELECT t.store_id, t.{local_date} AS local_date, s.opened_on, count(*) AS rows
        FROM {{batch}} t JOIN ({CURRENT_STORES}) s USING (store_id)
        WHERE t.{local_date} < s.opened_on GROUP BY ALL
    """
