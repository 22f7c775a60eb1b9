"""serving.duckdb: complete versions only, swapped atomically, readable while the pipeline writes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from footfall_platform.serving import publish as publishing
from footfall_platform.serving.publish import check_complete, publish
from footfall_platform.warehouse.connection import connect


def _warehouse(path: Path, rows: int = 1000) -> duckdb.DuckDBPyConnection:
    con = connect(path)
    for schema in ("raw", "ops", "marts", "ml", "staging"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute("CREATE OR REPLACE TABLE raw.transactions AS SELECT 1 AS secret")
    con.execute("CREATE OR REPLACE TABLE ops.quarantine AS SELECT 'x' AS raw_record")
    con.execute(
        "CREATE OR REPLACE TABLE marts.fct_footfall_daily AS SELECT 'S1' AS store_id, "
        f"DATE '2024-01-01' + range::INTEGER AS local_date, range AS entries FROM range({rows})"
    )
    con.execute("COMMENT ON TABLE marts.fct_footfall_daily IS 'Entries per store and day.'")
    con.execute("COMMENT ON COLUMN marts.fct_footfall_daily.entries IS 'People who came in.'")
    con.execute(
        "CREATE OR REPLACE TABLE marts.dim_customer AS SELECT 'k1' AS member_key, "
        "1980 AS birth_year, '45-54' AS age_band"
    )
    return con


def test_publish_copies_the_marts_with_their_docs_and_nothing_private(tmp_path: Path) -> None:
    con = _warehouse(tmp_path / "w.duckdb")
    published = publish(con, tmp_path / "serving.duckdb")
    con.close()
    assert published.tables == {"marts.dim_customer": 1, "marts.fct_footfall_daily": 1000}
    reader = duckdb.connect(str(tmp_path / "serving.duckdb"), read_only=True)
    schemas = {r[0] for r in reader.execute(
        "SELECT DISTINCT schema_name FROM duckdb_tables()").fetchall()}  # fmt: skip
    assert schemas == {"marts", "footfall_meta"}  # never raw, ops or staging
    columns = [r[0] for r in reader.execute("DESCRIBE marts.dim_customer").fetchall()]
    assert columns == ["member_key", "age_band"]  # birth year withheld
    assert reader.execute(
        "SELECT comment FROM duckdb_columns() WHERE table_name = 'fct_footfall_daily' "
        "AND column_name = 'entries'"
    ).fetchone()[0] == "People who came in."
    # Analyst views resolve inside the serving file alone.
    assert reader.execute("SELECT sum(entries) FROM analytics.daily_footfall").fetchone()[0] == (
        sum(range(1000))
    )
    assert check_complete(reader) == (published.version, 2)


def test_a_failed_publish_leaves_the_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = _warehouse(tmp_path / "w.duckdb")
    first = publish(con, tmp_path / "serving.duckdb")

    def disk_full(*args: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publishing, "_copy_table", disk_full)
    with pytest.raises(OSError, match="No space left"):
        publish(con, tmp_path / "serving.duckdb")
    con.close()
    reader = duckdb.connect(str(tmp_path / "serving.duckdb"), read_only=True)
    assert check_complete(reader) == (first.version, 2)
    assert [p.name for p in tmp_path.iterdir() if "building" in p.name] == []


def test_a_deleted_serving_file_is_published_again(tmp_path: Path) -> None:
    con = _warehouse(tmp_path / "w.duckdb")
    publish(con, tmp_path / "serving.duckdb")
    (tmp_path / "serving.duckdb").unlink()
    again = publish(con, tmp_path / "serving.duckdb")
    con.close()
    reader = duckdb.connect(str(tmp_path / "serving.duckdb"), read_only=True)
    assert check_complete(reader)[0] == again.version


READER = textwrap.dedent("""
    import sys, time, duckdb
    from footfall_platform.serving.publish import check_complete
    path, seconds = sys.argv[1], float(sys.argv[2])
    versions, reads, errors = set(), 0, []
    end = time.time() + seconds
    while time.time() < end:
        try:
            con = duckdb.connect(path, read_only=True)
            versions.add(check_complete(con)[0])
            con.close()
            reads += 1
        except Exception as e:  # any error is a failure of the serving design
            errors.append(repr(e))
    print(len(versions), reads, len(errors), errors[:3])
""")


def test_readers_see_only_complete_versions_while_the_pipeline_publishes(
    tmp_path: Path,
) -> None:
    con = _warehouse(tmp_path / "w.duckdb", rows=200_000)
    serving = tmp_path / "serving.duckdb"
    publish(con, serving)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(serving), "8"], stdout=subprocess.PIPE, text=True
    )
    published = set()
    deadline = time.time() + 7
    while time.time() < deadline:  # the warehouse keeps changing and publishing meanwhile
        con.execute("INSERT INTO marts.fct_footfall_daily SELECT * FROM marts.fct_footfall_daily "
                    "LIMIT 1000")  # fmt: skip
        published.add(publish(con, serving).version)
    con.close()
    out, _ = reader.communicate(timeout=60)
    versions, reads, errors, examples = out.split(" ", 3)
    assert int(errors) == 0, examples
    assert int(reads) > 10 and int(versions) > 1  # it really read while versions changed
