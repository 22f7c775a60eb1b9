"""Every bad input of the landing contract: a clear reason, nothing lost, the rest still loads."""

from __future__ import annotations

import gzip
import os

import pytest

from footfall_platform.ingest import loader as loader_module
from footfall_platform.ingest.loader import SourceLoader
from footfall_platform.settings import Settings
from tests.conftest import land, ledger, quarantine

TX_HEADER = "receipt_id,store_id,sold_at,member_id,sku,quantity,unit_price,discount\n"
CAM_HEADER = "store_id,camera_id,period_start,period_end,entries,exits\n"


def tx_line(i: int, store: str = "S1", sold_at: str = "2025-06-01T10:00:00") -> str:
    return f"R{i},{store},{sold_at},M{i % 3},SKU{i % 7},1,9.99,0\n"


def good_tx(n: int) -> str:
    return TX_HEADER + "".join(tx_line(i) for i in range(n))


def test_garbage_binary_file_is_rejected_and_the_good_file_beside_it_loads(
    home: Settings, with_stores: SourceLoader
) -> None:
    land(home, "transactions/garbage.csv", bytes(range(256)) * 40)
    land(home, "transactions/good.csv", good_tx(5))
    result = with_stores.load_source("transactions")
    rows = ledger(with_stores)
    assert rows["transactions/garbage.csv"]["status"] == "rejected"
    assert "binary" in rows["transactions/garbage.csv"]["message"]
    assert rows["transactions/good.csv"]["status"] == "loaded"
    assert result.rows_loaded == 5


def test_text_garbage_without_the_header_is_rejected_naming_the_columns(
    home: Settings, with_stores: SourceLoader
) -> None:
    land(home, "transactions/noise.csv", "lorem ipsum dolor\nsit amet\n")
    with_stores.load_source("transactions")
    entry = ledger(with_stores)["transactions/noise.csv"]
    assert entry["status"] == "rejected"
    assert "missing required column(s): receipt_id, store_id, sold_at" in entry["message"]


def test_empty_file_is_rejected(home: Settings, with_stores: SourceLoader) -> None:
    land(home, "transactions/empty.csv", b"")
    land(home, "transactions/header_only.csv", TX_HEADER)
    with_stores.load_source("transactions")
    rows = ledger(with_stores)
    assert rows["transactions/empty.csv"]["status"] == "rejected"
    assert rows["transactions/empty.csv"]["message"] == "empty file (0 bytes)"
    assert rows["transactions/header_only.csv"]["status"] == "loaded"
    assert rows["transactions/header_only.csv"]["rows_in"] == 0


def test_header_missing_a_required_column_rejects_the_file_and_names_it(
    home: Settings, with_stores: SourceLoader
) -> None:
    land(home, "camera_counts/c.csv", "store_id,camera_id,period_start,entries,exits\n"
         "S1,door,2025-06-01T10:00:00,3,2\n")  # fmt: skip
    with_stores.load_source("camera_counts")
    entry = ledger(with_stores)["camera_counts/c.csv"]
    assert entry["status"] == "rejected"
    assert entry["message"] == "missing required column(s): period_end"
    assert with_stores.con.execute("SELECT count(*) FROM raw.camera_counts").fetchone()[0] == 0


def test_wrong_number_of_fields_quarantines_those_lines_with_their_numbers(
    home: Settings, with_stores: SourceLoader
) -> None:
    text = (TX_HEADER + tx_line(1) + "R2,S1,2025-06-01T10:00:00,M1,SKU1\n" + tx_line(3)
            + "R4,S1,2025-06-01T10:00:00,,SKU1,1,2,0,extra,fields\n" + tx_line(5))  # fmt: skip
    land(home, "transactions/t.csv", text)
    with_stores.load_source("transactions")
    entry = ledger(with_stores)["transactions/t.csv"]
    assert (entry["status"], entry["rows_in"], entry["rows_loaded"], entry["rows_quarantined"]) == (
        "partial", 5, 3, 2)  # fmt: skip
    bad = quarantine(with_stores, "transactions/t.csv")
    assert [(line, reason) for line, reason, _ in bad] == [
        (3, "wrong number of fields: expected 8, found 5"),
        (5, "wrong number of fields: expected 8, found more"),
    ]
    lines = [r[0] for r in with_stores.con.execute(
        "SELECT source_line FROM raw.transactions ORDER BY 1").fetchall()]  # fmt: skip
    assert lines == [2, 4, 6]


