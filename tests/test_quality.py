"""Quality gates with real GX validations and real Dagster materializations on a DuckDB file."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from assets.ops import OPS_ASSETS
from assets.raw import RAW_ASSETS
from footfall_platform.definitions import build_definitions
from footfall_platform.demo import generate_world
from footfall_platform.orchestration.automation import QUALITY_GATED
from footfall_platform.orchestration.resources import WRITER_POOL, FootfallWarehouse
from footfall_platform.settings import Settings
from footfall_platform.warehouse.connection import connect
from footfall_platform.warehouse.inspect import table_counts
from quality.checks import QUALITY_CHECKS
from quality.suites import SUITES, suite_for
from tests.conftest import STORES_CSV, land

SKUS = [f"SKU{i:02d}" for i in range(10)]
PRODUCTS_CSV = "sku,name,category,brand,unit_price,description\n" + "".join(
    f"{s},Item {s},Tops,Acme,{10 + i}.50,A plain item\n" for i, s in enumerate(SKUS)
)


def _downstream(name: str, parent: str) -> dg.AssetsDefinition:
    """A stand-in for a mart: copies its parent so the test can see whether it ran."""

    @dg.asset(key=["marts", name], deps=[dg.AssetKey(["raw", parent])], pool=WRITER_POOL,
              automation_condition=QUALITY_GATED)  # fmt: skip
    def _mart(warehouse: FootfallWarehouse) -> None:
        with warehouse.connect() as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS marts")
            con.execute(f"CREATE OR REPLACE TABLE marts.{name} AS SELECT * FROM raw.{parent}")

    return _mart


SALES = _downstream("test_sales", "transactions")
FOOTFALL = _downstream("test_footfall", "camera_counts")


def _run(home: Settings, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*RAW_ASSETS, *OPS_ASSETS, SALES, FOOTFALL, *QUALITY_CHECKS],
        resources={"warehouse": FootfallWarehouse.from_settings(home, settle_seconds=0)},
        instance=instance,
        raise_on_error=False,
    )


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def _transactions(rows: list[tuple[str, str, int]]) -> str:
    return "receipt_id,store_id,sold_at,member_id,sku,quantity,unit_price\n" + "".join(
        f"R{i:05d},S1,2024-03-0{1 + i % 7}T1{i % 10}:00:00,,{sku},{qty},{price}\n"
        for i, (sku, qty, price) in enumerate(rows)
    )


def _base_world(home: Settings) -> None:
    land(home, "stores/stores.csv", STORES_CSV)
    land(home, "products/products.csv", PRODUCTS_CSV)


def test_unknown_skus_block_the_mart_until_the_catalogue_arrives(home: Settings) -> None:
    instance = dg.DagsterInstance.ephemeral()
    _base_world(home)
    # 40% of the lines name SKUs the catalogue has never heard of: each row is valid on its own.
    lines = [(SKUS[i % 10] if i % 5 > 1 else f"NEW{i % 4}", 1, "9.99") for i in range(200)]
    land(home, "transactions/2024-03.csv", _transactions(lines))

    first = _run(home, instance)
    check = _checks(first)["gx_transactions_contract"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "share_matched in [0.9, inf]: observed" in check.description
    failed = check.metadata["failed_rules"].value
    assert "| share_matched in [0.9, inf] | ERROR | error |" in failed
    assert "marts/test_sales" not in _materialized(first)  # blocked in the same run
    assert "marts/test_footfall" in _materialized(first)  # other branches still run
    report = Path(check.metadata["report"].value)
    assert report.is_file() and "share_matched" in report.read_text()
    assert (report.parent / "gx_suite_figures.html").is_file()  # GX's own Data Docs page
    assert (report.parent.parent / "index.html").is_file()

    # Across runs: the automation condition keeps the mart waiting while the check is failed.
    defs = dg.Definitions(
        assets=[*RAW_ASSETS, SALES], asset_checks=QUALITY_CHECKS,
        resources={"warehouse": FootfallWarehouse.from_settings(home, settle_seconds=0)},
    )  # fmt: skip
    waiting = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert waiting.get_num_requested(SALES.key) == 0

    # The catalogue update with the missing products arrives: the table meets its contract.
    land(home, "products/products_update.csv", "sku,name,category,brand,unit_price,description\n"
         + "".join(f"NEW{i},New {i},Tops,Acme,12.00,New line\n" for i in range(4)))  # fmt: skip
    second = _run(home, instance)
    assert _checks(second)["gx_transactions_contract"].passed
    assert "marts/test_sales" in _materialized(second)
    with connect(home.warehouse, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.test_sales").fetchone()[0] == 200


def _camera_day(exits_factor: int) -> str:
    rows = "".join(
        f"S1,door,2024-03-01T{h:02d}:00:00,2024-03-01T{h + 1:02d}:00:00,20,{20 * exits_factor}\n"
        for h in range(9, 19)
    )
    return "store_id,camera_id,period_start,period_end,entries,exits\n" + rows


def test_a_backwards_counting_line_blocks_until_the_corrected_file_arrives(
    home: Settings,
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    _base_world(home)
    land(home, "camera_counts/S1_2024-03-01.csv", _camera_day(exits_factor=3))
    first = _run(home, instance)
    check = _checks(first)["gx_camera_counts_contract"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "exit_entry_ratio in [0.67, 1.5]" in check.description
    assert "3.0" in check.metadata["failed_rules"].value  # the observed ratio, as an example
    assert "marts/test_footfall" not in _materialized(first)

    # The store re-sends the day with the line fixed; later deliveries correct earlier ones.
    land(home, "camera_counts/S1_2024-03-01_fixed.csv", _camera_day(exits_factor=1))
    second = _run(home, instance)
    assert _checks(second)["gx_camera_counts_contract"].passed
    assert "marts/test_footfall" in _materialized(second)


def test_a_warning_reports_and_lets_downstream_run(home: Settings) -> None:
    _base_world(home)
    # A third of the lines are returns: plausible rows, an implausible table (sign error?).
    lines = [(SKUS[i % 10], -1 if i % 3 == 0 else 2, "9.99") for i in range(90)]
    land(home, "transactions/2024-03.csv", _transactions(lines))
    result = _run(home, dg.DagsterInstance.ephemeral())
    check = _checks(result)["gx_transactions_contract"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "[WARN] return_share in [0, 0.2]" in check.description
    assert check.metadata["errors"].value == 0 and check.metadata["warnings"].value == 1
    assert "marts/test_sales" in _materialized(result)


def test_quarantine_privacy_rule_catches_an_unredacted_member_record(home: Settings) -> None:
    _base_world(home)
    _run(home, dg.DagsterInstance.ephemeral())
    with connect(home.warehouse) as con:
        con.execute(
            "INSERT INTO ops.quarantine VALUES ('members', 'members/m.csv', 'abc', 2, 'test', "
            "'{\"email\": \"jane.doe@example.com\"}', now())"
        )
    from quality.validate import validate_suite

    with connect(home.warehouse, read_only=True) as con:
        outcome = validate_suite(con, suite_for("ops.quarantine"))
    failed = {o.rule.name: o for o in outcome.blocking_failures}
    assert "no personal data in quarantine" in failed
    # The example shown to the data team is redacted, never the address itself.
    assert "jane.doe" not in repr(failed["no personal data in quarantine"].examples)


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate_world(out, scale="small", seed=5)
    return out / "landing"


def test_every_table_has_a_suite_and_every_suite_passes_on_the_demo_world(
    home: Settings, small_world: Path
) -> None:
    shutil.copytree(small_world, home.landing, dirs_exist_ok=True)
    defs = build_definitions(home)
    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        resources={**defs.resources, "warehouse": FootfallWarehouse.from_settings(home, 0)},
        raise_on_error=False,
    )
    evaluations = _checks(result)
    assert {s.check_name for s in SUITES} <= set(evaluations)  # GX suites beside dbt's tests
    false_alarms = {n: e.description for n, e in evaluations.items() if not e.passed}
    assert not false_alarms
    with connect(home.warehouse, read_only=True) as con:
        tables = {name for name, _ in table_counts(con)}
    assert tables == {s.table for s in SUITES}  # every table the platform writes has a suite


def test_docs_list_every_rule_of_every_suite() -> None:
    from quality.docs import render

    docs = Path(__file__).parents[1] / "docs" / "quality.md"
    assert docs.read_text(encoding="utf-8") == render(), "run `footfall quality docs`"


def test_a_rule_on_an_undeclared_dataset_is_refused() -> None:
    from quality.rules import between
    from quality.suite import Suite

    with pytest.raises(ValueError, match="unknown datasets"):
        Suite("raw.x", ("raw", "x"), "test", rules=(between("a", 0, why="t", dataset="nope"),))
