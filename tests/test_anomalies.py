"""Anomalies on the small demo world: the planted camera outage and footfall spike are found,
ordinary days stay quiet, and the data-quality checks fire on the gaps they are meant for.

``STANDIN_FOOTFALL_SQL`` builds ``marts.fct_footfall_daily``, ``marts.fct_footfall_hourly``,
``marts.fct_sales_daily`` and ``features.store_day`` from the raw tables with the agreed
columns. It is a STAND-IN FOR THE MARTS (dbt, another issue), for these tests only.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import polars as pl
import pytest
from matplotlib.image import imread

from footfall_platform.mining.anomalies import (
    ANOMALY_SCHEMA,
    CHECKS,
    KINDS,
    AnomalyConfig,
    AnomalyInputError,
    anomaly_chart,
    daily_anomalies,
    find_anomalies,
    fit_daily,
    hourly_anomalies,
    rolling_nanmedian,
    score_store_days,
    silent_readers,
)
from footfall_platform.warehouse.frames import RFID_READER_DAYS_SQL
from tests.test_segments import build_world

# --- STAND-IN FOR THE MARTS (tests only): footfall, sales and the store-day features ------------

STANDIN_FOOTFALL_SQL = """
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS features;
CREATE OR REPLACE TABLE marts.fct_footfall_daily AS
SELECT store_id, local_date, sum(entries)::BIGINT AS entries, sum(exits)::BIGINT AS exits,
       count(DISTINCT camera_id) AS cameras_reporting
FROM raw.camera_counts GROUP BY ALL;
-- Whole-day periods cannot be placed in an hour: hourly footfall keeps periods of <= 60 min.
CREATE OR REPLACE TABLE marts.fct_footfall_hourly AS
SELECT store_id, local_date, local_hour, sum(entries)::BIGINT AS entries,
       sum(exits)::BIGINT AS exits
FROM raw.camera_counts WHERE period_minutes <= 60 GROUP BY ALL;
CREATE OR REPLACE TABLE marts.fct_sales_daily AS
WITH receipts AS (
    SELECT store_id, local_date, receipt_id, bool_or(quantity > 0) AS is_sale,
        bool_or(member_key IS NOT NULL) AS is_member,
        sum(quantity) FILTER (WHERE quantity > 0) AS units,
        sum(quantity * unit_price) FILTER (WHERE quantity > 0) AS gross,
        -sum(quantity * unit_price) FILTER (WHERE quantity < 0) AS returns_value,
        sum(discount) AS discount, sum(quantity * unit_price - discount) AS net
    FROM raw.transactions GROUP BY ALL)
SELECT store_id, local_date, count(*) FILTER (WHERE is_sale) AS receipts,
    count(*) FILTER (WHERE NOT is_sale) AS return_receipts,
    coalesce(sum(units), 0)::BIGINT AS units, coalesce(sum(gross), 0)::DOUBLE AS gross_revenue,
    coalesce(sum(returns_value), 0)::DOUBLE AS returns_value, sum(discount)::DOUBLE AS discount,
    sum(net)::DOUBLE AS net_revenue,
    count(*) FILTER (WHERE is_sale AND is_member) AS member_receipts,
    count(*) FILTER (WHERE is_sale AND is_member)
        / nullif(count(*) FILTER (WHERE is_sale), 0) AS member_share
FROM receipts GROUP BY ALL;
CREATE OR REPLACE TABLE features.store_day AS
WITH days AS (
    SELECT s.store_id, d::DATE AS date
    FROM (SELECT DISTINCT store_id FROM raw.stores) s,
        range((SELECT min(local_date) FROM raw.camera_counts),
              (SELECT max(local_date) FROM raw.camera_counts) + 1, INTERVAL 1 DAY) t(d)),
flags AS (
    SELECT d.store_id, d.date, bool_or(k.kind = 'holiday') AS h,
        bool_or(k.kind = 'promotion') AS p, bool_or(k.kind = 'closure') AS c
    FROM days d JOIN raw.calendar k
        ON k.date = d.date AND (k.store_id IS NULL OR k.store_id = d.store_id)
    GROUP BY ALL)
SELECT d.store_id, d.date, isodow(d.date) AS weekday, coalesce(f.entries, 0) AS footfall,
    coalesce(s.receipts, 0) AS receipts, coalesce(s.net_revenue, 0) AS net_sales,
    coalesce(flags.h, false) AS is_holiday, coalesce(flags.p, false) AS is_promotion,
    coalesce(flags.c, false) AS is_closure