def test_line_numbers_count_quoted_line_breaks(home: Settings, loader: SourceLoader) -> None:
    text = ("sku,name,category,brand,unit_price,description\n"
            'A1,Shirt,tops,Acme,10,"two\nline description"\n'
            "A2,Socks,,Acme,3,plain\n"
            "A3,Hat,hats,Acme,x,bad price\n")  # fmt: skip
    land(home, "products/p.csv", text)
    loader.load_source("products")
    assert [(line, reason) for line, reason, _ in quarantine(loader)] == [
        (4, "category: missing"), (5, "unit_price: not a number: x")]  # fmt: skip


def test_unparseable_timestamps_and_numbers_are_quarantined(
    home: Settings, with_stores: SourceLoader
) -> None:
    text = (TX_HEADER + tx_line(1)
            + "R2,S1,yesterday at noon,,SKU1,1,9.99,0\n"
            + "R3,S1,2025-06-01T10:00:00,,SKU1,two,9.99,0\n"
            + "R4,S1,2025-13-45T10:00:00,,SKU1,1,9,99,0\n".replace(",9,99", ",9.99")
            + "R5,S1,2025-06-01T10:00:00,,SKU1,1.5,abc,0\n")  # fmt: skip
    land(home, "transactions/t.csv", text)
    with_stores.load_source("transactions")
    reasons = {line: reason for line, reason, _ in quarantine(with_stores)}
    assert reasons == {
        3: "sold_at: not an ISO 8601 timestamp: yesterday at noon",
        4: "quantity: not a whole number: two",
        5: "sold_at: not an ISO 8601 timestamp: 2025-13-45T10:00:00",
        6: "quantity: not a whole number: 1.5; unit_price: not a number: abc",
    }
    assert ledger(with_stores)["transactions/t.csv"]["rows_loaded"] == 1


def test_negative_and_absurd_counts_and_reversed_periods(
    home: Settings, with_stores: SourceLoader
) -> None:
    text = (CAM_HEADER
            + "S1,door,2025-06-01T10:00:00,2025-06-01T10:15:00,12,9\n"
            + "S1,door,2025-06-01T10:15:00,2025-06-01T10:30:00,-4,3\n"
            + "S1,door,2025-06-01T10:30:00,2025-06-01T10:45:00,90000,3\n"
            + "S1,door,2025-06-01T11:00:00,2025-06-01T10:45:00,1,1\n"
            + "S1,door,2025-06-01T00:00:00,2025-06-02T00:00:00,5200,5150\n"
            + "S1,door,2025-06-01T00:00:00,2025-06-03T00:00:00,10,10\n")  # fmt: skip
    land(home, "camera_counts/c.csv", text)
    with_stores.load_source("camera_counts")
    reasons = {line: reason for line, reason, _ in quarantine(with_stores)}
    assert reasons[3] == "entries: below 0: -4"
    assert reasons[4].startswith("absurd count: 90000 entries, 3 exits in 15")
    assert reasons[5] == "period_end is not after period_start"
    assert reasons[7] == "period longer than 24 hours"
    assert set(reasons) == {3, 4, 5, 7}
    minutes = with_stores.con.execute(
        "SELECT period_minutes FROM raw.camera_counts ORDER BY source_line").fetchall()
    assert minutes == [(15.0,), (1440.0,)]  # a whole-day period is fine


def test_unknown_store_is_quarantined(home: Settings, with_stores: SourceLoader) -> None:
    land(home, "transactions/t.csv", TX_HEADER + tx_line(1) + tx_line(2, store="S99"))
    land(home, "calendar/c.csv", "date,store_id,event,kind\n2025-12-25,,Christmas,holiday\n"
         "2025-07-01,S1,Summer sale,Promotion\n2025-07-02,S42,Ghost,closure\n"
         "2025-07-03,S2,Party,festival\n")  # fmt: skip
    with_stores.load_source("transactions")
    with_stores.load_source("calendar")
    reasons = [(r[1]) for r in quarantine(with_stores)]
    assert reasons == ["store_id: unknown store: S42", "kind: not one of closure, holiday, "
                       "promotion: festival", "store_id: unknown store: S99"]  # fmt: skip
    kinds = with_stores.con.execute("SELECT kind, store_id FROM raw.calendar ORDER BY date"
                                    ).fetchall()  # fmt: skip
    assert kinds == [("promotion", "S1"), ("holiday", None)]


