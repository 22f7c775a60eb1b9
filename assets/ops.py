"""The platform's own books as assets: the ingest ledger and the quarantine.

Every raw asset writes to these tables; making them assets of their own gives their quality
suites a place to run after all loads, and gives the data team one page per table in the UI
with the state of every file and every rejected row (redacted, never personal data).
"""

import dagster as dg

from assets.raw import RAW_ASSETS
from footfall_platform.orchestration.resources import WRITER_POOL, FootfallWarehouse
from footfall_platform.warehouse.inspect import ledger_summary, markdown_table, quarantine_summary

RAW_KEYS = [key for asset in RAW_ASSETS for key in asset.keys]


def _summary_asset(name: str, description: str, summarise) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["ops", name]),
        group_name="ingest",
        kinds={"duckdb"},
        pool=WRITER_POOL,
        deps=RAW_KEYS,
        owners=["team:data"],
        description=description,
        tags={"layer": "ops"},
    )
    def _ops(warehouse: FootfallWarehouse) -> dg.MaterializeResult:
        with warehouse.connect(read_only=True) as con:
            total = con.execute(f"SELECT count(*) FROM ops.{name}").fetchone()[0]
            headers, rows = summarise(con)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(total),
                "summary": dg.MetadataValue.md(markdown_table(headers, rows)),
            }
        )

    return _ops


OPS_ASSETS = [
    _summary_asset(
        "ingest_ledger",
        "One row per delivered file (path, source, SHA-256, rows in/loaded/quarantined, status "
        "loaded | partial | rejected | duplicate, message). Written by every raw asset; this "
        "asset summarises it and runs its contract after every load.",
        ledger_summary,
    ),
    _summary_asset(
        "quarantine",
        "Every rejected row with its file, line number and reason; records of personal-data "
        "sources are redacted. Written by every raw asset; this asset summarises it by reason.",
        quarantine_summary,
    ),
]
