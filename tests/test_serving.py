"""serving.duckdb: complete versions only, swapped atomically, readable while the pipeline writes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from assets.serving import SERVING_KEY
from footfall_platform.demo import generate_world
from footfall_platform.orchestration.run import materialize_everything
from footfall_platform.serving.parquet import export_parquet, parquet_folder
from footfall_platform.serving.publish import ServingNotPublished, check_complete, publish
from footfall_platform.settings import Settings
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
    assert (
        reader.execute(
            "SELECT comment FROM duckdb_columns() WHERE table_name = 'fct_footfall_daily' "
            "AND column_name = 'entries'"
        ).fetchone()[0]
        == "People who came in."
    )
    # Analyst views resolve inside the serving file alone.
    assert reader.execute("SELECT sum(entries) FROM analytics.daily_footfall").fetchone()[0] == (
        sum(range(1000))
    )
    assert check_complete(reader) == (published.version, 2)


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


def _parquet_rows(folder: Path) -> dict[str, int]:
    """schema.table -> rows, read back by polars (a reader without DuckDB)."""
    return {
        f"{path.parent.name}.{path.stem}": pl.read_parquet(path).height
        for path in folder.glob("*/*.parquet")
    }


def test_the_parquet_export_is_the_serving_tables_swapped_in_whole(tmp_path: Path) -> None:
    con = _warehouse(tmp_path / "w.duckdb")
    serving = tmp_path / "serving.duckdb"
    versions = []
    for _ in range(3):
        published = publish(con, serving)
        exported = export_parquet(serving, published.version)
        versions.append(published.version)
        folder = parquet_folder(serving)
        assert folder == tmp_path / "serving_parquet" == exported.folder
        assert folder.resolve().name == published.version  # the link points at this version
        rows = _parquet_rows(folder)
        assert rows == {**published.tables, "footfall_meta.published": 2} == exported.files
        meta = pl.read_parquet(folder / "footfall_meta" / "published.parquet")
        assert set(meta["version"]) == {published.version}
        assert "birth_year" not in pl.read_parquet(folder / "marts" / "dim_customer.parquet")
    con.close()
    assert not folder.readlink().is_absolute()  # the home can move
    kept = sorted(p.name for p in (tmp_path / ".serving_parquet").iterdir())
    assert kept == sorted(versions[1:])  # the one served and the one before it

    foreign = tmp_path / "elsewhere" / "serving_parquet"
    (foreign / "mine").mkdir(parents=True)
    with pytest.raises(ServingNotPublished, match="a real folder, not Footfall's link"):
        export_parquet(serving, versions[-1], foreign)
    assert (foreign / "mine").is_dir()  # someone's folder is never replaced


LOOPING_READER = textwrap.dedent("""
    import json, sys, time, duckdb
    from pathlib import Path
    from footfall_platform.serving.publish import check_complete
    path, stop = sys.argv[1], Path(sys.argv[2])
    print("reading", flush=True)
    versions, reads, errors = [], 0, []
    while not stop.exists():
        try:
            con = duckdb.connect(path, read_only=True)
            try:
                version = check_complete(con)[0]  # every table has the rows its version says
            finally:
                con.close()
            reads += 1
            if not versions or versions[-1] != version:
                versions.append(version)
        except Exception as e:  # any error is a failure of the serving design
            errors.append(repr(e))
        time.sleep(0.02)  # two shared cores: leave the pipeline room to run
    print(json.dumps({"reads": reads, "versions": versions, "errors": errors}))
""")
# A BI tool that keeps its connection open all along. Its own process: DuckDB hands every new
# connection in a process the database already open there, so this one would pin the reader
# above to the old file.
HOLDING_READER = textwrap.dedent("""
    import sys, duckdb
    from footfall_platform.serving.publish import check_complete
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(check_complete(con)[0], flush=True)
    sys.stdin.readline()
    print(check_complete(con)[0], flush=True)
""")


@pytest.mark.slow
def test_bi_readers_see_whole_versions_throughout_a_full_materialization(
    home: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(home.dagster_home))
    monkeypatch.setenv("FOOTFALL_SERVING_PARQUET", "1")
    home.dagster_home.mkdir(parents=True)
    settings = Settings.from_env()
    generate_world(settings.home, scale="small", seed=11)
    con = _warehouse(tmp_path / "yesterday.duckdb")
    yesterday = publish(con, settings.serving)  # the file BI reads when today's run starts
    con.close()

    stop = tmp_path / "stop"
    reader, holder = (
        subprocess.Popen(
            [sys.executable, "-c", script, str(settings.serving), str(stop)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for script in (LOOPING_READER, HOLDING_READER)
    )
    try:
        assert reader.stdout.readline().strip() == "reading"
        assert holder.stdout.readline().strip() == yesterday.version
        started = time.monotonic()
        result = materialize_everything(settings)  # publishes while both readers are in
        took = time.monotonic() - started
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=120)
        held, _ = holder.communicate("done\n", timeout=120)
    report = json.loads(out)
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == SERVING_KEY]
    failed = [e.step_key for e in result.all_events if e.is_step_failure]
    assert len(events) == 1, f"serving was not published; failed steps: {failed}"
    today = events[0].materialization.metadata["version"].value
    print(f"{report['reads']} reads in {took:.0f} s, versions {report['versions']}")

    assert report["errors"] == []
    assert report["versions"] == [yesterday.version, today]  # whole versions, in order
    assert report["reads"] >= 50
    # The open connection did not hold the publish up, and it still reads its whole version.
    assert held.strip() == yesterday.version

    reader_con = duckdb.connect(str(settings.serving), read_only=True)
    assert check_complete(reader_con)[0] == today
    tables = dict(reader_con.execute(
        "SELECT table_name, row_count FROM footfall_meta.published").fetchall())  # fmt: skip
    reader_con.close()
    assert {"marts.fct_footfall_daily", "ml.forecasts"} <= set(tables)
    rows = _parquet_rows(parquet_folder(settings.serving))
    assert rows == {**tables, "footfall_meta.published": len(tables)}
