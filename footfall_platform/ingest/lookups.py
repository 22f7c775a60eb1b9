"""The small tables a file's rows are looked up in: store time zones, UTC offsets, member keys.

Each is built from the distinct values of the file, so the costly work (a time-zone rule, a keyed
hash) is done once per store hour or per member rather than once per row, and the rows meet it in
a hash join.
"""

from __future__ import annotations

import duckdb

from footfall_platform.ingest.pseudonymise import hmac_pads, member_key_sql

STORES = "_ff_stores"
OFFSETS = "_ff_offsets"
MEMBER_KEYS = "_ff_member_keys"
TABLES = (STORES, OFFSETS, MEMBER_KEYS)
HOUR_US = 3_600_000_000


def store_zones(con: duckdb.DuckDBPyConnection) -> None:
    """STORES(store_id, tz): the time zone of every store, as its latest delivery says."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {STORES} AS SELECT store_id, timezone AS tz FROM "
        "raw.stores QUALIFY row_number() OVER (PARTITION BY store_id "
        "ORDER BY loaded_at DESC, source_line DESC) = 1"
    )


def utc_offsets(con: duckdb.DuckDBPyConnection, hours: str) -> None:
    """OFFSETS(store, instant, hk, tz, off): wall clock minus UTC per store and hour of the file.

    `hours` is SQL giving (store, instant, hk): whether a timestamp carried an offset, and its
    hour since the epoch (of the wall clock if not, of the instant if so). For a wall-clock hour,
    timezone(tz, wall clock) gives the instant; for an instant, timezone(tz, instant) gives the
    wall clock. Either way the offset converts the other: utc = wall - off, wall = utc + off.
    Keyed by store, one join gives a row both its store's zone and its offset.
    """
    wall = f"make_timestamp(hk * {HOUR_US})"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {OFFSETS} AS SELECT store, instant, hk, tz, CASE WHEN "
        f"instant THEN timezone(tz, make_timestamptz(hk * {HOUR_US})) - {wall} "
        f"ELSE {wall} - timezone(tz, {wall})::TIMESTAMP END AS off "
        f"FROM (SELECT DISTINCT store, instant, hk FROM ({hours}) WHERE hk IS NOT NULL) h "
        f"JOIN {STORES} st ON st.store_id = h.store"
    )


def member_key_table(con: duckdb.DuckDBPyConnection, key: bytes, ids: str) -> None:
    """MEMBER_KEYS(member_id, member_key) for the distinct member ids that `ids` selects."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {MEMBER_KEYS} AS SELECT member_id, "
        f"{member_key_sql('member_id')} AS member_key FROM (SELECT DISTINCT member_id FROM "
        f"({ids}) WHERE member_id IS NOT NULL AND member_id <> '')",
        hmac_pads(key),
    )
