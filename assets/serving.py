"""serving.duckdb: what Metabase, Superset, DBeaver and Evidence read (docs/bi.md).

Published after every mart and ml table it copies has been built and has passed its blocking
checks, so BI never sees a table that broke its contract.
"""

from pathlib import Path

import dagster as dg

from footfall_platform.orchestration.resources import WRITER_POOL, FootfallWarehouse
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
        "readers never see a half-built version (docs/bi.md).",
        tags={"layer": "serving"},
    )
    def _serving(warehouse: FootfallWarehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            published = publish(con, Path(warehouse.serving_path))
        rows = sorted(published.tables.items())
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(published.path)),
                "version": published.version,
                "tables": dg.MetadataValue.int(len(rows)),
                "dagster/row_count": dg.MetadataValue.int(sum(n for _, n in rows)),
                "contents": dg.MetadataValue.md(markdown_table(["table", "rows"], rows)),
            }
        )

    return _serving
