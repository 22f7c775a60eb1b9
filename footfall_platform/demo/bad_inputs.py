"""Deliberately bad deliveries, each with the verdict the loader must reach.

Real landing zones receive garbage: truncated uploads, exports with a column missing, hand-keyed
fixes with typos, files saved in latin-1, the same file sent twice. Each bad input is a small
separate file (or a few lines inside a normal one) whose expected ledger status and quarantine
count are recorded, so the loader can be tested against exact numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from .catalogue import Catalogue
from .people import Members
from .stores import Store
from .words import ACCENTED_FIRST, ACCENTED_LAST
from .writers import Landing

TILL_HEADER = "receipt_id,store_id,sold_at,member_id,sku,quantity,unit_price,discount"
CAMERA_HEADER = "store_id,camera_id,period_start,period_end,entries,exits"
READS_HEADER = "read_at,store_id,reader_id,zone,epc,rssi"


def record(
    file: str,
    kind: str,
    status: str,
    quarantined: int,
    rows_in: int,
    lines: list[dict] | None = None,
    **extra: object,
) -> dict:
    """One entry of truth.json's `bad_inputs`; `lines` gives line numbers (header = line 1)."""
    out: dict = {
        "file": file,
        "kind": kind,
        "expected_status": status,
        "expected_rows_quarantined": quarantined,
        "expected_rows_in": rows_in,
    }
    if lines:
        out["bad_lines"] = lines
    out.update(extra)
    return out


@dataclass
class BadInputs:
    """What the bad files need to look like real deliveries of this world."""

    landing: Landing
    stores: list[Store]
    start: dt.date
    days: int
    closed: np.ndarray
    catalogue: Catalogue
    members: Members
    stock_epcs: dict[int, list[str]]  # first display tags of each RFID store
    rng: np.random.Generator

    def day(self, target: int, store: Store) -> dt.date:
        """An open day of the store near `target` (bad rows look like real late fixes)."""
        d = min(target, self.days - 1)
        while d < self.days - 1 and self.closed[store.index, d]:
            d += 1
        return self.start + dt.timedelta(days=d)

    def till_rows(self, store: Store, day: dt.date, prefix: str, n: int) -> list[list[str]]:
        """`n` valid anonymous till lines, each a distinct product."""
        skus = self.rng.choice(self.catalogue.skus.len(), size=n, replace=False)
        rows = []
        for k, i in enumerate(skus):
            price = float(self.catalogue.price[i])
            when = dt.datetime.combine(day, dt.time(store.open_hour + 1 + k % 6, (7 * k) % 60, 5))
            rid = f"{prefix}-{store.store_id}-{day:%Y%m%d}-{k // 3 + 1:03d}"
            rows.append(
                [
                    rid,
                    store.store_id,
                    when.isoformat(),
                    "",
                    self.catalogue.skus[int(i)],
                    "1",
                    f"{price:.2f}",
                    "0.00",
                ]
            )
        return rows

    def write_rows(self, rel: str, source: str, header: str, rows: list[list[str]]) -> None:
        text = "\n".join([header, *(",".join(r) for r in rows)]) + "\n"
        self.landing.raw(rel, text.encode(), source=source, rows=len(rows))


def splice(good: list[list[str]], bad: list[tuple[int, list[str], str]]) -> tuple[list, list]:
    """Insert bad rows after the given number of good rows; returns rows and bad line records."""
    rows: list[list[str]] = []
    lines: list[dict] = []
    pending = sorted(bad, key=lambda b: b[0])
    for i, row in enumerate([*good, None]):
        while pending and (pending[0][0] == i or (row is None and pending[0][0] > i)):
            _, bad_row, reason = pending.pop(0)
            rows.append(bad_row)
            lines.append({"line": len(rows) + 1, "reason": reason})
        if row is not None:
            rows.append(row)
    return rows, lines


def month(day: dt.date) -> str:
    return f"{day:%Y-%m}"


