"""serving.duckdb: what Metabase, Superset, DBeaver and Evidence read (docs/bi.md).

Published after every mart and ml table it copies has been built and has passed its blocking
checks, so BI never sees a table that broke its contract. With FOOTFALL_SERVING_PARQUET=1 the
same tables are also exported as Parquet files, for tools without a DuckDB driver.
"""

from pathlib import Path

import dagster as dg

from footfall_platform.orchestration.resources import WRITER_POOL, FootfallWarehouse
from footfall_platform.serving.parquet import export_parquet
from footfall_platform.serving.publish import PUBLISHED_SCHEMAS, publish
from footfall_platform.warehouse.inspect import markdown_table

SERVING_KEY = dg.AssetKey(["serving", "serving_duckdb"])


def build_serving_asset(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    """The publisher, depending on every asset whose table it copies."""

    @dg.asset(
        key=SERVING_KEY,
        group_name="serving",
        kinds={"duckdb"},
        pool=WRITER_POOL,
        deps=[k for k in upstream if k.path[0] in PUBLISHED_SCHEMAS],
        owners=["team:data"],
        description="The BI file: every marts, ml and features table with its dbt column docs, "
        "analyst-named views in `analytics`, built as a new file and swapped in atomically so "
        "readers never see a half-built version (docs/bi.md). With FOOTFALL_SERVING_PARQUET=1, "
        "also every table as `serving_parquet/<schema>/<table>.parquet`, swapped the same way.",
        tags={"layer": "serving"},
    )
    def _serving(warehouse: FootfallWarehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            published = publish(con, Path(warehouse.serving_path))
        # The DuckDB file is served already; a failed export fails the step with the previous
        # Parquet version still in place.
        parquet = (
            export_parquet(published.path, published.version) if warehouse.serving_parquet else None
        )
        rows = sorted(published.tables.items())
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(published.path)),
                "version": published.version,
                "tables": dg.MetadataValue.int(len(rows)),
                "dagster/row_count": dg.MetadataValue.int(sum(n for _, n in rows)),
                "contents": dg.MetadataValue.md(markdown_table(["table", "rows"], rows)),
                "parquet": dg.MetadataValue.path(str(parquet.folder)) if parquet else "off",
            }
        )

    return _serving
