"""Typing and checking rows in SQL, so that a bad value becomes a reason instead of an error.

Every rule of the contract turns into a pair of SQL expressions: a condition true for a bad value,
and its reason. The same pairs serve twice. While a file is read they are folded into one cheap
boolean per row (the typed stage, see bulk.py); for the few rows that fail anything, ROWS spells
the reasons out over the rows' text (the text stage). Everything runs inside DuckDB, vectorised and
in parallel, which is what keeps a five-million-row file fast and within bounded memory.

Rules come in two levels: those a row answers alone (parsing, ranges, codes) and those that need
a lookup (a known store, the UTC offset of a local time, a duplicate elsewhere in the file, and
the cross-column rules, which may compare UTC instants).
"""

from __future__ import annotations

import re

import duckdb

from footfall_platform.ingest.lookups import (
    HOUR_US,
    MEMBER_KEYS,
    OFFSETS,
    STORES,
    member_key_table,
    utc_offsets,
)
from footfall_platform.ingest.stage import STAGE
from footfall_platform.landing.contract import Column, Source
from footfall_platform.warehouse.schema import stored_columns
from footfall_platform.warehouse.sql import sql_literal

ROWS = "_ff_rows"
DUPLICATES = "_ff_duplicates"
OFFSET_PATTERN = r"(Z|z|[+-]\d\d(:?\d\d)?)$"
KIND_WORDS = {"date": "a date", "timestamp": "an ISO 8601 timestamp", "int": "a whole number",
              "decimal": "a number", "double": "a number"}  # fmt: skip
REDACTED = "'<redacted>'"

Check = tuple[str, str]  # (SQL condition true for a bad value, SQL expression of the reason)



def _shown(column: Column, value: str) -> str:
    """The offending value as a reason may show it: never for a personal column."""
    return "" if column.personal else f" || ': ' || left({value}, 40)"


def value_sql(column: Column, field: str) -> str:
    """The sent text as the rules see it: trimmed, NULL when empty, upper-cased if so declared.

    Trimming allocates a new string for every value, yet most values have nothing to trim:
    only a value that starts below '!', ends with a space or holds any multi-byte character
    (the other spaces trim removes are Unicode ones) goes through it.
    """
    v = (
        f"CASE WHEN {field} < '!' OR ends_with({field}, ' ') OR strlen({field}) <> "
        f"length({field}) THEN nullif(trim({field}), '') ELSE {field} END"
    )
    if column.upper or column.kind == "epc":
        v = f"upper({v})"
    return v


def parse_sql(column: Column, v: str) -> str:
    """The typed value: NULL where the present value does not parse (timestamps: see below)."""
    if column.kind in ("text", "timezone", "timestamp"):
        return v
    if column.kind == "code":
        cases = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(c)}" for k, c in column.codes.items())
        if "" in column.codes:
            return f"CASE lower(coalesce({v}, '')) {cases} END"
        return f"CASE lower({v}) {cases} END"
    if column.kind == "epc":
        return f"CASE WHEN regexp_full_match({v}, '[0-9A-F]{{8,64}}') THEN {v} END"
    sql_type = {"date": "DATE", "int": "BIGINT", "decimal": "DECIMAL(14, 2)",
                "double": "DOUBLE"}[column.kind]  # fmt: skip
    typed = f"try_cast({v} AS {sql_type})"
    if column.kind == "int":  # a cast would round "1.5" to 2: a count is written whole
        typed = f"CASE WHEN regexp_full_match({v}, '[+-]?[0-9]+') THEN {typed} END"
    if column.kind == "double":
        typed = f"CASE WHEN isfinite({typed}) THEN {typed} END"
    return typed


def offset_sql(v: str) -> str:
    return f"regexp_matches({v}, '{OFFSET_PATTERN}')"


def clock_sql(v: str, offset: str) -> str:
    """The wall clock as sent, or for a timestamp with an offset, its instant as a UTC clock.

    Only a timestamp with an offset is parsed as an instant: that parse goes through the time
    zone library and costs ten times the plain one.
    """
    return (
        f"CASE WHEN {offset} THEN make_timestamp(epoch_us(try_cast({v} AS TIMESTAMPTZ))) "
        f"ELSE try_cast({v} AS TIMESTAMP) END"
    )