def write_bad_inputs(ctx: BadInputs, duplicate_of: str) -> list[dict]:
    """Every standalone bad file; returns their truth records."""
    a, b = ctx.stores[0], ctx.stores[1 % len(ctx.stores)]
    d1a, d1b = ctx.day(40, a), ctx.day(40, b)
    d2a, d2b = ctx.day(70, a), ctx.day(70, b)
    out: list[dict] = []

    # Rejected as a whole.
    junk = bytearray(ctx.rng.bytes(3000))
    junk[::37] = b"\x00" * len(junk[::37])
    rel = f"transactions/{month(d1b)}/{b.store_id}_till_dump.csv"
    ctx.landing.raw(rel, bytes(junk), source="transactions", rows=0)
    out.append(record(rel, "binary_garbage", "rejected", 0, 0))

    rel = f"camera_counts/{month(d1a)}/{a.store_id}_upload_empty.csv"
    ctx.landing.raw(rel, b"", source="camera_counts", rows=0)
    out.append(record(rel, "empty_file", "rejected", 0, 0))

    rel = f"transactions/{month(d1a)}/{a.store_id}_manual_entry.csv"
    rows = [r[:4] + r[5:] for r in ctx.till_rows(a, d1a, "MAN", 4)]
    ctx.write_rows(rel, "transactions", TILL_HEADER.replace("sku,", ""), rows)
    out.append(record(rel, "missing_required_column", "rejected", 0, 0, missing_columns=["sku"]))

    # Partial: some rows quarantined, the rest load.
    good = ctx.till_rows(b, d1b, "FIX", 9)
    extra_field = [*good[0][:-1], "0.00", "note: re-keyed"]
    extra_field[0] = extra_field[0][:-3] + "901"
    bad = [
        (2, extra_field, "wrong number of fields (9)"),
        (5, [*good[1][:4], good[1][4], "1"], "wrong number of fields (6)"),
        (
            8,
            [
                f"FIX-{b.store_id}-{d1b:%Y%m%d}-902",
                b.store_id,
                f"{d1b}T12:00:00",
                "",
                good[2][4],
                "1",
                "12",
                "50",
                "0.00",
            ],
            "wrong number of fields: decimal comma",
        ),
    ]
    rows, lines = splice(good, bad)
    rel = f"transactions/{month(d1b)}/extra_{b.store_id}_fixes.csv"
    ctx.write_rows(rel, "transactions", TILL_HEADER, rows)
    out.append(record(rel, "wrong_field_count", "partial", len(bad), len(rows), lines))

    good = ctx.till_rows(b, d1b, "LATE", 8)
    stamps = [
        (f"{d1b:%Y-%m}-32T10:00:00", "sold_at: day 32"),
        (f"{d1b:%d/%m/%Y} 14:05", "sold_at: not ISO 8601"),
        ("yesterday 5pm", "sold_at: not a timestamp"),
        (f"{d1b}T25:10:00", "sold_at: hour 25"),
    ]
    bad = []
    for k, (stamp, reason) in enumerate(stamps):
        row = list(good[k])
        row[0] = row[0][:-3] + f"{900 + k}"
        row[2] = stamp
        bad.append((2 * k + 1, row, reason))
    rows, lines = splice(good, bad)
    rel = f"transactions/{month(d1b)}/extra_{b.store_id}_late_keyed.csv"
    ctx.write_rows(rel, "transactions", TILL_HEADER, rows)
    out.append(record(rel, "unparseable_timestamp", "partial", len(bad), len(rows), lines))

    good = ctx.till_rows(a, d2a, "PRC", 6)
    fixes = [
        (5, "two", "quantity: not a number"),
        (6, '"12,50"', "unit_price: decimal comma"),
        (5, "1.5", "quantity: not a whole number"),
        (5, "0", "quantity: zero"),
        (6, "-3.00", "unit_price: negative"),
        (7, "99999.00", "discount: larger than the line amount"),
    ]
    bad = []
    for k, (col, value, reason) in enumerate(fixes):
        row = list(good[k % len(good)])
        row[0] = row[0][:-3] + f"{900 + k}"
        row[col] = value
        bad.append((k + 1, row, reason))
    rows, lines = splice(good, bad)
    rel = f"transactions/{month(d2a)}/extra_{a.store_id}_price_fixes.csv"
    ctx.write_rows(rel, "transactions", TILL_HEADER, rows)
    out.append(
        record(rel, "unparseable_or_out_of_range_numbers", "partial", len(bad), len(rows), lines)
    )

    good = ctx.till_rows(a, d2a, "XFER", 5)
    bad = []
    for k, unknown in enumerate(["S999", "S999", "S000", "STORE-1"]):
        row = list(good[k])
        row[0], row[1] = row[0][:-3] + f"{900 + k}", unknown
        bad.append((k + 1, row, f"unknown store {unknown}"))
    rows, lines = splice(good, bad)
    rel = f"transactions/{month(d2a)}/extra_unknown_store.csv"
    ctx.write_rows(rel, "transactions", TILL_HEADER, rows)
    out.append(record(rel, "unknown_store", "partial", len(bad), len(rows), lines))

    out.append(camera_counts_fix(ctx, a, d1a))
    out.append(camera_periods_fix(ctx, b, d2b))
    out.append(members_latin1(ctx, d2a))
    if ctx.stock_epcs:
        out.append(rfid_glitch(ctx, d1a))

    # Duplicate: the same bytes under another name.
    stem, ext = duplicate_of.split(".", 1)
    rel = f"{stem}_resend.{ext}"
    ctx.landing.raw(
        rel,
        ctx.landing.read(duplicate_of),
        source=duplicate_of.split("/")[0],
        rows=ctx.landing.files[duplicate_of]["rows"],
    )
    out.append(record(rel, "duplicate_file", "duplicate", 0, 0, duplicate_of=duplicate_of))
    return out


