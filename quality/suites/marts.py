"""Contracts of the tables dbt builds: intermediate tables, marts and features.

dbt's own tests (unique, not_null, ranges, relationships) guard single columns next to the SQL;
these suites add what only the table as a whole can show: the documented columns and nothing
else, keys, and totals that must reconcile with the layer below. The column lists are read from
the dbt YAML, the one place they are described.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from quality.rules import (
    WARN,
    Rule,
    between,
    columns_match,
    no_rows_where,
    not_null,
    unique,
)
from quality.suite import Suite

DBT_MODELS = Path(__file__).resolve().parents[2] / "dbt" / "models"


@cache
def _documented() -> dict[str, list[str]]:
    columns: dict[str, list[str]] = {}
    for path in DBT_MODELS.rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            columns[model["name"]] = [c["name"] for c in model.get("columns", [])]
    return columns


def documented_columns(model: str) -> Rule:
    """The table has exactly the columns its dbt YAML documents (analysts read those docs)."""
    return columns_match(
        _documented()[model],
        why="BI users and the models read these columns as the dbt docs describe them; an "
        "undocumented or missing column means the docs and the table disagree.",
    )


def key(*columns: str, what: str) -> list[Rule]:
    return [
        *not_null(*columns, why=f"Every row is one {what}."),
        unique(*columns, why=f"One row per {what}: a repeat doubles every total built on it."),
    ]


def reconciles(name: str, difference_sql: str, why: str) -> tuple[Rule, tuple[str, str]]:
    """A rule and its dataset: rows where two layers disagree on a total (none expected)."""
    return (
        no_rows_where(name, "true", why=why, dataset=name.replace(" ", "_")),
        (name.replace(" ", "_"), difference_sql),
    )


def _suite(
    table: str,
    purpose: str,
    rules: list[Rule],
    checks: list[tuple[Rule, tuple[str, str]]] = (),
    private: tuple[str, ...] = (),
) -> Suite:
    schema, name = table.split(".")
    return Suite(
        table,
        (schema, name),
        purpose,
        rules=(documented_columns(name), *rules, *(rule for rule, _ in checks)),
        datasets=dict(dataset for _, dataset in checks),
        private_columns=private,
    )


FOOTFALL_DAILY_MATCHES_STAGING = reconciles(
    "entries match staging",
    """
    SELECT m.store_id, m.local_date, m.entries AS mart_entries, s.entries AS staging_entries,
           m.video_entries AS mart_video_entries, s.video_entries AS staging_video_entries
    FROM marts.fct_footfall_daily m
    FULL JOIN (SELECT store_id, local_date, sum(entries) AS entries,
                      coalesce(sum(entries) FILTER (WHERE count_source = 'video'), 0)
                          AS video_entries
               FROM intermediate.int_camera_counts GROUP BY ALL) s USING (store_id, local_date)
    WHERE coalesce(m.entries, 0) <> coalesce(s.entries, 0)
       OR coalesce(m.video_entries, 0) <> coalesce(s.video_entries, 0)
    """,
    "Every entry counted by a camera (door sensor or video, the sensor winning a camera's day) "
    "is in the daily mart once: incremental runs neither drop nor double a store-day, and a "
    "video drop reaches its day.",
)
HOURLY_ADDS_UP_TO_DAILY = reconciles(
    "hours add up to the day",
    """
    SELECT d.store_id, d.local_date, d.entries, h.entries AS hourly_entries
    FROM marts.fct_footfall_daily d
    LEFT JOIN (SELECT store_id, local_date, sum(entries) AS entries
               FROM marts.fct_footfall_hourly GROUP BY ALL) h USING (store_id, local_date)
    WHERE d.entries <> coalesce(h.entries, 0)
    """,
    "The hourly rows (whole-day counts in a row without an hour) add up to the day's entries.",
)
VIDEO_WITHIN_ENTRIES = no_rows_where(
    "video entries are part of the entries",
    "video_entries < 0 OR video_entries > entries",
    columns=("video_entries", "entries"),
    why="Video fills in for cameras without a sensor; its entries are a part of the total, "
    "never more.",
)
SALES_MATCH_STAGING = reconciles(
    "net revenue matches the till lines",
    """
    SELECT m.store_id, m.local_date, m.net_revenue AS mart, s.net AS staging
    FROM marts.fct_sales_daily m
    FULL JOIN (SELECT store_id, local_date, sum(quantity * unit_price - discount) AS net
               FROM staging.stg_transactions GROUP BY ALL) s USING (store_id, local_date)
    WHERE abs(coalesce(m.net_revenue, 0) - coalesce(s.net, 0)) > 0.01
    """,
    "Net revenue per store-day is the sum of its till lines (sales minus discounts minus "
    "refunds): nothing lost or doubled between staging and the mart.",
)

MARTS_SUITES = [
    _suite(
        "marts.dim_store",
        "One row per store: what every report groups by.",
        [*key("store_id", what="store"), *not_null("timezone", "opened_on",
                                                   why="Local dates need the store's clock."),
         no_rows_where("video cameras are among the cameras", "video_cameras > cameras",
                       columns=("video_cameras", "cameras"),
                       why="A camera counted from video is one of the store's cameras.")],
    ),
    _suite(
        "marts.dim_product",
        "One row per SKU, the catalogue as it stands.",
        [*key("sku", what="product"),
         between("unit_price", 0, None, why="Prices are never negative.")],
    ),
    _suite(
        "marts.dim_customer",
        "One row per member key: RFM and behaviour for segments, propensity and CRM.",
        [*key("member_key", what="member"),
         between("frequency", 0, None, why="Receipt counts are never negative."),
         between("weekend_share", 0, 1, why="A share lies in [0, 1]."),
         between("promotion_share", 0, 1, why="A share lies in [0, 1]."),
         between("avg_basket_items", 1, None,
                 why="A sale receipt holds at least one product line."),
         between("price_index", 0, None, why="A ratio of prices is never negative."),
         between("price_index", 0.2, 5, mostly=0.99, severity=WARN,
                 why="Members who pay a fifth or five times the usual price of a category on "
                 "average are rare; many suggest prices in the wrong unit (cents) or a "
                 "category mix-up in the catalogue."),
         no_rows_where("behaviour only with a purchase",
                       "(frequency = 0) <> (avg_basket_items IS NULL OR promotion_share IS NULL)",
                       columns=("frequency", "avg_basket_items", "promotion_share"),
                       why="Basket size and promotion share describe sale receipts: present "
                       "exactly for members with one (the segments leave the others out)."),
         between("return_rate", 0, 1, mostly=0.99, severity=WARN,
                 why="Members returning more units than they bought are rare; many suggest a "
                 "sign error in the till export.")],
        private=("member_key",),
    ),
    _suite(
        "marts.fct_footfall_hourly",
        "Entries and exits per store, local date and hour.",
        [*not_null("store_id", "local_date", why="Every row is one store-day's hour."),
         unique("store_id", "local_date", "local_hour",
                why="One row per store-hour (hour empty for whole-day counts, whose hours are "
                "unknown): a repeat doubles every total built on it."),
         between("local_hour", 0, 23, why="Hours of the local day."),
         between("entries", 0, None, why="Counts are never negative."),
         between("exits", 0, None, why="Counts are never negative."),
         VIDEO_WITHIN_ENTRIES],
    ),
    _suite(
        "marts.fct_footfall_daily",
        "Entries and exits per store and local date: the footfall every KPI divides by.",
        [*key("store_id", "local_date", what="store-day"),
         between("entries", 0, None, why="Counts are never negative."),
         between("exits", 0, None, why="Counts are never negative."),
         VIDEO_WITHIN_ENTRIES,
         no_rows_where("video cameras are among the cameras reporting",
                       "video_cameras > cameras_reporting",
                       columns=("video_cameras", "cameras_reporting"),
                       why="A camera counted from video is one of the day's cameras.")],
        [FOOTFALL_DAILY_MATCHES_STAGING, HOURLY_ADDS_UP_TO_DAILY],
    ),
    _suite(
        "marts.fct_sales_daily",
        "Receipts, units and revenue per store and local date.",
        [*key("store_id", "local_date", what="store-day"),
         between("receipts", 0, None, why="Counts are never negative."),
         between("member_share", 0, 1, why="A share lies in [0, 1]."),
         no_rows_where("net = gross - discount - returns",
                       "abs(gross_revenue - discount - returns_value - net_revenue) > 0.01",
                       columns=("gross_revenue", "discount", "returns_value", "net_revenue"),
                       why="The revenue columns must tell one story.")],
        [SALES_MATCH_STAGING],
    ),
    _suite(
        "marts.fct_conversion_daily",
        "Receipts per visitor, basket value and sales per visitor per store and local date.",
        [*key("store_id", "local_date", what="store-day"),
         no_rows_where("conversion only with footfall", "conversion IS NOT NULL AND "
                       "coalesce(entries, 0) = 0", columns=("conversion", "entries"),
                       why="Without footfall conversion is unknown, never zero or infinite."),
         between("conversion", 0, None, why="Conversion is never negative."),
         between("conversion", 0, 1, severity=WARN,
                 why="More receipts than visitors means a camera missed people (an outage) or "
                 "counts the wrong door: worth a look, not a reason to stop the models.")],
    ),
    _suite(
        "marts.fct_baskets",
        "One row per sale receipt with its distinct SKUs: what rule mining reads.",
        [*key("receipt_id", "store_id", "local_date", what="receipt"),
         between("items", 1, None, why="A basket holds at least one product.")],
        private=("member_key",),
    ),
    _suite(
        "marts.fct_zone_dwell",
        "RFID visits and dwell per store, date and zone.",
        [*key("store_id", "local_date", "zone", what="store-day-zone"),
         between("visits", 0, None, why="Counts are never negative.")],
    ),
    _suite(
        "marts.fct_camera_zone_dwell",
        "People's visits and dwell in camera zones (queue, fixture) per store, date and zone.",
        [*key("store_id", "local_date", "camera_id", "zone", what="store-day-camera-zone"),
         between("visits", 1, None, why="A row exists because its zone had a visit."),
         between("mean_dwell_seconds", 0, None, why="Dwell times are never negative."),
         between("max_dwell_seconds", 0, 3600, severity=WARN,
                 why="Nobody stands an hour in one zone: a ghost of someone the background "
                 "model absorbed (docs/vision.md, Limits) or a mannequin in the zone.")],
    ),
    _suite(
        "marts.fct_product_funnel",
        "Per SKU and store: pick-ups, try-ons, purchases and the rates between them.",
        [*key("store_id", "sku", what="store-product"),
         between("pick_to_buy_rate", 0, 1, why="A rate lies in [0, 1]."),
         no_rows_where("purchases never exceed pick-ups", "purchases > pick_ups",
                       columns=("purchases", "pick_ups"),
                       why="A tagged item is picked up before it is bought.")],
    ),
    _suite(
        "features.store_day",
        "Per store and date: footfall, sales and calendar flags, the forecasting input.",
        [*key("store_id", "date", what="store-day"),
         no_rows_where("closures have no footfall and no sales",
                       "is_closure AND (coalesce(footfall, 0) > 0 OR coalesce(receipts, 0) > 0)",
                       columns=("is_closure", "footfall", "receipts"), severity=WARN,
                       why="A closed store that counts visitors or sells is a calendar error.")],
    ),
    _suite(
        "intermediate.int_tag_visits",
        "RFID read bursts collapsed into visits: one tag, one zone, one stretch of time.",
        [*key("store_id", "epc", "zone", "first_seen", what="tag visit"),
         between("dwell_seconds", 0, 4 * 3600, mostly=0.999,
                 why="Visits longer than four hours are a tag left on a reader."),
         between("read_count", 1, None, why="A visit has at least one read.")],
    ),
    _suite(
        "intermediate.int_tag_journeys",
        "A tag's trip through the store: picked up, tried on, bought or put back.",
        [*key("store_id", "epc", "journey_no", what="tag journey"),
         no_rows_where("bought or put back, not both", "purchased AND put_back",
                       columns=("purchased", "put_back"),
                       why="A journey ends one way.")],
    ),
]
