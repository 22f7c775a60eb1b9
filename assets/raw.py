"""The raw layer: one asset per landing source, each loading that source's new files.

Thin by design: the loader in footfall_platform.ingest does the work; the asset names its
source, calls it and reports what happened.
"""


import dagster as dg

from footfall_platform.landing.contract import LOAD_ORDER
from footfall_platform.orchestration.resources import WRITER_POOL, FootfallWarehouse
from footfall_platform.warehouse.inspect import markdown_table, preview

DESCRIPTIONS = {
    "stores": "The store list: ids, names, cities, IANA time zones, opening dates.",
    "products": "The product catalogue: SKU, name, category, brand, list price, description.",
    "calendar": "Holidays, promotions and closures, per store or for every store.",
    "camera_counts": "Door-camera people counts (entries, exits) per camera and period, in UTC "
    "with the store-local date and hour.",
    "rfid_tags": "Which RFID tag (EPC) is attached to which SKU.",
    "rfid_reads": "RFID reader events: tag, zone, signal strength, time.",
    "members": "Loyalty members, pseudonymised: member_key (HMAC of the id), birth year, gender, "
    "city, joined_on. Names, emails, phones and birth dates never land.",
    "transactions": "Till lines: receipt, store, time, member_key, SKU, quantity (negative = "
    "return), unit price, discount.",
}


def raw_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source])


def build_raw_asset(source: str) -> dg.AssetsDefinition:
    deps = [] if source == "stores" else [raw_key("stores")]

    @dg.asset(
        key=raw_key(source),
        group_name="ingest",
        kinds={"duckdb"},
        pool=WRITER_POOL,
        deps=deps,
        owners=["team:data"],
        description=(
            f"{DESCRIPTIONS[source]}\n\nLoaded from `landing/{source}/` (see "
            "docs/landing-zone.md); every file is recorded in `ops.ingest_ledger`, every "
            "rejected row in `ops.quarantine`."
        ),
        tags={"layer": "raw"},
    )
    def _raw(context: dg.AssetExecutionContext, warehouse: FootfallWarehouse) -> dg.MaterializeResult:
        with warehouse.loader() as loader:
            result = loader.load_source(source)
            con = loader.con
            total = con.execute(f"SELECT count(*) FROM raw.{source}").fetchone()[0]
            headers, rows = preview(con, f"raw.{source}", order_by="loaded_at DESC, source_line")
        for file in result.files:
            context.log.info(
                f"{file.path}: {file.status}, {file.rows_loaded} loaded, "
                f"{file.rows_quarantined} quarantined{': ' + file.message if file.message else ''}"
            )
        statuses = {s: sum(f.status == s for f in result.files)
                    for s in ("loaded", "partial", "rejected", "duplicate")}  # fmt: skip
        metadata = {
            "dagster/row_count": dg.MetadataValue.int(total),
            "files": dg.MetadataValue.int(len(result.files)),
            **{f"files_{s}": dg.MetadataValue.int(n) for s, n in statuses.items()},
            "rows_loaded": dg.MetadataValue.int(result.rows_loaded),
            "rows_quarantined": dg.MetadataValue.int(result.rows_quarantined),
            "preview": dg.MetadataValue.md(markdown_table(headers, rows)),
        }
        if result.errors:
            raise dg.Failure(
                description=f"{len(result.errors)} file(s) of {source} failed to load and stay in "
                "the landing zone for the next run; the other files loaded.",
                metadata={**metadata, "errors": dg.MetadataValue.md("\n".join(
                    f"- {e}" for e in result.errors))},
            )  # fmt: skip
        return dg.MaterializeResult(metadata=metadata)

    return _raw


RAW_ASSETS = [build_raw_asset(source) for source in LOAD_ORDER]
