"""Contracts of the raw tables: what every delivery, taken together, must look like.

Row-level faults never reach these tables (the loader quarantines them); these rules look at the
table as a whole: its shape, its keys, plausible ranges, agreement with the other tables, and
volumes. A table that breaks an ERROR rule stops everything built on it until it is fixed; a WARN
rule reports and lets the pipeline run.
"""

from __future__ import annotations

from footfall_platform.landing.contract import (
    GENDERS,
    KINDS,
    MAX_PRICE,
    MAX_QUANTITY,
    SOURCES,
)
from footfall_platform.warehouse.schema import LINEAGE_COLUMNS, stored_columns
from quality.rules import (
    WARN,
    Rule,
    between,
    columns_are,
    no_rows_from,
    no_rows_where,
    not_null,
    one_of,
    row_count_between,
    unique,
)
from quality.suite import (
    CURRENT_STORES,
    Suite,
    before_store_opened,
    coverage,
    daily_volume_drift,
    latest_rows,
)

# Share of fact rows that must find their dimension row; below ERROR the table is unusable for
# joins (a catalogue or tag registry missing from the drop), below WARN someone should look.
COVERAGE_ERROR = 0.90
COVERAGE_WARN = 0.99
# A day's rows against the median of the 28 days before it.
DRIFT_BAND = (0.4, 2.5)
# Per store and day, exits against entries: people leave by the doors they came in. A counting
# line installed backwards shows up as exits at a multiple of entries (or the reverse).
EXIT_ENTRY_BAND = (0.67, 1.5)
MIN_DAILY_ENTRIES = 50  # below this a store-day is too small for the ratio to mean anything
CLOCK_SLACK = "INTERVAL 1 DAY"  # till and camera clocks run a little ahead; a day is a typo


def shape(source: str) -> list[Rule]:
    return columns_are(
        stored_columns(SOURCES[source]) + LINEAGE_COLUMNS,
        why="Every model reads these columns by name and type; the loader derives them from the "
        "landing contract, so a difference means the warehouse and the code disagree.",
    )


def dated_sanely(column: str) -> list[Rule]:
    return [
        no_rows_where(
            f"{column} not in the future",
            f"{column} > now() + {CLOCK_SLACK}",
            why="A timestamp in the future is a wrong clock or a wrong time zone at the store.",
            columns=(column,),
        ),
        no_rows_from(
            "no store-day before the store opened",
            before_store_opened(),
            why="Activity dated before the store opened means a wrong store id or a wrong clock.",
            columns=("store_id", "local_date"),
        ),
    ]


def volume_drift() -> Rule:
    return between(
        "ratio", *DRIFT_BAND, severity=WARN, dataset="volume",
        why=f"Rows on the latest day within {DRIFT_BAND[0]}-{DRIFT_BAND[1]}x the median of the "
        "28 days before: a drop far outside it is usually a partial or doubled delivery.",
    )  # fmt: skip


def covered(what: str, dataset: str) -> list[Rule]:
    return [
        between(
            "share_matched", COVERAGE_ERROR, dataset=dataset,
            why=f"At least {COVERAGE_ERROR:.0%} of {what}: below that the drop is missing its "
            "reference data and every join downstream would silently lose rows.",
        ),
        between(
            "share_matched", COVERAGE_WARN, severity=WARN, dataset=dataset,
            why=f"Below {COVERAGE_WARN:.0%} of {what} is worth a look (late catalogue updates).",
        ),
    ]  # fmt: skip


STORES = Suite(
    "raw.stores",
    ("raw", "stores"),
    "The store list every other source is checked against.",
    rules=(
        *shape("stores"),
        *not_null("store_id", "name", "timezone", "opened_on",
                  why="A store without id, name, time zone or opening date cannot be reported on."),
        row_count_between(1, why="Without stores no other source can load."),
        unique("store_id", dataset="current",
               why="Each store id names exactly one current store."),
        no_rows_where("opened_on not in the future", "opened_on > current_date + INTERVAL 1 YEAR",
                      why="An opening date far ahead is a typo, and would hide all activity.",
                      columns=("opened_on",)),
    ),
    datasets={"current": CURRENT_STORES},
)  # fmt: skip