def early_periods(store: Store, day: dt.date, n: int) -> list[list[str]]:
    """Valid zero counts before opening (05:00 on): they never change the planted footfall."""
    rows = []
    for k in range(n):
        t0 = dt.datetime.combine(day, dt.time(5)) + dt.timedelta(minutes=15 * k)
        t1 = t0 + dt.timedelta(minutes=15)
        rows.append([store.store_id, "door_main", t0.isoformat(), t1.isoformat(), "0", "0"])
    return rows


def camera_counts_fix(ctx: BadInputs, store: Store, day: dt.date) -> dict:
    good = early_periods(store, day, 8)
    bad_values = [
        ("-4", "0", "entries: negative"),
        ("3", "99999", "exits: absurd for 15 minutes"),
        ("lots", "2", "entries: not a number"),
    ]
    bad = []
    for k, (e, x, reason) in enumerate(bad_values):
        row = list(good[5 + k])
        row[4], row[5] = e, x
        bad.append((5, row, reason))
    good = good[:5]
    rows, lines = splice(good, bad)
    rel = f"camera_counts/{month(day)}/{store.store_id}_door_main_recount.csv"
    ctx.write_rows(rel, "camera_counts", CAMERA_HEADER, rows)
    return record(rel, "bad_counts", "partial", len(bad), len(rows), lines)


def camera_periods_fix(ctx: BadInputs, store: Store, day: dt.date) -> dict:
    good = early_periods(store, day, 8)
    t = dt.datetime.combine(day, dt.time(6, 15))
    bad = [
        (
            5,
            [
                store.store_id,
                "door_main",
                t.isoformat(),
                (t - dt.timedelta(minutes=15)).isoformat(),
                "0",
                "0",
            ],
            "period_end before period_start",
        ),
        (
            5,
            [
                store.store_id,
                "door_main",
                (t + dt.timedelta(minutes=15)).isoformat(),
                (t + dt.timedelta(minutes=15)).isoformat(),
                "0",
                "0",
            ],
            "period_end equals period_start",
        ),
        (
            5,
            [
                store.store_id,
                "door_main",
                (t + dt.timedelta(minutes=30)).isoformat(),
                (t + dt.timedelta(hours=25, minutes=30)).isoformat(),
                "0",
                "0",
            ],
            "period longer than 24 hours",
        ),
    ]
    rows, lines = splice(good[:5], bad)
    rel = f"camera_counts/{month(day)}/{store.store_id}_clock_fix.csv"
    ctx.write_rows(rel, "camera_counts", CAMERA_HEADER, rows)
    return record(rel, "bad_periods", "partial", len(bad), len(rows), lines)


