"""Typing and checking staged rows in SQL, so a bad value becomes a reason instead of an error.

Every rule of the contract turns into a pair of SQL expressions: the typed value and, when the
value breaks the rule, the reason. A row's reasons are joined; a row with none is loaded.
Everything runs inside DuckDB, vectorised and in parallel, which is what keeps a five-million
row file fast and within bounded memory.

Local times become UTC through a small table of UTC offsets per (time zone, hour), computed once
for the distinct hours of the file: asking the time-zone library row by row is two orders of
magnitude slower than a join.
"""

from __future__ import annotations

import duckdb

from footfall_platform.ingest.stage import STAGE
from footfall_platform.landing.contract import Column, Source
from footfall_platform.warehouse.schema import stored_columns

ROWS = "_ff_rows"
DUPLICATES = "_ff_duplicates"
STORES = "_ff_stores"
MEMBER_KEYS = "_ff_member_keys"
OFFSET_PATTERN = r"(Z|z|[+-]\d\d(:?\d\d)?)$"
KIND_WORDS = {"date": "a date", "timestamp": "an ISO 8601 timestamp", "int": "a whole number",
              "decimal": "a number", "double": "a number"}  # fmt: skip
REDACTED = "'<redacted>'"
HOUR_US = 3_600_000_000


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _shown(column: Column, value: str) -> str:
    """The offending value as a reason may show it: never for a personal column."""
    return "" if column.personal else f" || ': ' || left({value}, 40)"


def _parse(column: Column, v: str) -> str:
    """The typed value: NULL where the present value does not parse."""
    if column.kind in ("text", "timezone"):
        return v
    if column.kind == "code":
        cases = " ".join(f"WHEN {_q(k)} THEN {_q(c)}" for k, c in column.codes.items())
        if "" in column.codes:
            return f"CASE lower(coalesce({v}, '')) {cases} END"
        return f"CASE lower({v}) {cases} END"
    if column.kind == "epc":
        return f"CASE WHEN regexp_full_match({v}, '[0-9A-F]{{8,64}}') THEN {v} END"
    if column.kind == "timestamp":
        return v  # the outer level of ROWS resolves it to UTC
    sql_type = {"date": "DATE", "int": "BIGINT", "decimal": "DECIMAL(14, 2)",
                "double": "DOUBLE"}[column.kind]  # fmt: skip
    typed = f"try_cast({v} AS {sql_type})"
    if column.kind == "int":  # a cast would round "1.5" to 2: a count is written whole
        typed = f"CASE WHEN regexp_full_match({v}, '[+-]?[0-9]+') THEN {typed} END"
    if column.kind == "double":
        typed = f"CASE WHEN isfinite({typed}) THEN {typed} END"
    return typed


def _value_sql(column: Column, field: str) -> str:
    v = f"nullif(trim({field}), '')"
    if column.upper or column.kind == "epc":
        v = f"upper({v})"
    return v


Check = tuple[str, str]  # (SQL condition true for a bad value, SQL expression of the reason)


def _errors(column: Column, v: str, typed: str, source: Source) -> list[Check]:
    """The checks of one column, each a condition and its reason."""
    name = column.name
    out: list[Check] = []
    if column.not_null and not (column.kind == "code" and "" in column.codes):
        out.append((f"{v} IS NULL", _q(name + ": missing")))
    shown = _shown(column, v)
    if column.kind in KIND_WORDS and column.kind != "timestamp":
        out.append((f"{v} IS NOT NULL AND {typed} IS NULL",
                    f"{_q(f'{name}: not {KIND_WORDS[column.kind]}')}{shown}"))  # fmt: skip
    if column.kind == "code":
        accepted = ", ".join(sorted(set(column.codes.values())))
        out.append((f"{typed} IS NULL AND {v} IS NOT NULL",
                    f"{_q(f'{name}: not one of {accepted}')}{shown}"))  # fmt: skip
    if column.kind == "epc":
        out.append((f"{v} IS NOT NULL AND {typed} IS NULL",
                    f"{_q(f'{name}: not 8 to 64 hexadecimal digits')}{shown}"))  # fmt: skip
    if column.kind == "timezone":
        out.append((f"{v} IS NOT NULL AND {v} NOT IN (SELECT name FROM pg_timezone_names())",
                    f"{_q(f'{name}: not an IANA time zone')}{shown}"))  # fmt: skip
    measure = f"year({typed})" if column.kind == "date" else typed
    if column.minimum is not None:
        out.append((f"{measure} < {column.minimum}",
                    f"{_q(f'{name}: below {column.minimum:g}')}{shown}"))  # fmt: skip
    if column.maximum is not None:
        out.append((f"{measure} > {column.maximum}",
                    f"{_q(f'{name}: above {column.maximum:g}')}{shown}"))  # fmt: skip
    if column.not_future:
        out.append((f"{typed} > current_date", _q(f"{name}: in the future")))
    if name == source.store_column:
        out.append((f"{v} IS NOT NULL AND _tz IS NULL",
                    f"'store_id: unknown store: ' || left({v}, 40)"))  # fmt: skip
    return out


