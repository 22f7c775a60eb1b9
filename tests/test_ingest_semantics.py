"""What loaded rows mean: UTC instants and local dates, pseudonymous members, a ledger that adds up."""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import UTC, datetime

import duckdb
import pytest

from footfall_platform.ingest.loader import SourceLoader
from footfall_platform.ingest.pseudonymise import (
    MissingPiiKey,
    create_key_file,
    hmac_pads,
    load_key,
    member_key_sql,
    member_keys,
)
from footfall_platform.ingest.validate import value_sql
from footfall_platform.landing.contract import Column
from footfall_platform.settings import Settings
from tests.conftest import PII_KEY, land, ledger, quarantine

MEMBERS = (
    "member_id,full_name,email,phone,birth_date,gender,city,joined_on\n"
    "100234,Marie Curie,marie@example.org,+33 1 23 45 67,1967-11-07,female,Paris,2021-03-04\n"
    " 100235 ,John Smith,john@example.com,+44 20 7946 0000,1990-02-28,M,London,2022-01-01\n"
    "100236,Ada Lovelace,ada@example.net,555-0100,1815-12-10,W,London,2020-06-01\n"
    "100237,Alan Turing,alan@example.org,555-0199,1988-06-23,,Manchester,2099-01-01\n"
    "100234,Marie Again,marie2@example.org,+33 9,1967-11-07,F,Paris,2021-03-04\n"
)
PERSONAL = ["Marie", "Curie", "marie@example.org", "+33 1 23 45 67", "1967-11-07", "John Smith",
            "john@example.com", "Ada Lovelace", "555-0100", "Alan Turing", "1988-06-23",
            "100234", "100235", "100236", "100237"]  # fmt: skip


def test_local_times_become_utc_across_daylight_saving(
    home: Settings, with_stores: SourceLoader
) -> None:
    land(home, "transactions/t.csv",
         "receipt_id,store_id,sold_at,member_id,sku,quantity,unit_price\n"
         "A,S1,2025-03-30T01:30:00,,X,1,1\n"       # Paris, before the spring change (CET)
         "B,S1,2025-03-30T03:30:00,,X,1,1\n"       # after it (CEST)
         "C,S3,2025-11-02 23:15:00,,X,1,1\n"       # New York, EST, late evening
         "D,S2,2025-07-01T09:00:00.250Z,,X,1,1\n"  # an instant: local date/hour from London
         "E,S3,2025-07-01T01:00:00+0000,,X,1,1\n")  # fmt: skip
    with_stores.load_source("transactions")
    rows = with_stores.con.execute(
        "SELECT receipt_id, sold_at, local_date::VARCHAR, local_hour FROM raw.transactions "
        "ORDER BY receipt_id").fetchall()  # fmt: skip
    assert rows == [
        ("A", datetime(2025, 3, 30, 0, 30, tzinfo=UTC), "2025-03-30", 1),
        ("B", datetime(2025, 3, 30, 1, 30, tzinfo=UTC), "2025-03-30", 3),
        ("C", datetime(2025, 11, 3, 4, 15, tzinfo=UTC), "2025-11-02", 23),
        ("D", datetime(2025, 7, 1, 9, 0, 0, 250000, tzinfo=UTC), "2025-07-01", 10),
        ("E", datetime(2025, 7, 1, 1, 0, tzinfo=UTC), "2025-06-30", 21),
    ]


def test_members_are_pseudonymised_and_nothing_personal_lands(
    home: Settings, with_stores: SourceLoader
) -> None:
    land(home, "members/m.csv", MEMBERS)
    land(home, "transactions/t.csv", "receipt_id,store_id,sold_at,member_id,sku,quantity,"
         "unit_price\nR1,S1,2025-06-01T10:00:00,100234,X,1,1\nR2,S1,2025-06-01T10:00:00,,X,1,1\n"
         "R3,S1,2025-06-01T10:00:00,100235,X,1,1,surplus\n")  # fmt: skip
    with_stores.load_source("members")
    with_stores.load_source("transactions")
    con = with_stores.con
    expected = hmac.new(PII_KEY.encode(), b"100235", hashlib.sha256).hexdigest()
    members = con.execute("SELECT member_key, birth_year, gender, city FROM raw.members "
                          "ORDER BY birth_year").fetchall()  # fmt: skip
    assert (expected, 1990, "M", "London") in members
    assert [m[2] for m in members] == ["F", "M"]  # 1815 and 2099 rows quarantined
    reasons = {line: reason for line, reason, _ in quarantine(with_stores, "members/m.csv")}
    assert reasons == {4: "birth_date: below 1900", 5: "joined_on: in the future",
                       6: "duplicate member: first at line 2"}  # fmt: skip
    keys = con.execute("SELECT member_key FROM raw.transactions ORDER BY receipt_id").fetchall()
    marie = hmac.new(PII_KEY.encode(), b"100234", hashlib.sha256).hexdigest()
    assert keys == [(marie,), (None,)]
    # No personal value anywhere: every text column of every table, ledger and quarantine too.
    texts = con.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE data_type = 'VARCHAR'").fetchall()  # fmt: skip
    for schema, table, column in texts:
        values = " ".join(str(v[0]) for v in con.execute(
            f'SELECT "{column}" FROM "{schema}"."{table}"').fetchall())  # fmt: skip
        for secret in PERSONAL:
            assert secret not in values, f"{secret!r} found in {schema}.{table}.{column}"
    record = quarantine(with_stores, "transactions/t.csv")[0][2]
    assert record == "<redacted: 46 characters>"