def members_latin1(ctx: BadInputs, day: dt.date) -> dict:
    """A members update saved partly in latin-1: those lines are invalid UTF-8."""
    n = min(40, ctx.members.frame.height)
    pick = np.sort(ctx.rng.choice(ctx.members.frame.height, size=n, replace=False))
    frame = ctx.members.frame[pick.tolist()]
    new_phone = [f"+33 6 39 98 {k:02d} {(k * 7) % 100:02d}" for k in range(n)]
    frame = frame.with_columns(pl.Series("phone", new_phone))
    latin = sorted(ctx.rng.choice(n, size=min(5, n), replace=False).tolist())
    names = frame["full_name"].to_list()
    for j, k in enumerate(latin):
        names[k] = (
            f"{ACCENTED_FIRST[j % len(ACCENTED_FIRST)]} {ACCENTED_LAST[j % len(ACCENTED_LAST)]}"
        )
    frame = frame.with_columns(pl.Series("full_name", names))
    text = frame.write_csv()
    lines = text.rstrip("\n").split("\n")
    encoded = [
        line.encode("latin-1") if i - 1 in latin else line.encode("utf-8")
        for i, line in enumerate(lines)
    ]
    rel = f"members/members_update_{day:%Y-%m-%d}.csv"
    ctx.landing.raw(rel, b"\n".join(encoded) + b"\n", source="members", rows=n)
    bad_lines = [{"line": k + 2, "reason": "invalid UTF-8 (latin-1 bytes)"} for k in latin]
    return record(rel, "non_utf8_lines", "partial", len(latin), n, bad_lines)


def rfid_glitch(ctx: BadInputs, day: dt.date) -> dict:
    """A handheld inventory count in the backroom, with a few corrupted reads."""
    s = min(ctx.stock_epcs)
    store = ctx.stores[s]
    epcs = ctx.stock_epcs[s][:5]
    t0 = dt.datetime.combine(day, dt.time(6, 30))
    reader = f"{store.store_id}-BACKROOM-HANDHELD"

    def row(k: int, epc: str, rssi: str) -> list[str]:
        when = (t0 + dt.timedelta(seconds=2 * k)).isoformat(timespec="milliseconds")
        return [when, store.store_id, reader, "backroom", epc, rssi]

    good = [row(k, e, f"{-70 - k:.1f}") for k, e in enumerate(epcs)]
    bad = [
        (1, row(10, epcs[0], "12.5"), "rssi: above 0 dBm"),
        (2, row(11, epcs[1], "-150.0"), "rssi: below -120 dBm"),
        (3, row(12, "XYZ123XYZ123XYZ123XYZ123", "-71.0"), "epc: not hexadecimal"),
        (4, row(13, "ABC12", "-71.0"), "epc: fewer than 8 hex digits"),
    ]
    rows, lines = splice(good, bad)
    rel = f"rfid_reads/{month(day)}/{store.store_id}_reader_glitch.csv"
    ctx.write_rows(rel, "rfid_reads", READS_HEADER, rows)
    return record(rel, "bad_rfid_values", "partial", len(bad), len(rows), lines)


def duplicate_lines(
    frame: pl.DataFrame, rng: np.random.Generator, k: int = 3
) -> tuple[pl.DataFrame, list[int]]:
    """Repeat `k` lines right after themselves (a till resending lines); returns line numbers."""
    picks = np.sort(rng.choice(frame.height, size=min(k, frame.height), replace=False))
    order = np.sort(np.concatenate([np.arange(frame.height), picks]), kind="stable")
    out = frame[order.tolist()]
    first_copy = np.searchsorted(order, picks, side="left") + 1  # index of the repeat
    return out, [int(i) + 2 for i in first_copy]
