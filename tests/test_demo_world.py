"""The demo world generator: deterministic bytes, contract-shaped files, recoverable truths.

The planted-truth checks recompute each truth from the written files (not from the generator's
memory), so they fail when the files drift from what truth.json promises.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from footfall_platform.demo import SCALES, generate_world
from footfall_platform.landing.contract import SOURCES

SOURCE_NAMES = {
    "stores",
    "products",
    "calendar",
    "camera_counts",
    "rfid_tags",
    "rfid_reads",
    "members",
    "transactions",
}
REQUIRED_KINDS = {
    "binary_garbage",
    "empty_file",
    "missing_required_column",
    "wrong_field_count",
    "unparseable_timestamp",
    "unparseable_or_out_of_range_numbers",
    "bad_counts",
    "bad_periods",
    "unknown_store",
    "non_utf8_lines",
    "crlf_and_bom",
    "duplicate_rows",
    "duplicate_file",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("world")
    truth = generate_world(out, scale="small", seed=7)
    return out, truth


def hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def read(root: Path, rel: str) -> pl.DataFrame:
    """A landed file as text columns with contract-normalised (trimmed, lower-case) names."""
    path = root / "landing" / rel
    if rel.endswith(".parquet"):
        frame = pl.read_parquet(path).select(pl.all().cast(pl.Utf8))
    else:
        data = path.read_bytes()
        if rel.endswith(".gz"):
            data = gzip.decompress(data)
        frame = pl.read_csv(data, infer_schema=False)
    return frame.rename({c: c.strip().lower() for c in frame.columns})


def header(root: Path, rel: str) -> set[str]:
    """Column names as the contract matches them (first line only: bad rows may follow)."""
    path = root / "landing" / rel
    if rel.endswith(".parquet"):
        return {c.strip().lower() for c in pl.read_parquet_schema(path)}
    data = gzip.decompress(path.read_bytes()) if rel.endswith(".gz") else path.read_bytes()
    first = data.split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")
    return {c.strip().lower() for c in next(csv.reader([first]))}


def bad_files(truth: dict) -> dict[str, dict]:
    return {b["file"]: b for b in truth["bad_inputs"]}


def good(root: Path, truth: dict, source: str) -> pl.DataFrame:
    """Every row of the non-bad files of a source (the rows the planted truths are about)."""
    bad = bad_files(truth)
    frames = []
    for rel, f in truth["files"].items():
        if f["source"] != source:
            continue
        if rel not in bad:
            frames.append(read(root, rel))
        elif bad[rel]["kind"] == "duplicate_rows":
            frames.append(read(root, rel).unique(maintain_order=True))
    return pl.concat(frames, how="diagonal")


def daily_entries(root: Path, truth: dict) -> pl.DataFrame:
    cams = good(root, truth, "camera_counts").with_columns(
        pl.col("entries", "exits").cast(pl.Int64), date=pl.col("period_start").str.slice(0, 10)
    )
    return cams.group_by("store_id", "date").agg(pl.col("entries", "exits").sum())


def sales(root: Path, truth: dict) -> pl.DataFrame:
    return good(root, truth, "transactions").with_columns(
        pl.col("quantity").cast(pl.Int64),
        pl.col("unit_price", "discount").cast(pl.Float64),
    )


# -- determinism ----------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    kwargs = dict(scale="small", days=35, members=120)
    generate_world(tmp_path / "a", seed=11, **kwargs)
    generate_world(tmp_path / "b", seed=11, **kwargs)
    generate_world(tmp_path / "c", seed=12, **kwargs)
    a, b, c = (hashes(tmp_path / k) for k in "abc")
    assert len(a) > 20
    assert a == b
    assert a.keys() == c.keys()
    differing = [k for k in a if a[k] != c[k]]
    assert "truth.json" in differing
    assert any(k.startswith("landing/transactions/") for k in differing)
    assert any(k.startswith("landing/rfid_reads/") and k.endswith(".parquet") for k in differing)


def test_refuses_a_landing_zone_that_already_holds_files(world: tuple[Path, dict]) -> None:
    out, _ = world
    with pytest.raises(FileExistsError):
        generate_world(out, scale="small")


def test_without_bad_inputs_every_file_is_clean(tmp_path: Path) -> None:
    truth = generate_world(tmp_path, scale="small", days=20, members=60, bad_inputs=False)
    assert truth["bad_inputs"] == []
    assert not [r for r in truth["files"] if "extra_" in r or "_resend" in r or "update_" in r
                and r.startswith("members/")]  # fmt: skip
    assert truth["totals"]["rows_written"] == truth["totals"]["expected_rows_loaded"]
    assert not (tmp_path / "landing/calendar/promotions.csv").read_bytes().startswith(b"\xef")


def test_scales_are_declared() -> None:
    assert set(SCALES) == {"small", "demo", "large"}
    assert SCALES["demo"].days == 548 and SCALES["demo"].stores == 5
    assert SCALES["large"].traffic * SCALES["large"].stores >= 9 * SCALES["demo"].traffic * 5


# -- layout and contract --------------------------------------------------------------------


def test_every_source_has_files_and_video_clips_with_their_truth(
    world: tuple[Path, dict],
) -> None:
    out, truth = world
    landing = out / "landing"
    assert {p.name for p in landing.iterdir()} == {*SOURCE_NAMES, "video"}
    for source in SOURCE_NAMES:
        assert any(p.is_file() for p in (landing / source).rglob("*")), source
    on_disk = {str(p.relative_to(landing)) for p in landing.rglob("*") if p.is_file()}
    video = {p for p in on_disk if p.startswith("video/")}
    assert on_disk - video == set(truth["files"])
    assert video == {*truth["video"]["clips"], truth["video"]["cameras_file"]}
    assert not list(landing.rglob("*.tmp"))
    formats = {f["format"] for f in truth["files"].values()}
    assert {"csv", "csv.gz", "parquet"} <= formats


def test_required_columns_in_every_good_file(world: tuple[Path, dict]) -> None:
    out, truth = world
    bad = bad_files(truth)
    for rel, f in truth["files"].items():
        if rel in bad and bad[rel]["expected_status"] == "rejected":
            continue
        columns = header(out, rel)
        missing = set(SOURCES[f["source"]].required_columns) - columns
        assert not missing, (rel, missing)


def test_good_fact_files_keep_the_row_rules(world: tuple[Path, dict]) -> None:
    out, truth = world
    bad = bad_files(truth)
    for rel, f in truth["files"].items():
        if rel in bad:
            continue
        frame = read(out, rel)
        assert frame.height == f["rows"], rel
        assert not frame.is_duplicated().any(), rel
        if f["source"] == "transactions":
            q = frame["quantity"].cast(pl.Int64)
            price = frame["unit_price"].cast(pl.Float64)
            assert ((q != 0) & (q.abs() <= 1000)).all(), rel
            assert (price >= 0).all() and (price <= 100_000).all(), rel
            assert (frame["discount"].cast(pl.Float64) <= q.abs() * price + 1e-9).all(), rel
        elif f["source"] == "camera_counts":
            start = frame["period_start"].str.to_datetime()
            minutes = (frame["period_end"].str.to_datetime() - start).dt.total_minutes()
            assert ((minutes > 0) & (minutes <= 24 * 60)).all(), rel
            for col in ("entries", "exits"):
                counts = frame[col].cast(pl.Int64)
                assert ((counts >= 0) & (counts <= (minutes * 60).clip(lower_bound=100))).all()
        elif f["source"] == "rfid_reads":
            assert frame["epc"].str.contains(r"^[0-9A-F]{24}$").all(), rel
            rssi = frame["rssi"].cast(pl.Float64)
            assert ((rssi >= -120) & (rssi <= 0)).all(), rel
            frame["read_at"].str.to_datetime("%Y-%m-%dT%H:%M:%S%.3f")


def test_dimension_files_keep_the_row_rules(world: tuple[Path, dict]) -> None:
    out, truth = world
    stores = read(out, "stores/stores.csv")
    assert stores["timezone"].n_unique() >= 2
    start = dt.date.fromisoformat(truth["generator"]["start"])
    assert (stores["opened_on"].str.to_date() < start).all()
    members = read(out, "members/members.csv")
    assert members["member_id"].is_unique().all()
    spellings = {g.lower() for g in members["gender"].drop_nulls()}
    assert spellings <= {
        "f",
        "female",
        "w",
        "woman",
        "m",
        "male",
        "man",
        "x",
        "other",
        "non-binary",
        "d",
        "unknown",
    }
    assert {"f", "female", "m", "male", "x"} <= spellings and members["gender"].null_count() > 0
    assert (members["joined_on"].str.to_date() <= dt.date.today()).all()
    assert (members["birth_date"].drop_nulls().str.to_date() > dt.date(1900, 1, 1)).all()
    products = read(out, "products/products.csv")
    assert products["sku"].is_unique().all()
    assert products["category"].is_in(["womenswear", "menswear", "shoes", "accessories"]).any()
    calendar = pl.concat([read(out, "calendar/calendar.csv"), read(out, "calendar/promotions.csv")])
    kinds = set(calendar["kind"])
    assert kinds == {"holiday", "promotion", "closure"}
    assert calendar.filter(pl.col("store_id").is_null() & (pl.col("kind") == "holiday")).height


# -- bad inputs -----------------------------------------------------------------------------


def test_truth_lists_bad_inputs_of_every_kind(world: tuple[Path, dict]) -> None:
    out, truth = world
    kinds = {b["kind"] for b in truth["bad_inputs"]}
    assert kinds >= REQUIRED_KINDS
    for b in truth["bad_inputs"]:
        assert (out / "landing" / b["file"]).is_file(), b["file"]
        assert b["expected_status"] in {"loaded", "partial", "rejected", "duplicate"}
        if b["expected_status"] in {"rejected", "duplicate"}:
            assert b["expected_rows_in"] == 0 and b["expected_rows_quarantined"] == 0
        elif b["expected_status"] == "partial":
            assert 0 < b["expected_rows_quarantined"] < b["expected_rows_in"]
            assert len(b["bad_lines"]) == b["expected_rows_quarantined"]
        else:
            assert b["expected_rows_quarantined"] == 0


def test_bad_inputs_are_bad_in_the_way_recorded(world: tuple[Path, dict]) -> None:
    out, truth = world
    landing = out / "landing"
    by_kind = {b["kind"]: b for b in truth["bad_inputs"]}
    assert b"\x00" in (landing / by_kind["binary_garbage"]["file"]).read_bytes()
    assert (landing / by_kind["empty_file"]["file"]).stat().st_size == 0
    header = (landing / by_kind["missing_required_column"]["file"]).read_text().split("\n")[0]
    assert "sku" not in header.split(",")

    latin = by_kind["non_utf8_lines"]
    lines = (landing / latin["file"]).read_bytes().split(b"\n")
    undecodable = []
    for number, line in enumerate(lines, start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            undecodable.append(number)
    assert undecodable == [b["line"] for b in latin["bad_lines"]]
    assert len(lines) - 2 == latin["expected_rows_in"]  # header and final newline

    crlf = (landing / by_kind["crlf_and_bom"]["file"]).read_bytes()
    assert crlf.startswith(b"\xef\xbb\xbf") and crlf.count(b"\r\n") == crlf.count(b"\n")
    assert by_kind["crlf_and_bom"]["expected_status"] == "loaded"

    dup = by_kind["duplicate_file"]
    assert (landing / dup["file"]).read_bytes() == (landing / dup["duplicate_of"]).read_bytes()

    rows = by_kind["duplicate_rows"]
    text = (landing / rows["file"]).read_text().split("\n")
    for b in rows["bad_lines"]:
        assert text[b["line"] - 1] == text[b["line"] - 2]
    assert len(text) - 2 == rows["expected_rows_in"]

    for b in truth["bad_inputs"]:
        if b["expected_status"] == "partial" and b["kind"] not in {"non_utf8_lines"}:
            data = (landing / b["file"]).read_text().rstrip("\n").split("\n")
            assert len(data) - 1 == b["expected_rows_in"], b["file"]


def test_totals_add_up(world: tuple[Path, dict]) -> None:
    _, truth = world
    written = truth["totals"]["rows_written"]
    assert written == {
        s: sum(f["rows"] for f in truth["files"].values() if f["source"] == s) for s in SOURCE_NAMES
    }
    assert 20_000 <= written["transactions"] <= 90_000
    assert truth["totals"]["expected_rows_loaded"]["transactions"] < written["transactions"]


# -- planted truths -------------------------------------------------------------------------


def test_weekday_profile_matches_the_planted_multipliers(world: tuple[Path, dict]) -> None:
    out, truth = world
    footfall, anomalies = truth["footfall"], truth["anomalies"]
    unusual = {(s, d) for s, ev in footfall["event_days"].items() for v in ev.values() for d in v}
    unusual |= {(a["store_id"], a["date"]) for a in anomalies["spikes"]}
    unusual |= {(o["store_id"], d) for o in anomalies["camera_outages"] for d in o["dates"]}
    base = {s["store_id"]: s["base_daily_footfall"] for s in truth["stores"]}
    daily = daily_entries(out, truth)
    keep = [(s, d) not in unusual for s, d in zip(daily["store_id"], daily["date"], strict=True)]
    by_weekday = (
        daily.filter(pl.Series(keep))
        .with_columns(
            rel=pl.col("entries") / pl.col("store_id").replace_strict(base),
            weekday=pl.col("date").str.to_date().dt.weekday(),
        )
        .group_by("weekday")
        .agg(pl.col("rel").mean())
        .sort("weekday")
    )
    observed = by_weekday["rel"].to_numpy()
    planted = np.array(list(footfall["dow_multipliers"].values()))
    np.testing.assert_allclose(observed / observed.mean(), planted / planted.mean(), rtol=0.06)
    assert observed[5] > 1.4 * observed[1]  # Saturday well above Tuesday


def test_cameras_count_the_true_entries_except_during_the_outage(world: tuple[Path, dict]) -> None:
    out, truth = world
    start = dt.date.fromisoformat(truth["generator"]["start"])
    daily = daily_entries(out, truth)
    outage = truth["anomalies"]["camera_outages"][0]
    closures = {(c["store_id"], c["date"]) for c in truth["footfall"]["closures"]}
    assert closures
    for store in truth["stores"]:
        sid = store["store_id"]
        mine = daily.filter(pl.col("store_id") == sid)
        counted = dict(zip(mine["date"], mine["entries"], strict=True))
        exits = dict(zip(mine["date"], mine["exits"], strict=True))
        for i, true in enumerate(store["true_entries_by_day"]):
            day = (start + dt.timedelta(days=i)).isoformat()
            if sid == outage["store_id"] and day in outage["dates"]:
                assert counted[day] < 0.8 * true
            else:
                assert counted[day] == true == exits[day], (sid, day)
            if (sid, day) in closures:
                assert counted[day] == 0
    cams = good(out, truth, "camera_counts")
    missing = cams.filter(
        (pl.col("store_id") == outage["store_id"])
        & (pl.col("camera_id") == outage["camera_id"])
        & pl.col("period_start").str.slice(0, 10).is_in(outage["dates"])
    )
    assert missing.height == 0


def test_spike_day_stands_out(world: tuple[Path, dict]) -> None:
    out, truth = world
    spike = truth["anomalies"]["spikes"][0]
    daily = daily_entries(out, truth).filter(pl.col("store_id") == spike["store_id"])
    weekday = dt.date.fromisoformat(spike["date"]).weekday()
    same_weekday = daily.filter(pl.col("date").str.to_date().dt.weekday() == weekday + 1)
    on_spike = same_weekday.filter(pl.col("date") == spike["date"])["entries"].item()
    others = same_weekday.filter(pl.col("date") != spike["date"])["entries"].median()
    assert on_spike > 2.2 * others


def test_camera_periods_come_in_several_lengths(world: tuple[Path, dict]) -> None:
    out, truth = world
    roles = truth["roles"]
    cams = good(out, truth, "camera_counts").with_columns(
        minutes=(
            pl.col("period_end").str.to_datetime() - pl.col("period_start").str.to_datetime()
        ).dt.total_minutes()
    )
    per_store = cams.group_by("store_id").agg(pl.col("minutes").unique().sort())
    lengths = dict(zip(per_store["store_id"], per_store["minutes"].to_list(), strict=True))
    assert lengths[roles["hourly_store"]] == [60]
    assert 1440 in lengths[roles["daily_file_store"]] and 15 in lengths[roles["daily_file_store"]]
    assert lengths[roles["outage_store"]] == [15]


def test_whole_day_periods_skip_daylight_saving_changes(tmp_path: Path) -> None:
    truth = generate_world(tmp_path, scale="small", start=dt.date(2025, 11, 1), days=6, members=50)
    store = next(s for s in truth["stores"] if s["store_id"] == truth["roles"]["daily_file_store"])
    rel = next(
        r for r in truth["files"] if r.startswith(f"camera_counts/2025-11/{store['store_id']}")
    )
    cams = read(tmp_path, rel).with_columns(
        pl.col("period_start", "period_end")
        .str.to_datetime()
        .dt.replace_time_zone(store["timezone"])
        .dt.convert_time_zone("UTC")
    )
    minutes = (cams["period_end"] - cams["period_start"]).dt.total_minutes()
    assert minutes.max() <= 24 * 60 and minutes.min() > 0
    assert {15, 1440} <= set(minutes) or {60, 1440} <= set(minutes)


def test_receipts_follow_footfall_through_the_conversion_rate(world: tuple[Path, dict]) -> None:
    out, truth = world
    lines = sales(out, truth)
    receipts = lines.group_by("receipt_id", "store_id").agg(pl.col("quantity").min())
    sale_receipts = receipts.filter(pl.col("quantity") > 0).group_by("store_id").len()
    counts = dict(zip(sale_receipts["store_id"], sale_receipts["len"], strict=True))
    for store in truth["stores"]:
        conversion = counts[store["store_id"]] / sum(store["true_entries_by_day"])
        assert conversion == pytest.approx(store["conversion_rate"], abs=0.015)


def test_planted_pairs_cooccur_with_a_high_lift(world: tuple[Path, dict]) -> None:
    out, truth = world
    lines = sales(out, truth).filter(pl.col("quantity") > 0)
    n = lines["receipt_id"].n_unique()
    for pair in truth["basket_pairs"]:
        a, b = pair["antecedent"]["sku"], pair["consequent"]["sku"]
        with_a = set(lines.filter(pl.col("sku") == a)["receipt_id"])
        with_b = set(lines.filter(pl.col("sku") == b)["receipt_id"])
        both = len(with_a & with_b)
        lift = both * n / (len(with_a) * len(with_b))
        assert lift > 1.5, (a, b, lift)
        assert (len(with_a), len(with_b), both) == (
            pair["receipts_with_antecedent"],
            pair["receipts_with_consequent"],
            pair["receipts_with_both"],
        )
        assert both / len(with_a) == pytest.approx(pair["planted_probability"], abs=0.12)


def test_returns_discounts_and_member_share(world: tuple[Path, dict]) -> None:
    out, truth = world
    lines = sales(out, truth)
    returns = (lines["quantity"] < 0).mean()
    assert 0.005 < returns < 0.05
    assert (lines.filter(pl.col("quantity") < 0)["discount"] == 0).all()
    receipts = lines.group_by("receipt_id").agg(pl.col("member_id").first())
    share = receipts["member_id"].is_not_null().mean()
    assert share == pytest.approx(truth["transactions"]["member_receipt_share"], abs=0.03)
    promo = {(s, d) for s, ev in truth["footfall"]["event_days"].items() for d in ev["promotion"]}
    day_store = zip(lines["store_id"], lines["sold_at"].str.slice(0, 10), strict=True)
    on_promo = pl.Series([k in promo for k in day_store])
    discounted = lines["discount"] > 0
    assert discounted.filter(on_promo).mean() > 0.3
    assert discounted.filter(~on_promo).mean() < 0.01  # only the UTC till's date shift leaks


def test_one_till_sends_utc_and_the_others_local_time(world: tuple[Path, dict]) -> None:
    out, truth = world
    lines = sales(out, truth)
    utc = truth["transactions"]["utc_till_stores"]
    assert len(utc) == 1
    mine = lines.filter(pl.col("store_id").is_in(utc))["sold_at"]
    others = lines.filter(~pl.col("store_id").is_in(utc))["sold_at"]
    assert mine.len() > 0 and mine.str.ends_with("Z").all()
    assert others.str.contains(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$").all()


def test_member_segments_show_their_habits(world: tuple[Path, dict]) -> None:
    out, truth = world
    members = read(out, "members/members.csv")
    segment = truth["members"]["member_segment"]
    assert set(members["member_id"]) == set(segment)
    receipts = (
        sales(out, truth)
        .filter(pl.col("member_id").is_not_null() & (pl.col("quantity") > 0))
        .group_by("receipt_id")
        .agg(pl.col("member_id").first(), pl.col("sold_at").first().str.slice(0, 10).alias("day"))
    )
    per_member = receipts.group_by("member_id").len()
    counts = dict(zip(per_member["member_id"], per_member["len"], strict=True))

    def mean_receipts(name: str) -> float:
        ids = [m for m, s in segment.items() if s == name]
        return sum(counts.get(m, 0) for m in ids) / len(ids)

    assert mean_receipts("vip") > 2.5 * mean_receipts("regular") > 2.5 * mean_receipts("bargain")
    lapse = truth["members"]["lapse_date"]
    late = receipts.filter(
        pl.col("member_id").is_in(list(lapse))
        & (pl.col("day") > pl.col("member_id").replace_strict(lapse, default=None))
    )
    assert late.height == 0  # lapsed members never shop after their lapse date (+1 UTC day)
    joined = dict(zip(members["member_id"], members["joined_on"], strict=True))
    new = [m for m, s in segment.items() if s == "new"]
    early = receipts.filter(
        pl.col("member_id").is_in(new)
        & (pl.col("day") < pl.col("member_id").replace_strict(joined, default=None))
    )
    assert early.height == 0


def test_rfid_journeys_end_in_a_sale_or_back_on_the_shelf(world: tuple[Path, dict]) -> None:
    out, truth = world
    rfid = truth["rfid"]
    tags = good(out, truth, "rfid_tags").select("epc", "sku")
    reads = good(out, truth, "rfid_reads").join(tags, on="epc", how="left")
    assert reads["sku"].null_count() == 0
    reads = reads.with_columns(
        t=pl.col("read_at").str.to_datetime("%Y-%m-%dT%H:%M:%S%.3f"),
        rssi=pl.col("rssi").cast(pl.Float64),
    )
    assert set(reads["zone"]) <= set(rfid["zones"]) and "fitting_room" in set(reads["zone"])
    lines = sales(out, truth).filter(pl.col("quantity") > 0)
    # The last checkout read is at most one read interval before the item leaves the zone.
    slack = rfid["sale_after_checkout_seconds"][1] + rfid["read_interval_seconds"]["checkout"] + 1
    for store_id, journeys in rfid["journeys"].items():
        mine = reads.filter(pl.col("store_id") == store_id)
        checkout = (
            mine.filter(pl.col("zone") == "checkout")
            .group_by("epc", "sku")
            .agg(pl.col("t").max())
            .sort("t")
        )
        assert checkout.height == journeys["bought"]
        till = (
            lines.filter(pl.col("store_id") == store_id)
            .select(
                "sku", sold=pl.col("sold_at").str.to_datetime("%Y-%m-%dT%H:%M:%S", time_unit="ms")
            )
            .sort("sold")
        )
        matched = checkout.join_asof(
            till,
            left_on="t",
            right_on="sold",
            by="sku",
            strategy="forward",
            tolerance=dt.timedelta(seconds=slack),
            check_sortedness=False,
        )
        assert matched["sold"].null_count() == 0
    sold_tags = reads.filter(pl.col("zone") == "checkout")["epc"].unique()
    fitting = (
        reads.filter((pl.col("zone") == "fitting_room") & pl.col("epc").is_in(sold_tags.implode()))
        .group_by("epc")
        .agg((pl.col("t").max() - pl.col("t").min()).dt.total_seconds().alias("span"), pl.len())
    )
    assert fitting["span"].mean() == pytest.approx(
        rfid["mean_dwell_seconds"]["fitting_room"], rel=0.25
    )


def test_truth_json_on_disk_is_the_returned_truth(world: tuple[Path, dict]) -> None:
    out, truth = world
    assert json.loads((out / "truth.json").read_text()) == truth
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", truth["generator"]["end"])