def timestamp_parts(name: str, v: str) -> list[str]:
    """A timestamp as read: whether it carries an offset, and its clock (see clock_sql)."""
    return [
        f'{offset_sql(v)} AS "{name}__offset"',
        f'{clock_sql(v, offset_sql(v))} AS "{name}__clock"',
    ]


def hour_key(t: str, name: str) -> str:
    """The hour of a timestamp (since the epoch) that its UTC offset is looked up by."""
    return f'epoch_us({t}"{name}__clock") // {HOUR_US}'


def utc_sql(t: str, name: str, off: str) -> str:
    """The instant: as sent, or the wall clock less the store's offset at that hour."""
    return (
        f'make_timestamptz(epoch_us(CASE WHEN {t}"{name}__offset" THEN {t}"{name}__clock" '
        f'ELSE {t}"{name}__clock" - {off} END))'
    )


def local_sql(t: str, name: str, off: str) -> str:
    """The store's wall clock: as sent, or the instant plus the store's offset at that hour."""
    return (
        f'CASE WHEN {t}"{name}__offset" THEN {t}"{name}__clock" + {off} ELSE {t}"{name}__clock" END'
    )


def offset_join(t: str, name: str, alias: str, store: str) -> str:
    return (
        f"LEFT JOIN {OFFSETS} {alias} ON {alias}.store = {store} AND {alias}.instant = "
        f'{t}"{name}__offset" AND {alias}.hk = {hour_key(t, name)}'
    )


ZONES = "(SELECT DISTINCT name FROM pg_timezone_names())"  # the IANA time zones DuckDB knows


def column_checks(column: Column, v: str, typed: str, zones: bool = True) -> list[Check]:
    """The checks of one value, each a condition and its reason; the time-zone check, which
    looks the value up in the list of zones, only with `zones`."""
    name = column.name
    out: list[Check] = []
    if column.not_null and not (column.kind == "code" and "" in column.codes):
        out.append((f"{v} IS NULL", sql_literal(name + ": missing")))
    shown = _shown(column, v)
    if column.kind in KIND_WORDS and column.kind != "timestamp":
        out.append((f"{v} IS NOT NULL AND {typed} IS NULL",
                    f"{sql_literal(f'{name}: not {KIND_WORDS[column.kind]}')}{shown}"))  # fmt: skip
    if column.kind == "code":
        accepted = ", ".join(sorted(set(column.codes.values())))
        out.append((f"{typed} IS NULL AND {v} IS NOT NULL",
                    f"{sql_literal(f'{name}: not one of {accepted}')}{shown}"))  # fmt: skip
    if column.kind == "epc":
        out.append((f"{v} IS NOT NULL AND {typed} IS NULL",
                    f"{sql_literal(f'{name}: not 8 to 64 hexadecimal digits')}{shown}"))  # fmt: skip
    if column.kind == "timezone" and zones:
        out.append((f"{v} IS NOT NULL AND {v} NOT IN {ZONES}",
                    f"{sql_literal(f'{name}: not an IANA time zone')}{shown}"))  # fmt: skip
    measure = f"year({typed})" if column.kind == "date" else typed
    if column.minimum is not None:
        out.append((f"{measure} < {column.minimum}",
                    f"{sql_literal(f'{name}: below {column.minimum:g}')}{shown}"))  # fmt: skip
    if column.maximum is not None:
        out.append((f"{measure} > {column.maximum}",
                    f"{sql_literal(f'{name}: above {column.maximum:g}')}{shown}"))  # fmt: skip
    if column.not_future:
        out.append((f"{typed} > current_date", sql_literal(f"{name}: in the future")))
    return out


def store_check(v: str, tz: str) -> Check:
    return f"{v} IS NOT NULL AND {tz} IS NULL", f"'store_id: unknown store: ' || left({v}, 40)"


def timestamp_check(t: str, name: str, text: str, tz: str, off: str) -> Check:
    """A timestamp that a known store's clock cannot place: it did not parse."""
    return (
        f"{text} IS NOT NULL AND {tz} IS NOT NULL AND {utc_sql(t, name, off)} IS NULL",
        f"'{name}: not an ISO 8601 timestamp: ' || left({text}, 40)",
    )


def reasons_sql(checks: list[Check]) -> str:
    """All reasons of a row joined, NULL-free: only computed for the rows that failed."""
    cases = ", ".join(f"CASE WHEN {cond} THEN {reason} END" for cond, reason in checks)
    return f"nullif(concat_ws('; ', {cases or 'NULL'}), '')"


