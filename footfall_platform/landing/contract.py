"""The landing-zone contract as data: one declaration per source, read by the loader and the docs.

Keeping the contract declarative means the loader has no per-source code paths to drift apart:
adding a column is one line here, and the quarantine reasons stay worded the same everywhere.
docs/landing-zone.md is the human-readable form of this module; keep the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["text", "date", "timestamp", "int", "decimal", "double", "code", "epc", "timezone"]


@dataclass(frozen=True)
class Column:
    """One column of a source as sent, and the rule its values must keep."""

    name: str
    kind: Kind = "text"
    required: bool = True  # the column must be in the header
    not_null: bool = False  # a value must be present in every row
    minimum: float | None = None
    maximum: float | None = None
    codes: dict[str, str] = field(default_factory=dict)  # accepted spelling -> canonical code
    personal: bool = False  # never stored; redacted in quarantine records
    default: str | None = None  # value for an optional column that is absent from the header
    upper: bool = False
    not_future: bool = False  # a date after today is a typing error, not a plan


@dataclass(frozen=True)
class RowRule:
    """A rule across columns, as SQL over the typed columns: `broken` is true for a bad row."""

    broken: str
    reason: str  # SQL expression giving the quarantine reason


@dataclass(frozen=True)
class Source:
    """A landing folder: its columns, its key, and what it needs from other sources."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # a second row for the same key in one file is quarantined
    store_column: str | None = None  # rows must name a known store (empty allowed if nullable)
    store_nullable: bool = False
    personal: bool = False  # records of this source are redacted in quarantine
    member_column: str | None = None  # pseudonymised to member_key on the way in
    row_rules: tuple[RowRule, ...] = ()

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


KINDS = {"holiday": "holiday", "promotion": "promotion", "closure": "closure"}
GENDERS = {
    "f": "F", "female": "F", "woman": "F", "w": "F",
    "m": "M", "male": "M", "man": "M",
    "x": "X", "other": "X", "non-binary": "X", "nonbinary": "X", "d": "X", "diverse": "X",
    "u": "U", "unknown": "U", "": "U",
}  # fmt: skip

MAX_PRICE = 100_000
MAX_QUANTITY = 1_000
MAX_PEOPLE_PER_MINUTE = 60  # one person a second through a door, sustained, is already a crowd

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "stores",
            (
                Column("store_id", not_null=True, upper=True),
                Column("name", not_null=True),
                Column("city"),
                Column("timezone", "timezone", not_null=True),
                Column("opened_on", "date", not_null=True),
            ),
            key=("store_id",),
        ),
        Source(
            "products",
            (
                Column("sku", not_null=True, upper=True),
                Column("name", not_null=True),
                Column("category", not_null=True),
                Column("brand"),
                Column("unit_price", "decimal", not_null=True, minimum=0, maximum=MAX_PRICE),
                Column("description"),
            ),
            key=("sku",),
        ),
        Source(
            "calendar",
            (
                Column("date", "date", not_null=True),
                Column("store_id", upper=True),
                Column("event", not_null=True),
                Column("kind", "code", not_null=True, codes=KINDS),
            ),
            store_column="store_id",
            store_nullable=True,
        ),
        Source(
            "camera_counts",
            (
                Column("store_id", not_null=True, upper=True),
                Column("camera_id", not_null=True),
                Column("period_start", "timestamp", not_null=True),
                Column("period_end", "timestamp", not_null=True),
                Column("entries", "int", not_null=True, minimum=0),
                Column("exits", "int", not_null=True, minimum=0),
            ),
            store_column="store_id",
            row_rules=(
                RowRule("period_end <= period_start", "'period_end is not after period_start'"),
                RowRule(
                    "period_end - period_start > INTERVAL 24 HOURS",
                    "'period longer than 24 hours'",
                ),
                RowRule(
                    f"greatest(entries, exits) > greatest(100, {MAX_PEOPLE_PER_MINUTE} * "
                    "epoch(period_end - period_start) / 60)",
                    "format('absurd count: {} entries, {} exits in {} minutes', entries, exits, "
                    "epoch(period_end - period_start) // 60)",
                ),
            ),
        ),
        Source(
            "rfid_tags",
            (Column("epc", "epc", not_null=True), Column("sku", not_null=True, upper=True)),
            key=("epc",),
        ),
        Source(
            "rfid_reads",
            (
                Column("read_at", "timestamp", not_null=True),
                Column("store_id", not_null=True, upper=True),
                Column("reader_id", not_null=True),
                Column("zone", not_null=True),
                Column("epc", "epc", not_null=True),
                Column("rssi", "double", not_null=True, minimum=-120, maximum=0),
            ),
            store_column="store_id",
        ),
        Source(
            "members",
            (
                Column("member_id", not_null=True),
                Column("full_name", personal=True),
                Column("email", personal=True),
                Column("phone", personal=True),
                Column("birth_date", "date", personal=True, minimum=1900, not_future=True),
                Column("gender", "code", codes=GENDERS),
                Column("city"),
                Column("joined_on", "date", not_null=True, not_future=True),
            ),
            key=("member_id",),
            personal=True,
            member_column="member_id",
        ),
        Source(
            "transactions",
            (
                Column("receipt_id", not_null=True),
                Column("store_id", not_null=True, upper=True),
                Column("sold_at", "timestamp", not_null=True),
                Column("member_id"),
                Column("sku", not_null=True, upper=True),
                Column(
                    "quantity", "int", not_null=True, minimum=-MAX_QUANTITY, maximum=MAX_QUANTITY
                ),
                Column("unit_price", "decimal", not_null=True, minimum=0, maximum=MAX_PRICE),
                Column("discount", "decimal", required=False, minimum=0, default="0"),
            ),
            store_column="store_id",
            member_column="member_id",
            row_rules=(
                RowRule("quantity = 0", "'quantity: zero'"),
                RowRule(
                    "discount > abs(quantity) * unit_price",
                    "format('discount {} larger than the line amount {}', discount, "
                    "abs(quantity) * unit_price)",
                ),
            ),
        ),
    )
}

# Load order: every other source needs the stores (known store ids and their time zones).
LOAD_ORDER = ["stores", "products", "calendar", "camera_counts", "rfid_tags", "rfid_reads",
              "members", "transactions"]  # fmt: skip

ACCEPTED_SUFFIXES = (".csv", ".csv.gz", ".parquet")
IGNORED_SUFFIXES = (".tmp", ".part", ".partial")