PRODUCTS = Suite(
    "raw.products",
    ("raw", "products"),
    "The product catalogue: transactions and RFID tags are joined to it by SKU.",
    rules=(
        *shape("products"),
        *not_null("sku", "name", "category", "unit_price",
                  why="SKU, name, category and price are what every product report shows."),
        between("unit_price", 0, MAX_PRICE, why="Prices are never negative or absurd."),
        unique("sku", dataset="current", why="Each SKU names exactly one current product."),
    ),
    datasets={"current": latest_rows("raw.products", ("sku",))},
)  # fmt: skip

CALENDAR = Suite(
    "raw.calendar",
    ("raw", "calendar"),
    "Holidays, promotions and closures: regressors for forecasts and flags in the marts.",
    rules=(
        *shape("calendar"),
        *not_null("date", "event", "kind", why="An event needs a date, a name and a kind."),
        one_of("kind", sorted(set(KINDS.values())),
               why="Forecasts treat holidays, promotions and closures differently."),
        no_rows_where("dates within 2000 and two years ahead",
                      "date < DATE '2000-01-01' OR date > current_date + INTERVAL 2 YEAR",
                      why="Calendars are planned at most a couple of years ahead.",
                      columns=("date",)),
        no_rows_where("store_id is a known store", "true", dataset="unknown_store",
                      why="An event for an unknown store would never apply.",
                      columns=("store_id",)),
    ),
    datasets={"unknown_store": f"""
        SELECT c.store_id, c.date, c.event FROM raw.calendar c
        WHERE c.store_id IS NOT NULL
          AND c.store_id NOT IN (SELECT store_id FROM ({CURRENT_STORES}))
    """},
)  # fmt: skip

CAMERA_COUNTS = Suite(
    "raw.camera_counts",
    ("raw", "camera_counts"),
    "Door-camera people counts: the footfall every conversion figure divides by.",
    rules=(
        *shape("camera_counts"),
        *not_null("store_id", "camera_id", "period_start", "period_end", "entries", "exits",
                  "local_date", why="A count needs its store, camera, period and both counts."),
        between("entries", 0, 100_000, why="Counts are never negative; 100k a period is absurd."),
        between("exits", 0, 100_000, why="Counts are never negative; 100k a period is absurd."),
        between("period_minutes", 1, 1440,
                why="Periods run from a minute to a whole day; anything else is a broken export."),
        *dated_sanely("period_start"),
        between("exit_entry_ratio", *EXIT_ENTRY_BAND, dataset="store_day",
                why=f"Per store and day, exits stay within {EXIT_ENTRY_BAND[0]}-"
                f"{EXIT_ENTRY_BAND[1]}x entries (days with at least {MIN_DAILY_ENTRIES} entries)"
                ": a counting line installed backwards or a door left out breaks it."),
        volume_drift(),
    ),
    datasets={
        "volume": daily_volume_drift("raw.camera_counts"),
        "store_day": f"""
            SELECT store_id, local_date, sum(entries) AS entries, sum(exits) AS exits,
                   sum(exits) / sum(entries) AS exit_entry_ratio
            FROM ({latest_rows("raw.camera_counts", ("store_id", "camera_id", "period_start"))})
            GROUP BY store_id, local_date HAVING sum(entries) >= {MIN_DAILY_ENTRIES}
        """,
    },
)  # fmt: skip

RFID_TAGS = Suite(
    "raw.rfid_tags",
    ("raw", "rfid_tags"),
    "The tag registry: which EPC is attached to which SKU.",
    rules=(
        *shape("rfid_tags"),
        *not_null("epc", "sku", why="A tag without EPC or SKU cannot be traced."),
        unique("epc", dataset="current", why="An EPC is attached to one product at a time."),
        *covered("tags whose SKU is in the catalogue", "sku_coverage"),
    ),
    datasets={
        "current": latest_rows("raw.rfid_tags", ("epc",)),
        "sku_coverage": coverage("raw.rfid_tags", "sku", "raw.products"),
    },
)  # fmt: skip