def _reasons(checks: list[Check]) -> str:
    """All reasons of a row joined, NULL-free: only computed for the rows that failed."""
    cases = ", ".join(f"CASE WHEN {cond} THEN {reason} END" for cond, reason in checks)
    return f"nullif(concat_ws('; ', {cases or 'NULL'}), '')"


def _any_broken(checks: list[Check]) -> str:
    """True when any check fails: cheap boolean work for the millions of good rows."""
    return " OR ".join(f"coalesce({cond}, false)" for cond, _ in checks) or "false"


def _field(fields: dict[str, str], name: str) -> str:
    field = fields[name]
    return f"s.{field}" if field.startswith('"') else field


def _typed_sql(source: Source, fields: dict[str, str]) -> str:
    """Inner level: typed values, parse errors, the store's zone and the member key per row."""
    selects = ["s.line"]
    errors: list[Check] = []
    for column in source.columns:
        field = _field(fields, column.name)
        v = _value_sql(column, field)
        typed = _parse(column, v)
        if column.kind == "timestamp":
            selects += [
                f"regexp_matches({v}, '{OFFSET_PATTERN}') AS \"{column.name}__offset\"",
                f"try_cast({v} AS TIMESTAMP) AS \"{column.name}__naive\"",
                f"try_cast({v} AS TIMESTAMPTZ) AS \"{column.name}__instant\"",
                f"{v} AS \"{column.name}__text\"",
            ]
        else:
            selects.append(f'{typed} AS "{column.name}"')
        errors += _errors(column, v, typed, source)
        selects.append(f'{field} AS "{column.name}__raw"')
    joins = ""
    if source.store_column:
        selects.append("st.tz AS _tz")
        store = _field(fields, source.store_column)
        joins += f" LEFT JOIN {STORES} st ON st.store_id = upper(nullif(trim({store}), ''))"
    if source.member_column:
        selects.append("k.member_key AS _member_key")
        member = _field(fields, source.member_column)
        joins += f" LEFT JOIN {MEMBER_KEYS} k ON k.member_id = trim({member})"
    selects.append(f"{_reasons(errors)} AS _errors")
    selects.append(f"{_any_broken(errors)} AS _broken")
    return f"SELECT {', '.join(selects)} FROM {STAGE} s{joins}"


def prepare_offsets(con: duckdb.DuckDBPyConnection, source: Source, fields: dict[str, str]) -> None:
    """UTC offsets per (zone, local hour) and per (zone, UTC hour) for the hours in this file.

    Hours are keyed by their number since the epoch, so the big join is on integers. For a
    local hour, timezone(tz, wall clock) gives the instant, and its difference to the same wall
    clock read as UTC is the offset; for a UTC hour, timezone(tz, instant) is the wall clock.
    """
    timestamps = [c for c in source.columns if c.kind == "timestamp"]
    if not timestamps:
        return
    store = _field(fields, source.store_column or "store_id")
    parts = []
    for column in timestamps:
        v = _value_sql(column, _field(fields, column.name))
        parts.append(
            f"SELECT DISTINCT upper(nullif(trim({store}), '')) AS store, "
            f"regexp_matches({v}, '{OFFSET_PATTERN}') AS instant, "
            f"CASE WHEN instant THEN epoch_us(try_cast({v} AS TIMESTAMPTZ)) "
            f"ELSE epoch_us(try_cast({v} AS TIMESTAMP)) END // {HOUR_US} AS hk FROM {STAGE} s"
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ff_hours AS SELECT DISTINCT st.tz, h.instant, h.hk FROM "
        f"({' UNION '.join(parts)}) h JOIN {STORES} st ON st.store_id = h.store "
        "WHERE h.hk IS NOT NULL"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ff_off_local AS SELECT tz, hk, "
        f"make_timestamp(hk * {HOUR_US}) - timezone(tz, make_timestamp(hk * {HOUR_US}))::TIMESTAMP "
        "AS off FROM _ff_hours WHERE NOT instant"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ff_off_utc AS SELECT tz, hk, "
        f"timezone(tz, make_timestamptz(hk * {HOUR_US})) - make_timestamp(hk * {HOUR_US}) "
        "AS off FROM _ff_hours WHERE instant"
    )


