"""The bulk path: the good rows of a file, typed while it is read and loaded in one INSERT.

The typed stage holds each row's typed values and one boolean, `_sure1`: the row passed every
check it can answer alone. Only a row that fails one keeps its text. Then the lookups are built
from the distinct values of the file (store zones, UTC offsets, member keys, hashes that repeat),
and one INSERT loads every row that is certainly good.

Certainly good is deliberately conservative: a row that fails a check, may repeat another row or
key, or names an unknown store is not judged here but left over (REST) for the text stage, which
gives the exact verdict and reasons (validate.ROWS). A row left over wrongly is still loaded
there, so the bulk path can only make a file faster, never change what it loads.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from footfall_platform.ingest.lookups import MEMBER_KEYS, STORES, member_key_table, utc_offsets
from footfall_platform.ingest.stage import STAGE, TYPED, TYPED_ROWS
from footfall_platform.ingest.validate import (
    ZONES,
    Check,
    any_broken,
    clock_sql,
    column_checks,
    field_sql,
    hours_sql,
    key_values,
    offset_join,
    offset_sql,
    parse_sql,
    row_rules,
    sent_fields,
    store_check,
    timed_selects,
    timestamp_columns,
    value_sql,
)
from footfall_platform.landing.contract import Source

BULK = "_ff_bulk"
REST = "_ff_rest"
REPEATED_ROWS = "_ff_repeated_rows"
REPEATED_KEYS = "_ff_repeated_keys"
TABLES = (REST, REPEATED_ROWS, REPEATED_KEYS)


def _text_fields(fields: dict[str, str]) -> list[str]:
    return sorted({f for f in fields.values() if f.startswith('"')})


def typed_query(source: Source, fields: dict[str, str], numbered: bool) -> Callable[[str], str]:
    """The query of the typed stage, given the SQL of the file's fields (c0..cN as text).

    Each level names what the next one reads, so a value is trimmed, parsed and checked once.
    """

    def query(relation: str) -> str:
        checks: list[Check] = []
        values, typed, clocks = [], [], []
        for column in source.columns:
            v = f'"{column.name}__v"'
            values.append(f"{value_sql(column, field_sql(fields, column.name, ''))} AS {v}")
            checks += column_checks(column, v, f'"{column.name}"', zones=False)
            if column.kind != "timestamp":
                typed.append(f'{parse_sql(column, v)} AS "{column.name}"')
                continue
            offset, clock = f'"{column.name}__offset"', f'"{column.name}__clock"'
            typed.append(f"{offset_sql(v)} AS {offset}")
            clocks.append(f"{clock_sql(v, offset)} AS {clock}")
            checks.append((f"{v} IS NOT NULL AND {clock} IS NULL", "NULL"))  # did not parse
        checks += row_rules(source, timed=False)  # over the typed values of the row alone
        if any("SELECT" in condition for condition, _ in checks):  # a lookup is a join, and
            raise ValueError("the typed stage may not look values up: rows would lose their order")
        hashes = [f"hash({', '.join(sent_fields(source, fields, ''))}) AS _h"]
        if source.key:
            hashes.append(f"hash({', '.join(key_values(source, fields, ''))}) AS _kh")
        kept = [f"CASE WHEN _sure1 THEN NULL ELSE {f} END AS {f}" for f in _text_fields(fields)]
        stored = ["line"] if numbered else []
        stored += [f'"{c.name}"' for c in source.columns if c.kind != "timestamp"]
        for name in timestamp_columns(source):
            stored += [f'"{name}__offset"', f'"{name}__clock"']
        stored += ["_h", "_kh"] if source.key else ["_h"]
        levels = [
            f"SELECT *, {', '.join(values)} FROM ({relation})",
            f"SELECT *, {', '.join(typed)} FROM ({{}})",
            f"SELECT *, {', '.join([*clocks, *hashes])} FROM ({{}})",
            f"SELECT *, NOT ({any_broken(checks)}) AS _sure1 FROM ({{}})",
            f"SELECT {', '.join([*stored, '_sure1', *kept])} FROM ({{}})",
        ]
        sql = levels[0]
        for level in levels[1:]:
            sql = level.replace("({})", f"({sql})")
        return sql

    return query


def _repeated(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """Hashes that occur more than once: the rows that may repeat another (or its key)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {column} AS h FROM {TYPED_ROWS} "
        f"GROUP BY {column} HAVING count(*) > 1"
    )
    return bool(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def define_bulk(
    con: duckdb.DuckDBPyConnection, source: Source, fields: dict[str, str], key: bytes | None
) -> None:
    """BULK: every row of the typed stage with its looked-up values and `_sure`."""
    timestamps = timestamp_columns(source)
    if source.member_column:
        assert key is not None
        ids = f'SELECT "{source.member_column}" AS member_id FROM {TYPED_ROWS}'
        member_key_table(con, key, ids)
    if timestamps:
        utc_offsets(con, hours_sql(source, f"SELECT * FROM {TYPED_ROWS}"))
    store = f't."{source.store_column}"'
    joins, sure = [], ["t._sure1"]
    if source.store_column:
        if not timestamps:
            joins.append(f"LEFT JOIN {STORES} st ON st.store_id = {store}")
        broken, _ = store_check(store, "o0.tz" if timestamps else "st.tz")
        sure.append(f"NOT coalesce({broken}, false)")
    offs = [f"o{i}.off" for i in range(len(timestamps))]
    for i, name in enumerate(timestamps):
        joins.append(offset_join("t.", name, f"o{i}", store))
        # a clock that parsed has its instant: as sent, or through the store's offset
        sure.append(f'(t."{name}__clock" IS NULL OR t."{name}__offset" OR {offs[i]} IS NOT NULL)')
    selects = ["t.line", "t._pos", "t._h", *timed_selects(source, "t.", offs)]
    selects += [f't."{c.name}"' for c in source.columns if c.kind != "timestamp"]
    if source.member_column:
        joins.append(f'LEFT JOIN {MEMBER_KEYS} k ON k.member_id = t."{source.member_column}"')
        selects.append("k.member_key AS _member_key")
    for i, column in enumerate(c for c in source.columns if c.kind == "timezone"):
        joins.append(f'LEFT JOIN {ZONES} z{i} ON z{i}.name = t."{column.name}"')
        sure.append(f'(t."{column.name}" IS NULL OR z{i}.name IS NOT NULL)')
    if _repeated(con, REPEATED_ROWS, "_h"):
        joins.append(f"LEFT JOIN {REPEATED_ROWS} rr ON rr.h = t._h")
        sure.append("rr.h IS NULL")
    if source.key and _repeated(con, REPEATED_KEYS, "_kh"):
        joins.append(f"LEFT JOIN {REPEATED_KEYS} rk ON rk.h = t._kh")
        sure.append("rk.h IS NULL")
    selects += ["t._sure1", *(f"t.{f}" for f in _text_fields(fields))]
    selects.append(f"{' AND '.join(sure)} AS _looked_up")
    inner = f"SELECT {', '.join(selects)} FROM {TYPED} t {' '.join(joins)}"
    rules = any_broken(row_rules(source, timed=True))
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {BULK} AS SELECT *, coalesce(_looked_up AND NOT ({rules}), "
        f"false) AS _sure FROM ({inner})"
    )


def leave_rest(con: duckdb.DuckDBPyConnection, fields: dict[str, str]) -> bool:
    """REST: the rows the bulk path left, with any text they kept; True if all kept it."""
    text = ", ".join(_text_fields(fields))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {REST} AS SELECT line, _pos, _h, _sure1, {text} FROM {BULK} "
        "WHERE NOT _sure"
    )
    return not con.execute(f"SELECT count(*) FROM {REST} WHERE _sure1").fetchone()[0]


def check_text_stage(
    con: duckdb.DuckDBPyConnection, source: Source, fields: dict[str, str]
) -> None:
    """The text stage read the file again: prove it holds the very rows the bulk path left."""
    sent = ", ".join(sent_fields(source, fields))
    same = con.execute(
        f"SELECT count(*) FROM {STAGE} s JOIN {REST} r USING (line) WHERE hash({sent}) = r._h"
    ).fetchone()[0]
    rest = con.execute(f"SELECT count(*) FROM {REST}").fetchone()[0]
    if same != rest:
        raise RuntimeError(f"reading the file again gave other rows ({same} of {rest} matched)")