FROM days d
LEFT JOIN marts.fct_footfall_daily f ON f.store_id = d.store_id AND f.local_date = d.date
LEFT JOIN marts.fct_sales_daily s ON s.store_id = d.store_id AND s.local_date = d.date
LEFT JOIN flags ON flags.store_id = d.store_id AND flags.date = d.date;
"""


def planted_days(truth: dict) -> set[tuple[str, dt.date]]:
    """Store-days of the planted anomalies: every camera-outage date and every spike."""
    found = truth["anomalies"]
    days = {
        (o["store_id"], dt.date.fromisoformat(d))
        for o in found["camera_outages"]
        for d in o["dates"]
    }
    return days | {(s["store_id"], dt.date.fromisoformat(s["date"])) for s in found["spikes"]}


def precision_recall(anomalies: pl.DataFrame, truth: set) -> tuple[float, float]:
    found = set(anomalies.select("store_id", "local_date").unique().iter_rows())
    hits = len(found & truth)
    return hits / max(len(found), 1), hits / len(truth)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    yield from build_world(tmp_path_factory.mktemp("anomalies"), [STANDIN_FOOTFALL_SQL])


@pytest.fixture(scope="module")
def inputs(world) -> dict[str, pl.DataFrame]:
    con, _ = world
    return {
        "store_days": con.execute("SELECT * FROM features.store_day").pl(),
        "footfall_daily": con.execute("SELECT * FROM marts.fct_footfall_daily").pl(),
        "footfall_hourly": con.execute("SELECT * FROM marts.fct_footfall_hourly").pl(),
        "reader_days": con.execute(RFID_READER_DAYS_SQL).pl(),
    }


@pytest.fixture(scope="module")
def found(inputs) -> pl.DataFrame:
    return find_anomalies(
        inputs["store_days"], inputs["footfall_daily"], inputs["footfall_hourly"],
        inputs["reader_days"],
    )  # fmt: skip


# --- the planted anomalies --------------------------------------------------------------------


def test_planted_footfall_anomalies_found_with_precision_and_recall(world, found) -> None:
    _, truth = world
    planted = planted_days(truth)
    assert len(planted) == 6
    footfall = found.filter(pl.col("grain") == "day", pl.col("metric") == "footfall")
    precision, recall = precision_recall(footfall, planted)
    assert precision >= 0.8 and recall >= 0.8, (precision, recall)
    outage = truth["anomalies"]["camera_outages"][0]
    for day in outage["dates"]:
        row = footfall.row(
            by_predicate=(pl.col("store_id") == outage["store_id"])
            & (pl.col("local_date") == dt.date.fromisoformat(day)),
            named=True,
        )
        assert (row["kind"], row["check"]) == ("outage", "camera_missing")
        assert 0.5 < row["actual"] / row["expected"] < 0.8  # one door of two: ~62 % counted
    spike = truth["anomalies"]["spikes"][0]
    row = footfall.row(
        by_predicate=(pl.col("store_id") == spike["store_id"])
        & (pl.col("local_date") == dt.date.fromisoformat(spike["date"])),
        named=True,
    )
    assert row["kind"] == "spike" and row["check"] == "model"
    assert row["actual"] / row["expected"] == pytest.approx(spike["multiplier"], rel=0.15)


def test_the_spike_shows_in_sales_and_ordinary_days_stay_quiet(world, inputs, found) -> None:
    _, truth = world
    planted = planted_days(truth)
    spike = truth["anomalies"]["spikes"][0]
    day = found.filter(pl.col("grain") == "day", pl.col("metric") != "rfid_reads")
    on_spike = day.filter(
        pl.col("store_id") == spike["store_id"],
        pl.col("local_date") == dt.date.fromisoformat(spike["date"]),
    )
    assert set(on_spike["metric"]) == {"footfall", "receipts", "net_sales"}
    assert set(on_spike["kind"]) == {"spike"}
    precision, recall = precision_recall(day, planted)  # sales included
    assert recall == 1.0 and precision >= 0.75, precision
    ordinary = inputs["store_days"].height * 3 - len(planted)
    false_alarms = day.filter(
        ~pl.struct("store_id", "local_date").is_in(
            [{"store_id": s, "local_date": d} for s, d in planted]
        )
    )
    assert false_alarms.height <= 0.01 * ordinary


def test_expected_values_follow_the_planted_demand(world, inputs) -> None:
    """The decomposition recovers the generator's expectation on ordinary days, and its
    calendar lifts land near the planted ones."""
    _, truth = world
    scored = score_store_days(inputs["store_days"], "footfall")
    start = dt.date.fromisoformat(truth["generator"]["start"])
    model = {s["store_id"]: s["expected_entries_by_day"] for s in truth["stores"]}
    planted = planted_days(truth)
    errors = [
        abs(row["expected"] / model[row["store_id"]][(row["local_date"] - start).days] - 1)
        for row in scored.iter_rows(named=True)
        if (row["store_id"], row["local_date"]) not in planted and row["expected"] > 0
    ]
    assert np.median(errors) < 0.03 and np.quantile(errors, 0.9) < 0.08
    days = inputs["store_days"].sort("store_id", "date")
    stores = days["store_id"].unique(maintain_order=True).to_list()

    def grid(column: str) -> np.ndarray:
        return days[column].cast(pl.Float64).to_numpy().reshape(len(stores), -1)

    first = days["date"][0]
    weekday = (first.weekday() + np.arange(grid("footfall").shape[1])) % 7
    fit = fit_daily(
        grid("footfall"), weekday, grid("is_holiday") > 0, grid("is_promotion") > 0,
        grid("is_closure") > 0, AnomalyConfig(),
    )  # fmt: skip
    lifts = truth["footfall"]["event_multipliers"]
    assert fit.holiday_lift == pytest.approx(lifts["holiday"], abs=0.06)
    assert fit.promotion_lift == pytest.approx(lifts["promotion"], abs=0.06)
    planted_dow = np.array(list(truth["footfall"]["dow_multipliers"].values()))
    assert np.abs(fit.weekly.mean(axis=0) - planted_dow / planted_dow.mean()).max() < 0.05


def test_hourly_anomalies_fall_on_the_planted_days(world, found) -> None:
    _, truth = world
    hours = found.filter(pl.col("grain") == "hour")
    assert hours.height >= 5
    precision, _ = precision_recall(hours, planted_days(truth))
    assert precision >= 0.8
    spike = truth["anomalies"]["spikes"][0]
    on_spike = hours.filter(pl.col("local_date") == dt.date.fromisoformat(spike["date"]))
    assert set(on_spike["kind"]) == {"spike"} and on_spike.height >= 5
    assert on_spike["local_hour"].is_between(0, 23).all()


def test_a_camera_silent_for_an_afternoon_is_an_hourly_outage(inputs) -> None:
    hourly = inputs["footfall_hourly"]
    day = dt.date(2025, 7, 16)  # an ordinary Wednesday at S003
    cut = (pl.col("store_id") == "S003") & (pl.col("local_date") == day)
    cut = cut & pl.col("local_hour").is_between(14, 17)
    anomalies = hourly_anomalies(hourly.filter(~cut), inputs["store_days"])
    hit = anomalies.filter(pl.col("store_id") == "S003", pl.col("local_date") == day)
    assert hit["local_hour"].to_list() == [14, 15, 16, 17]
    assert set(hit["kind"]) == {"outage"} and (hit["actual"] == 0).all()
    assert (hit["expected"] > 10).all()


def test_a_camera_counting_zero_while_the_till_sells(inputs) -> None:
    day = dt.date(2025, 7, 16)
    is_day = (pl.col("store_id") == "S003") & (pl.col("date") == day)
    store_days = inputs["store_days"].with_columns(
        footfall=pl.when(is_day).then(0).otherwise(pl.col("footfall"))
    )
    receipts = store_days.filter(is_day)["receipts"].item()
    anomalies = daily_anomalies(store_days, inputs["footfall_daily"])
    row = anomalies.row(
        by_predicate=(pl.col("store_id") == "S003")
        & (pl.col("local_date") == day)
        & (pl.col("metric") == "footfall"),
        named=True,
    )
    assert (row["kind"], row["check"], row["actual"]) == ("outage", "camera_zero_while_selling", 0)
    assert f"till made {receipts} sales" in row["detail"]


def test_rfid_readers_are_silent_only_when_taken_away(world, inputs) -> None:
    readers, store_days = inputs["reader_days"], inputs["store_days"]
    assert silent_readers(readers, store_days).height == 0  # the closure day is not a silence
    reader = "S002-FITTING-ROOM-R1"
    day = dt.date(2025, 6, 3)
    last_two = readers.filter(pl.col("reader_id") == "S001-SHELF-SHOES-R1")["local_date"].max()
    doctored = readers.filter(
        ~((pl.col("reader_id") == reader) & (pl.col("local_date") == day))
        & ~(
            (pl.col("reader_id") == "S001-SHELF-SHOES-R1")
            & (pl.col("local_date") >= last_two - dt.timedelta(days=1))
        )
    )
    silent = silent_readers(doctored, store_days)
    assert silent.select("subject", "local_date").rows() == [
        ("S001-SHELF-SHOES-R1", last_two - dt.timedelta(days=1)),
        ("S001-SHELF-SHOES-R1", last_two),
        (reader, day),
    ]
    assert set(silent["kind"]) == {"outage"} and set(silent["check"]) == {"reader_silent"}
    assert (silent["expected"] > 20).all() and (silent["actual"] == 0).all()


def test_the_table_keeps_to_its_schema_and_vocabulary(found) -> None:
    assert found.schema == pl.Schema(ANOMALY_SCHEMA)
    assert set(found["kind"]) <= set(KINDS)
    assert set(found["check"]) <= set(CHECKS)
    assert set(found["grain"]) == {"day", "hour"}
    assert (
        found.filter(pl.col("grain") == "day")["local_hour"].null_count()
        == found.filter(pl.col("grain") == "day").height
    )
    model = found.filter(pl.col("check") == "model")
    assert model["score"].null_count() == 0
    spikes = model.filter(pl.col("kind") == "spike")
    assert (spikes["actual"] > spikes["expected"]).all() and (spikes["score"] > 0).all()
    drops = model.filter(pl.col("kind") != "spike")
    assert (drops["actual"] < drops["expected"]).all() and (drops["score"] < 0).all()
    assert found.select("store_id", "local_date", "local_hour", "metric", "subject").n_unique() == (
        found.height
    )


def test_chart_is_a_png(inputs, found) -> None:
    png = anomaly_chart(inputs["store_days"], found)
    image = imread(io.BytesIO(png), format="png")
    assert image.shape[0] > 200 and image[..., :3].std() > 0.05


# --- the building blocks against their textbook versions ----------------------------------------


def test_rolling_median_matches_pandas() -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(size=(7, 60))
    values[rng.random(values.shape) < 0.2] = np.nan
    ours = rolling_nanmedian(values, 7, 3, chunk=3)
    theirs = pd.DataFrame(values.T).rolling(7, center=True, min_periods=3).median().to_numpy().T
    np.testing.assert_allclose(ours, theirs, equal_nan=True)


# --- bad input -------------------------------------------------------------------------------


def test_empty_input_gives_an_empty_table(inputs) -> None:
    empty = daily_anomalies(inputs["store_days"].head(0))
    assert empty.height == 0 and empty.schema == pl.Schema(ANOMALY_SCHEMA)
    assert hourly_anomalies(inputs["footfall_hourly"].head(0)).height == 0
    assert silent_readers(inputs["reader_days"].head(0), inputs["store_days"]).height == 0


def test_bad_inputs_are_refused_with_the_reason(inputs) -> None:
    store_days = inputs["store_days"]
    with pytest.raises(AnomalyInputError, match=r"lacks columns \['is_closure'\]"):
        daily_anomalies(store_days.drop("is_closure"))
    with pytest.raises(AnomalyInputError, match="1 repeated store-day"):
        daily_anomalies(pl.concat([store_days, store_days.head(1)]))
    with pytest.raises(AnomalyInputError, match="negative footfall"):
        daily_anomalies(store_days.with_columns(footfall=pl.col("footfall") - 10_000))
    with pytest.raises(AnomalyInputError, match="null"):
        daily_anomalies(store_days.with_columns(date=pl.lit(None, pl.Date)))
    hourly = inputs["footfall_hourly"]
    with pytest.raises(AnomalyInputError, match="local_hour outside 0-23"):
        hourly_anomalies(hourly.with_columns(local_hour=pl.col("local_hour") + 24))
    with pytest.raises(AnomalyInputError, match="lacks columns"):
        silent_readers(inputs["reader_days"].drop("reads"), store_days)


def test_a_short_history_is_scored_without_failing(inputs) -> None:
    """Four days of one store: too short for the weekly profile, still a valid (quiet) table."""
    few = inputs["store_days"].filter(pl.col("store_id") == "S001").head(4)
    assert daily_anomalies(few).schema == pl.Schema(ANOMALY_SCHEMA)