def test_non_utf8_lines_are_quarantined_and_the_rest_loads(
    home: Settings, with_stores: SourceLoader
) -> None:
    text = (b"sku,name,category,brand,unit_price,description\n"
            + "A1,Caf\u00e9 cup,home,Acme,4,ok\n".encode()
            + "A2,Cr\u00e8me jar,home,Acme,5,latin-1\n".encode("latin-1")
            + b"A3,Plate,home,Acme,6,ok\n")  # fmt: skip
    land(home, "products/p.csv", text)
    with_stores.load_source("products")
    entry = ledger(with_stores)["products/p.csv"]
    assert (entry["status"], entry["rows_loaded"], entry["rows_quarantined"]) == ("partial", 2, 1)
    [(line, reason, _)] = quarantine(with_stores)
    assert (line, reason) == (3, "not valid UTF-8")
    names = [r[0] for r in with_stores.con.execute("SELECT name FROM raw.products ORDER BY sku")
             .fetchall()]  # fmt: skip
    assert names == ["Caf\u00e9 cup", "Plate"]


def test_crlf_and_bom_load_like_any_file(home: Settings, with_stores: SourceLoader) -> None:
    text = "\ufeff" + good_tx(4).replace("\n", "\r\n")
    land(home, "transactions/windows.csv", text)
    with_stores.load_source("transactions")
    entry = ledger(with_stores)["transactions/windows.csv"]
    assert (entry["status"], entry["rows_loaded"]) == ("loaded", 4)
    discounts = with_stores.con.execute("SELECT DISTINCT discount FROM raw.transactions").fetchall()
    assert [float(d[0]) for d in discounts] == [0.0]  # the last field has no trailing \r


def test_duplicate_rows_inside_a_file_are_quarantined(
    home: Settings, with_stores: SourceLoader
) -> None:
    land(home, "transactions/t.csv", TX_HEADER + tx_line(1) + tx_line(2) + tx_line(1) + tx_line(1))
    land(home, "stores/more.csv", "store_id,name,city,timezone,opened_on\n"
         "S4,A,B,Europe/Rome,2020-01-01\nS4,Other,B,Europe/Rome,2020-01-01\n")  # fmt: skip
    with_stores.load_source("transactions")
    with_stores.load_source("stores")
    assert [(line, reason) for line, reason, _ in quarantine(with_stores, "transactions/t.csv")] == [
        (4, "duplicate row: same as line 2"), (5, "duplicate row: same as line 2")]  # fmt: skip
    assert [(line, reason) for line, reason, _ in quarantine(with_stores, "stores/more.csv")] == [
        (3, "duplicate store_id: first at line 2")]  # fmt: skip


def test_the_same_bytes_under_another_name_load_once(
    home: Settings, with_stores: SourceLoader
) -> None:
    land(home, "transactions/2025-06/day.csv", good_tx(6))
    assert with_stores.load_source("transactions").rows_loaded == 6
    land(home, "transactions/resent/day_copy.csv", good_tx(6))
    result = with_stores.load_source("transactions")
    assert result.rows_loaded == 0
    entry = ledger(with_stores)["transactions/resent/day_copy.csv"]
    assert entry["status"] == "duplicate"
    assert "transactions/2025-06/day.csv" in entry["message"]
    assert with_stores.con.execute("SELECT count(*) FROM raw.transactions").fetchone()[0] == 6
    # and a known file is not even looked at again
    assert with_stores.pending("transactions") == []


def test_a_file_arriving_during_a_run_waits_for_the_next_run(
    home: Settings, with_stores: SourceLoader
) -> None:
    land(home, "transactions/a.csv", good_tx(3))
    snapshot = with_stores.pending("transactions")
    land(home, "transactions/b.csv", TX_HEADER + tx_line(10) + tx_line(11))  # arrives mid-run
    first = with_stores.load_source("transactions", snapshot)
    assert [f.path for f in first.files] == ["transactions/a.csv"]
    second = with_stores.load_source("transactions")
    assert [f.path for f in second.files] == ["transactions/b.csv"]
    assert with_stores.con.execute("SELECT count(*) FROM raw.transactions").fetchone()[0] == 5


def test_a_file_still_being_written_is_left_alone(home: Settings, with_stores: SourceLoader) -> None:
    land(home, "transactions/a.csv.part", good_tx(3))
    land(home, "transactions/.b.csv", good_tx(3))
    land(home, "transactions/fresh.csv", good_tx(2))
    settled = SourceLoader(with_stores.con, home.landing, settle_seconds=60)
    assert settled.pending("transactions") == []  # too fresh to trust
    assert [f.relative for f in with_stores.pending("transactions")] == ["transactions/fresh.csv"]