RFID_READS = Suite(
    "raw.rfid_reads",
    ("raw", "rfid_reads"),
    "RFID reader events: the raw material of tag visits, dwell times and product funnels.",
    rules=(
        *shape("rfid_reads"),
        *not_null("read_at", "store_id", "reader_id", "zone", "epc", "rssi", "local_date",
                  why="A read needs its time, place, tag and signal."),
        between("rssi", -120, 0, why="Signal strength is a negative dBm value."),
        *dated_sanely("read_at"),
        *covered("reads whose EPC is in the tag registry", "epc_coverage"),
        volume_drift(),
    ),
    datasets={
        "volume": daily_volume_drift("raw.rfid_reads"),
        "epc_coverage": coverage("raw.rfid_reads", "epc", "raw.rfid_tags"),
    },
)  # fmt: skip

MEMBERS = Suite(
    "raw.members",
    ("raw", "members"),
    "Loyalty members, pseudonymised: no name, email, phone or birth date ever lands here.",
    rules=(
        *shape("members"),
        *not_null("member_key", "joined_on", why="A member needs a key and a joining date."),
        no_rows_where("member_key is an HMAC-SHA256", "NOT regexp_full_match(member_key, "
                      "'[0-9a-f]{64}')", columns=("member_key",),
                      why="Anything else would be a raw member id: personal data."),
        one_of("gender", sorted(set(GENDERS.values())),
               why="Gender is stored as a code (F, M, X, U) only."),
        between("birth_year", 1900, None, mostly=0.99,
                why="Birth years before 1900 are placeholders, not customers."),
        no_rows_where("birth_year not in the future", "birth_year > year(current_date)",
                      columns=("birth_year",), why="Nobody is born in the future."),
        no_rows_where("joined_on not in the future", "joined_on > current_date + INTERVAL 1 DAY",
                      columns=("joined_on",), why="Nobody joins in the future."),
        unique("member_key", dataset="current", why="One current record per member."),
    ),
    datasets={"current": latest_rows("raw.members", ("member_key",))},
    private_columns=("member_key",),
)  # fmt: skip

TRANSACTIONS = Suite(
    "raw.transactions",
    ("raw", "transactions"),
    "Till lines: the sales, baskets and customer behaviour every model learns from.",
    rules=(
        *shape("transactions"),
        *not_null("receipt_id", "store_id", "sold_at", "sku", "quantity", "unit_price",
                  "discount", "local_date",
                  why="A till line needs its receipt, store, time, SKU, quantity and price."),
        between("quantity", -MAX_QUANTITY, MAX_QUANTITY,
                why="Quantities beyond a thousand units a line are keying errors."),
        no_rows_where("quantity not zero", "quantity = 0", columns=("quantity",),
                      why="A zero-quantity line is not a sale or a return."),
        between("unit_price", 0, MAX_PRICE, why="Prices are never negative or absurd."),
        between("discount", 0, None, why="A discount is never negative."),
        *dated_sanely("sold_at"),
        *covered("till lines whose SKU is in the catalogue", "sku_coverage"),
        between("share_matched", COVERAGE_WARN, severity=WARN, dataset="member_coverage",
                why="Member keys on till lines should be known members (loyalty export late?)."),
        between("return_share", 0, 0.2, severity=WARN, dataset="returns",
                why="Returns above a fifth of lines usually mean a sign error in the export."),
        volume_drift(),
    ),
    datasets={
        "volume": daily_volume_drift("raw.transactions"),
        "sku_coverage": coverage("raw.transactions", "sku", "raw.products"),
        "member_coverage": coverage("raw.transactions", "member_key", "raw.members"),
        "returns": "SELECT count(*) FILTER (WHERE quantity < 0) / count(*) AS return_share "
        "FROM raw.transactions HAVING count(*) > 0",
    },
    private_columns=("member_key",),
)  # fmt: skip

RAW_SUITES = [
    STORES, PRODUCTS, CALENDAR, CAMERA_COUNTS, RFID_TAGS, RFID_READS, MEMBERS, TRANSACTIONS
]  # fmt: skip