def prepare_duplicates(con: duckdb.DuckDBPyConnection, source: Source, fields: dict[str, str]) -> None:
    """DUPLICATES(line, reason): repeated lines, and repeated keys of the keyed sources.

    Identical rows are found through a 64-bit hash first; only rows whose hash repeats are
    compared exactly, which keeps a five-million-row file from being sorted for a rare event.
    """
    sent = ", ".join(_field(fields, c.name) for c in source.columns if fields[c.name].startswith('"'))
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
        keys = [_value_sql(source.column(k), _field(fields, k)) for k in source.key]
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
    """ROWS: a view of every staged row, typed, with `_ok` and, for a bad row, `_reason`.

    A view, not a table: the good rows stream from the staged file into the raw table without
    a second full copy, and only the few bad rows pay for their reasons and JSON record.
    """
    timestamps = [c.name for c in source.columns if c.kind == "timestamp"]
    joins = [f"LEFT JOIN {DUPLICATES} d ON d.line = t.line"]
    selects = ["t.line"]
    checks: list[Check] = []
    for i, name in enumerate(timestamps):
        joins.append(
            f"LEFT JOIN _ff_off_local ol{i} ON ol{i}.tz = t._tz AND "
            f"ol{i}.hk = epoch_us(t.\"{name}__naive\") // {HOUR_US}"
        )
        joins.append(
            f"LEFT JOIN _ff_off_utc ou{i} ON ou{i}.tz = t._tz AND "
            f"ou{i}.hk = epoch_us(t.\"{name}__instant\") // {HOUR_US}"
        )
        utc = (
            f'CASE WHEN t."{name}__offset" THEN t."{name}__instant" '
            f'ELSE (t."{name}__naive" - ol{i}.off)::TIMESTAMPTZ END'
        )
        selects.append(f'{utc} AS "{name}"')
        if i == 0:
            local = (
                f'CASE WHEN t."{name}__offset" THEN t."{name}__instant"::TIMESTAMP + ou{i}.off '
                f'ELSE t."{name}__naive" END'
            )
            selects += [f"CAST({local} AS DATE) AS local_date", f"hour({local}) AS local_hour"]
        checks.append((
            f't."{name}__text" IS NOT NULL AND t._tz IS NOT NULL AND {utc} IS NULL',
            f"'{name}: not an ISO 8601 timestamp: ' || left(t.\"{name}__text\", 40)",
        ))  # fmt: skip
    selects += [f't."{c.name}"' for c in source.columns if c.kind != "timestamp"]
    selects += [f't."{c.name}__raw"' for c in source.columns]
    if source.member_column:
        selects.append("t._member_key")
    selects += [
        f"nullif(concat_ws('; ', t._errors, {_reasons(checks)}), '') AS _errors",
        f"t._broken OR {_any_broken(checks)} AS _broken",
        "d.reason AS _duplicate",
    ]
    inner = f"SELECT {', '.join(selects)} FROM ({_typed_sql(source, fields)}) t {' '.join(joins)}"
    rules = [(rule.broken, rule.reason) for rule in source.row_rules]
    reason = f"nullif(concat_ws('; ', _errors, {_reasons(rules)}, _duplicate), '')"
    ok = f"NOT (_broken OR {_any_broken(rules)} OR _duplicate IS NOT NULL)"
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
        parts.append(f"{_q(column.name)}, {value}")
    return f"json_object({', '.join(parts)})::VARCHAR"


def typed_select(source: Source) -> str:
    """Columns of ROWS in the order of the raw table (see warehouse.schema.stored_columns)."""
    out = []
    for name, sql_type in stored_columns(source):
        if name == "member_key":
            out.append("_member_key")
        elif name == "birth_year":
            out.append('year(try_cast(nullif(trim("birth_date__raw"), \'\') AS DATE))')
        elif name == "period_minutes":
            out.append("epoch(period_end - period_start) / 60")
        else:
            out.append(f'CAST("{name}" AS {sql_type})')
    return ", ".join(out)