def any_broken(checks: list[Check]) -> str:
    """True when any check fails: cheap boolean work for the millions of good rows."""
    if not checks:
        return "false"
    return f"coalesce({' OR '.join(f'({cond})' for cond, _ in checks)}, false)"


def row_rules(source: Source, timed: bool | None = None) -> list[Check]:
    """The cross-column rules; with `timed`, only those that do (or do not) compare timestamps,
    which need the UTC offsets first."""
    names = timestamp_columns(source)
    return [
        (rule.broken, rule.reason)
        for rule in source.row_rules
        if timed is None or timed == any(re.search(rf"\b{name}\b", rule.broken) for name in names)
    ]


def field_sql(fields: dict[str, str], name: str, alias: str = "s.") -> str:
    """The staged field of a contract column (a literal when the column was not sent)."""
    field = fields[name]
    return f"{alias}{field}" if field.startswith('"') else field


def sent_fields(source: Source, fields: dict[str, str], alias: str = "s.") -> list[str]:
    """The staged fields that came from the file, in contract order."""
    return [field_sql(fields, c.name, alias) for c in source.columns if fields[c.name][0] == '"']


def key_values(source: Source, fields: dict[str, str], alias: str = "s.") -> list[str]:
    return [value_sql(source.column(k), field_sql(fields, k, alias)) for k in source.key]


def _typed_sql(source: Source, fields: dict[str, str]) -> str:
    """Inner level of ROWS: typed values, parse errors, the store's zone and the member key."""
    selects = ["s.line"]
    errors: list[Check] = []
    for column in source.columns:
        field = field_sql(fields, column.name)
        v = value_sql(column, field)
        typed = parse_sql(column, v)
        if column.kind == "timestamp":
            selects += [*timestamp_parts(column.name, v), f'{v} AS "{column.name}__text"']
        else:
            selects.append(f'{typed} AS "{column.name}"')
        errors += column_checks(column, v, typed)
        if column.name == source.store_column:
            errors.append(store_check(v, "st.tz"))
        selects.append(f'{field} AS "{column.name}__raw"')
    joins = ""
    if source.store_column:
        selects.append("st.tz AS _tz")
        store = value_sql(
            source.column(source.store_column), field_sql(fields, source.store_column)
        )
        joins += f" LEFT JOIN {STORES} st ON st.store_id = {store}"
    if source.member_column:
        selects.append("k.member_key AS _member_key")
        member = field_sql(fields, source.member_column)
        joins += f" LEFT JOIN {MEMBER_KEYS} k ON k.member_id = trim({member})"
    selects.append(f"{reasons_sql(errors)} AS _errors")
    selects.append(f"{any_broken(errors)} AS _broken")
    return f"SELECT {', '.join(selects)} FROM {STAGE} s{joins}"


def timestamp_columns(source: Source) -> list[str]:
    return [c.name for c in source.columns if c.kind == "timestamp"]


def timed_selects(source: Source, t: str, offs: list[str]) -> list[str]:
    """UTC instants of every timestamp, and the local date and hour of the first one."""
    selects = []
    for i, name in enumerate(timestamp_columns(source)):
        selects.append(f'{utc_sql(t, name, offs[i])} AS "{name}"')
        if i == 0:
            local = local_sql(t, name, offs[i])
            selects += [f"CAST({local} AS DATE) AS local_date", f"hour({local}) AS local_hour"]
    return selects


def hours_sql(source: Source, rows: str) -> str:
    """(store, instant, hk) of every timestamp of `rows`, for lookups.utc_offsets."""
    store = f'"{source.store_column}"'
    return " UNION ALL ".join(
        f'SELECT {store} AS store, "{name}__offset" AS instant, {hour_key("", name)} AS hk '
        f"FROM ({rows})"
        for name in timestamp_columns(source)
    )


def prepare_lookups(
    con: duckdb.DuckDBPyConnection, source: Source, fields: dict[str, str], key: bytes | None
) -> None:
    """Member keys and UTC offsets for the rows of the text stage."""
    if source.member_column:
        assert key is not None
        member = field_sql(fields, source.member_column)
        member_key_table(con, key, f"SELECT trim({member}) AS member_id FROM {STAGE} s")
    if timestamp_columns(source):
        utc_offsets(con, hours_sql(source, _typed_sql(source, fields)))