def test_a_file_that_changes_while_loading_is_rolled_back(
    home: Settings, with_stores: SourceLoader, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = land(home, "transactions/t.csv", good_tx(3))
    with monkeypatch.context() as patch:
        patch.setattr(SourceLoader, "_unchanged", lambda self, file: False)
        result = with_stores.load_source("transactions")
    assert result.files == []
    assert "transactions/t.csv" not in ledger(with_stores)
    assert with_stores.con.execute("SELECT count(*) FROM raw.transactions").fetchone()[0] == 0
    path.write_text(good_tx(3))
    loader = SourceLoader(with_stores.con, home.landing)
    assert loader.load_source("transactions").rows_loaded == 3


def test_a_crash_mid_file_leaves_no_rows_and_the_next_run_loads_it(
    home: Settings, with_stores: SourceLoader, monkeypatch: pytest.MonkeyPatch
) -> None:
    land(home, "transactions/t.csv", good_tx(4) + tx_line(1))  # one duplicate: quarantine too
    land(home, "transactions/u.csv", TX_HEADER + tx_line(20))

    def crash(self, result, file, now):  # after the rows and quarantine are written
        if file.relative.endswith("t.csv"):
            raise OSError("disk full")
        return original(self, result, file, now)

    original = SourceLoader._write_ledger
    with monkeypatch.context() as patch:
        patch.setattr(SourceLoader, "_write_ledger", crash)
        result = with_stores.load_source("transactions")
    assert result.errors == ["transactions/t.csv: OSError: disk full"]
    assert [f.path for f in result.files] == ["transactions/u.csv"]
    con = with_stores.con
    assert con.execute("SELECT count(*) FROM raw.transactions").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM ops.quarantine").fetchone()[0] == 0
    again = with_stores.load_source("transactions")
    assert [(f.path, f.rows_loaded, f.rows_quarantined) for f in again.files] == [
        ("transactions/t.csv", 4, 1)]  # fmt: skip


def test_gzip_and_parquet_files_load(home: Settings, with_stores: SourceLoader) -> None:
    import polars as pl

    land(home, "transactions/t.csv.gz", gzip.compress(good_tx(3).encode()))
    frame = pl.DataFrame({
        "read_at": ["2025-06-01T10:00:00", "2025-06-01T10:00:05Z", "bad"],
        "store_id": ["S1", "S2", "S1"], "reader_id": ["r1"] * 3, "zone": ["shelf"] * 3,
        "epc": ["30f4257bf4617b8000000001"] * 3, "rssi": [-60.5, -70.0, -55.0],
        "ignored": [1, 2, 3],
    })  # fmt: skip
    frame.write_parquet(home.landing / "rfid_reads.parquet")
    (home.landing / "rfid_reads").mkdir()
    (home.landing / "rfid_reads.parquet").rename(home.landing / "rfid_reads" / "r.parquet")
    land(home, "rfid_reads/broken.parquet", b"PAR1 not really")
    assert with_stores.load_source("transactions").rows_loaded == 3
    with_stores.load_source("rfid_reads")
    rows = ledger(with_stores)
    assert rows["rfid_reads/r.parquet"]["status"] == "partial"
    assert rows["rfid_reads/broken.parquet"]["status"] == "rejected"
    assert quarantine(with_stores, "rfid_reads/r.parquet")[0][:2] == (
        3, "read_at: not an ISO 8601 timestamp: bad")  # fmt: skip
    epc = with_stores.con.execute("SELECT DISTINCT epc FROM raw.rfid_reads").fetchone()[0]
    assert epc == "30F4257BF4617B8000000001"


def test_unsupported_extension_is_rejected(home: Settings, with_stores: SourceLoader) -> None:
    land(home, "transactions/t.xlsx", b"PK\x03\x04 spreadsheet")
    with_stores.load_source("transactions")
    entry = ledger(with_stores)["transactions/t.xlsx"]
    assert entry["status"] == "rejected"
    assert entry["message"].startswith("unsupported file type .xlsx")


def test_a_file_rewritten_between_its_two_reads_is_rolled_back(
    home: Settings, with_stores: SourceLoader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Explaining a repeated row reads the file again; if it is not the same file any more
    (same size and time stamp, other bytes), nothing of it loads and it stays for the next run."""
    path = land(home, "transactions/t.csv", good_tx(4) + tx_line(1))
    read_again = loader_module.stage_text

    def rewrite_then_read(*args, **kwargs):
        info = path.stat()
        path.write_text(path.read_text().replace("R1,", "R8,"))  # the repeated rows
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
        return read_again(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(loader_module, "stage_text", rewrite_then_read)
        result = with_stores.load_source("transactions")
    assert len(result.errors) == 1 and "reading the file again gave other rows" in result.errors[0]
    assert "transactions/t.csv" not in ledger(with_stores)
    assert with_stores.con.execute("SELECT count(*) FROM raw.transactions").fetchone()[0] == 0
    assert with_stores.load_source("transactions").rows_loaded == 4  # as it is now