def test_a_run_without_a_key_fails_clearly_and_loads_no_member(
    home: Settings, with_stores: SourceLoader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FOOTFALL_PII_KEY")
    land(home, "members/m.csv", MEMBERS)
    with pytest.raises(MissingPiiKey, match="FOOTFALL_PII_KEY"):
        with_stores.load_source("members")
    assert "members/m.csv" not in ledger(with_stores)


def test_the_key_file_is_private_and_used(home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FOOTFALL_PII_KEY")
    assert create_key_file(home.pii_key_file)
    assert not create_key_file(home.pii_key_file)  # never overwritten
    assert os.stat(home.pii_key_file).st_mode & 0o777 == 0o600
    assert len(load_key(home.pii_key_file)) == 64
    home.pii_key_file.chmod(0o644)
    with pytest.raises(MissingPiiKey, match="chmod 600"):
        load_key(home.pii_key_file)


def test_later_store_deliveries_update_the_time_zone(
    home: Settings, with_stores: SourceLoader
) -> None:
    land(home, "stores/moved.csv", "store_id,name,city,timezone,opened_on\n"
         "S2,Soho,Lisbon,Europe/Lisbon,2019-05-01\n")  # fmt: skip
    with_stores.load_source("stores")
    land(home, "camera_counts/c.csv", "store_id,camera_id,period_start,period_end,entries,exits\n"
         "s2 ,door,2025-01-15T10:00:00,2025-01-15T11:00:00,40,38\n")  # fmt: skip
    with_stores.load_source("camera_counts")
    row = with_stores.con.execute("SELECT store_id, period_start, local_hour, period_minutes "
                                  "FROM raw.camera_counts").fetchone()  # fmt: skip
    assert row == ("S2", datetime(2025, 1, 15, 10, 0, tzinfo=UTC), 10, 60.0)


def test_every_input_row_is_accounted_for(home: Settings, with_stores: SourceLoader) -> None:
    land(home, "transactions/a.csv", "receipt_id,store_id,sold_at,member_id,sku,quantity,"
         "unit_price\nR1,S1,2025-06-01T10:00:00,,X,1,1\nR2,S9,2025-06-01T10:00:00,,X,1,1\n"
         "R3,S1,2025-06-01T10:00:00,,X\nR1,S1,2025-06-01T10:00:00,,X,1,1\n")  # fmt: skip
    with_stores.load_source("transactions")
    con = with_stores.con
    bad = con.execute(
        "SELECT count(*) FROM ops.ingest_ledger WHERE rows_in <> rows_loaded + rows_quarantined"
    ).fetchone()[0]
    assert bad == 0
    loaded = con.execute("SELECT count(*) FROM raw.transactions").fetchone()[0]
    quarantined = con.execute("SELECT count(*) FROM ops.quarantine WHERE source = 'transactions'"
                              ).fetchone()[0]  # fmt: skip
    assert (loaded, quarantined) == (1, 3)
    assert ledger(with_stores)["transactions/a.csv"]["rows_in"] == 4


def test_line_numbers_hold_in_a_large_file_read_in_parallel(
    home: Settings, with_stores: SourceLoader
) -> None:
    """A file big enough for DuckDB to read in parallel: every row keeps its own line number,
    good rows through the bulk path, bad ones through each way of explaining them."""
    lines = ["receipt_id,store_id,sold_at,member_id,sku,quantity,unit_price"]
    for line in range(2, 400_002):
        store = "S2" if line % 7 == 0 else "S1"
        lines.append(f"R{line},{store},2025-06-01T10:{line % 60:02d}:00,M{line % 50},X,1,1")
    lines[3 - 1] = "R3,S1,2025-06-01T10:00:00,,X"  # too few fields: DuckDB rejects the line
    lines[100_000 - 1] = "R100000,S1,2025-06-01T10:00:00,,X,two,1"  # fails a check of its own
    lines[250_000 - 1] = "R250000,S99,2025-06-01T10:00:00,,X,1,1"  # fails a lookup
    lines[200_000 - 1] = lines[150_000 - 1]  # repeats a line
    lines[299_999 - 1] = 'R299999,S1,2025-06-01T10:00:00,M1,"X, quoted",1,1'  # fine
    land(home, "transactions/big.csv", "\n".join(lines) + "\n")
    with_stores.load_source("transactions")
    assert [(line, reason) for line, reason, _ in quarantine(with_stores)] == [
        (3, "wrong number of fields: expected 7, found 5"),
        (100_000, "quantity: not a whole number: two"),
        (200_000, "duplicate row: same as line 150000"),
        (250_000, "store_id: unknown store: S99"),
    ]
    loaded, misplaced, keyed = with_stores.con.execute(
        "SELECT count(*), count(*) FILTER (WHERE receipt_id <> 'R' || source_line "
        "AND source_line <> 150000), count(member_key) FROM raw.transactions"
    ).fetchone()  # fmt: skip
    assert (loaded, misplaced, keyed) == (400_000 - 4, 0, 400_000 - 4)
    entry = ledger(with_stores)["transactions/big.csv"]
    assert (entry["rows_in"], entry["rows_loaded"], entry["rows_quarantined"]) == (
        400_000, 400_000 - 4, 4)  # fmt: skip



def test_line_numbers_hold_when_a_check_looks_values_up_while_reading(
    home: Settings, loader: SourceLoader
) -> None:
    """A time zone is checked against the list of zones as the file is read; that lookup must
    not shuffle which line a row came from, however many threads read the file."""
    lines = ["store_id,name,city,timezone,opened_on"]
    lines += [f"S{i},N{i},C,{'Mars/Base' if i % 50_000 == 7 else 'Europe/Paris'},2020-01-01"
              for i in range(200_000)]  # fmt: skip
    land(home, "stores/many.csv", "\n".join(lines) + "\n")
    loader.load_source("stores")
    assert [line for line, _, _ in quarantine(loader)] == [9, 50_009, 100_009, 150_009]
    misplaced = loader.con.execute(
        "SELECT count(*) FROM raw.stores WHERE store_id <> 'S' || (source_line - 2)"
    ).fetchone()[0]
    assert misplaced == 0

def test_member_keys_computed_in_sql_match_the_reference_hmac() -> None:
    """The loader hashes member ids inside DuckDB; the keys must be the HMAC of the stripped id."""
    ids = ["100234", " 100235 ", "\t7\n", "Zoë", "\u3000x\u3000", "x\u2003", "\u00a0y", "a b",
           "\x1f", "é", "x\x85", "M" * 80]  # fmt: skip
    con = duckdb.connect()
    for key in (PII_KEY.encode(), b"k", bytes(range(100))):  # shorter and longer than a block
        got = con.execute(
            f"SELECT {member_key_sql('m')} FROM (SELECT unnest(?::VARCHAR[]) AS m, "
            "generate_subscripts(?::VARCHAR[], 1) AS i) ORDER BY i",
            [*hmac_pads(key), ids, ids],
        ).fetchall()
        assert [row[0] for row in got] == member_keys(key, ids)


def test_values_are_trimmed_exactly_as_trim_does_however_they_are_padded() -> None:
    """The loader trims only values that may need it; the result must be trim's, always."""
    pads = [" ", "\t", "\n", "\u00a0", "\u2003", "\u3000", "\u200b", "\x1f", "é", ""]
    values = [p + x + q for p in pads for q in pads for x in ("", "a", "a b", "Zoë", " ")]
    con = duckdb.connect()
    for column in (Column("plain"), Column("code", upper=True)):
        wrong = con.execute(
            f"SELECT count(*) FROM (SELECT unnest(?::VARCHAR[]) AS x) WHERE "
            f"{value_sql(column, 'x')} IS DISTINCT FROM "
            f"{'upper' if column.upper else ''}(nullif(trim(x), ''))",
            [values],
        ).fetchone()[0]
        assert wrong == 0