def prepare_duplicates(
    con: duckdb.DuckDBPyConnection, source: Source, fields: dict[str, str]
) -> None:
    """DUPLICATES(line, reason): repeated lines, and repeated keys of the keyed sources.

    Identical rows are found through a 64-bit hash first; only rows whose hash repeats are
    compared exactly, which keeps a large file from being sorted for a rare event.
    """
    sent = ", ".join(sent_fields(source, fields))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _ff_dup_hashes AS SELECT hash({sent}) AS h FROM {STAGE} s "
        "GROUP BY h HAVING count(*) > 1"
    )
    rows = [
        f"SELECT line, 'duplicate row: same as line ' || min(line) OVER (PARTITION BY {sent}) "
        f"AS reason, row_number() OVER (PARTITION BY {sent} ORDER BY line) AS n FROM {STAGE} s "
        f"WHERE hash({sent}) IN (SELECT h FROM _ff_dup_hashes)"
    ]
    if source.key:
        keys = key_values(source, fields)
        key = ", ".join(keys)
        label = "member" if source.personal else ", ".join(source.key)
        rows.append(
            f"SELECT line, 'duplicate {label}: first at line ' || min(line) OVER (PARTITION BY "
            f"{key}) AS reason, row_number() OVER (PARTITION BY {key} ORDER BY line) AS n "
            f"FROM {STAGE} s WHERE {' AND '.join(f'{k} IS NOT NULL' for k in keys)}"
        )
    # A repeated line is reported as such, not also as a repeated key.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {DUPLICATES} AS SELECT line, first(reason ORDER BY part) "
        f"AS reason FROM ({' UNION ALL '.join(f'SELECT *, {i} AS part FROM ({r})' for i, r in enumerate(rows))}) "
        "WHERE n > 1 GROUP BY line"
    )


def define_rows(con: duckdb.DuckDBPyConnection, source: Source, fields: dict[str, str]) -> None:
    """ROWS: a view of every row of the text stage, typed, with `_ok` and, if bad, `_reason`."""
    timestamps = timestamp_columns(source)
    joins = [f"LEFT JOIN {DUPLICATES} d ON d.line = t.line"]
    offs = [f"o{i}.off" for i in range(len(timestamps))]
    checks: list[Check] = []
    for i, name in enumerate(timestamps):
        joins.append(offset_join("t.", name, f"o{i}", f't."{source.store_column}"'))
        checks.append(timestamp_check("t.", name, f't."{name}__text"', "t._tz", offs[i]))
    selects = ["t.line", *timed_selects(source, "t.", offs)]
    selects += [f't."{c.name}"' for c in source.columns if c.kind != "timestamp"]
    selects += [f't."{c.name}__raw"' for c in source.columns]
    if source.member_column:
        selects.append("t._member_key")
    selects += [
        f"nullif(concat_ws('; ', t._errors, {reasons_sql(checks)}), '') AS _errors",
        f"t._broken OR {any_broken(checks)} AS _broken",
        "d.reason AS _duplicate",
    ]
    inner = f"SELECT {', '.join(selects)} FROM ({_typed_sql(source, fields)}) t {' '.join(joins)}"
    rules = row_rules(source)
    reason = f"nullif(concat_ws('; ', _errors, {reasons_sql(rules)}, _duplicate), '')"
    ok = f"NOT (_broken OR {any_broken(rules)} OR _duplicate IS NOT NULL)"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {ROWS} AS SELECT *, {ok} AS _ok, {reason} AS _reason "
        f"FROM ({inner})"
    )


def raw_record_sql(source: Source) -> str:
    """The row as sent, as JSON over ROWS, personal fields redacted and member ids as keys."""
    parts = []
    for column in source.columns:
        sent = f'"{column.name}__raw"'
        if column.name == source.member_column:
            value = "_member_key"
        elif column.personal:
            value = f"CASE WHEN {sent} IS NULL THEN NULL ELSE {REDACTED} END"
        else:
            value = sent
        parts.append(f"{sql_literal(column.name)}, {value}")
    return f"json_object({', '.join(parts)})::VARCHAR"


def typed_select(source: Source) -> str:
    """Columns of ROWS (or of the bulk rows) in the order of the raw table."""
    out = []
    for name, sql_type in stored_columns(source):
        if name == "member_key":
            out.append("_member_key")
        elif name == "birth_year":
            out.append('year("birth_date")')
        elif name == "period_minutes":
            out.append("epoch(period_end - period_start) / 60")
        else:
            out.append(f'CAST("{name}" AS {sql_type})')
    return ", ".join(out)
