"""The mining layer: segments, comparisons, anomalies and association rules, built on the marts.

Thin by design: each asset reads its marts, calls footfall_platform.mining, replaces its `ml`
table and reports rows, a preview and, where a picture says more, a chart.
"""

from collections.abc import Callable, Iterator

import dagster as dg
import polars as pl

from footfall_platform.charts import markdown_image
from footfall_platform.mining.anomalies import anomaly_chart, find_anomalies
from footfall_platform.mining.comparison import segment_comparison, store_comparison
from footfall_platform.mining.rules import mine_rules
from footfall_platform.mining.rules_chart import rules_chart
from footfall_platform.mining.segments import segment_chart, segment_customers
from footfall_platform.orchestration.resources import WRITER_POOL, FootfallWarehouse
from footfall_platform.warehouse.frames import (
    RFID_READER_DAYS_SQL,
    read_query,
    read_table,
    write_table,
)
from footfall_platform.warehouse.inspect import markdown_table

GROUP = "mining"
PREVIEW_ROWS = 10


def key(schema: str, table: str) -> dg.AssetKey:
    return dg.AssetKey([schema, table])


DIM_CUSTOMER = key("marts", "dim_customer")
FCT_BASKETS = key("marts", "fct_baskets")
FCT_CONVERSION_DAILY = key("marts", "fct_conversion_daily")
FCT_FOOTFALL_DAILY = key("marts", "fct_footfall_daily")
FCT_FOOTFALL_HOURLY = key("marts", "fct_footfall_hourly")
STORE_DAY = key("features", "store_day")
DIM_PRODUCT = key("marts", "dim_product")
RAW_RFID_READS = key("raw", "rfid_reads")
CUSTOMER_SEGMENTS = key("ml", "customer_segments")
SEGMENT_PROFILES = key("ml", "segment_profiles")


def table_name(asset_key: dg.AssetKey) -> str:
    return ".".join(asset_key.path)


def frame_metadata(frame: pl.DataFrame, rows: int = PREVIEW_ROWS) -> dict[str, dg.MetadataValue]:
    preview = frame.head(rows)
    return {
        "dagster/row_count": dg.MetadataValue.int(frame.height),
        "preview": dg.MetadataValue.md(markdown_table(preview.columns, preview.rows())),
    }


class SegmentsConfig(dg.Config):
    k_min: int = 2
    k_max: int = 8
    seed: int = 0


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            CUSTOMER_SEGMENTS,
            deps=[DIM_CUSTOMER],
            description="Each member's segment (member_key, segment, segment_id): KMeans on "
            "scaled RFM, products per basket, price position and tenure, k by the Davies-Bouldin "
            "index (docs/mining.md).",
            kinds={"duckdb", "sklearn", "polars"},
            group_name=GROUP,
            owners=["team:data"],
        ),
        dg.AssetSpec(
            SEGMENT_PROFILES,
            deps=[DIM_CUSTOMER],
            description="One row per segment: size, member and revenue shares, mean features.",
            kinds={"duckdb", "polars"},
            group_name=GROUP,
            owners=["team:data"],
        ),
    ],
    pool=WRITER_POOL,
)
def customer_segments(
    config: SegmentsConfig, warehouse: FootfallWarehouse
) -> Iterator[dg.MaterializeResult]:
    with warehouse.connect() as con:
        customers = read_table(con, table_name(DIM_CUSTOMER))
        result = segment_customers(
            customers, k_range=range(config.k_min, config.k_max + 1), seed=config.seed
        )
        write_table(con, table_name(CUSTOMER_SEGMENTS), result.customer_segments)
        write_table(con, table_name(SEGMENT_PROFILES), result.profiles)
    chart = markdown_image(segment_chart(customers, result), "segments")
    sizes = result.profiles.select("segment", "size", "revenue_share")
    yield dg.MaterializeResult(
        asset_key=CUSTOMER_SEGMENTS,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(result.customer_segments.height),
            "k": dg.MetadataValue.int(result.k),
            "davies_bouldin_by_k": dg.MetadataValue.json(
                {str(k): round(v, 4) for k, v in result.davies_bouldin.items()}
            ),
            "silhouette_by_k": dg.MetadataValue.json(
                {str(k): round(v, 4) for k, v in result.silhouettes.items()}
            ),
            "features": dg.MetadataValue.json(list(result.features)),
            "constant_features_left_out": dg.MetadataValue.json(list(result.constant_features)),
            "segments": dg.MetadataValue.md(markdown_table(sizes.columns, sizes.rows())),
            "chart": dg.MetadataValue.md(chart),
        },
    )
    yield dg.MaterializeResult(
        asset_key=SEGMENT_PROFILES,
        metadata={**frame_metadata(result.profiles), "chart": dg.MetadataValue.md(chart)},
    )


def comparison_asset(
    name: str, compare: Callable[..., pl.DataFrame], inputs: list[dg.AssetKey], group: str,
    description: str,
) -> dg.AssetsDefinition:  # fmt: skip
    """An ``ml.<name>`` asset: ``compare`` gets the ``inputs`` tables in order, its table replaces
    ``ml.<name>``, and the metadata shows each ``group``'s headline KPIs side by side."""

    @dg.asset(
        key=key("ml", name),
        deps=inputs,
        group_name=GROUP,
        owners=["team:data"],
        kinds={"duckdb", "scipy", "polars"},
        pool=WRITER_POOL,
        description=description,
    )
    def _comparison(warehouse: FootfallWarehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            table = compare(*[read_table(con, table_name(k)) for k in inputs])
            write_table(con, f"ml.{name}", table)
        return dg.MaterializeResult(metadata=_comparison_metadata(table, group))

    return _comparison


segment_comparison_asset = comparison_asset(
    "segment_comparison",
    segment_comparison,
    [DIM_CUSTOMER, CUSTOMER_SEGMENTS, FCT_BASKETS, DIM_PRODUCT],
    "segment",
    "Each segment against all members, KPI by KPI (visit frequency, basket value, spend, "
    "recency, category mix, preferred hour): means, differences, Mann-Whitney U p-values with "
    "Benjamini-Hochberg correction.",
)
store_comparison_asset = comparison_asset(
    "store_comparison",
    store_comparison,
    [FCT_CONVERSION_DAILY, FCT_FOOTFALL_HOURLY, FCT_BASKETS, DIM_PRODUCT],
    "store_id",
    "Each store against the chain, per trading day (entries, receipts, conversion, basket "
    "value, sales per visitor, category mix, hour-of-day profile), with Mann-Whitney U p-values "
    "corrected by Benjamini-Hochberg.",
)


def _comparison_metadata(table: pl.DataFrame, group: str) -> dict[str, dg.MetadataValue]:
    """The headline KPIs side by side (one row per group) and how many differences hold up."""
    headline = (
        table.filter(pl.col("level").is_null())
        .pivot(on="kpi", index=group, values="value")
        .sort(group)
    )
    return {
        **frame_metadata(table),
        "significant_differences": dg.MetadataValue.int(int(table["significant"].sum())),
        "side_by_side": dg.MetadataValue.md(markdown_table(headline.columns, headline.rows())),
    }


@dg.asset(
    key=key("ml", "anomalies"),
    deps=[STORE_DAY, FCT_FOOTFALL_DAILY, FCT_FOOTFALL_HOURLY, RAW_RFID_READS],
    group_name=GROUP,
    owners=["team:data"],
    kinds={"duckdb", "polars"},
    pool=WRITER_POOL,
    description="Store-day and store-hour anomalies of footfall and sales against a robust "
    "weekly x trend x calendar expectation (spike, drop, outage, expected vs actual), and "
    "data-quality gaps: cameras missing or counting zero while the till sells, RFID readers "
    "silent on an open day.",
)
def anomalies_asset(warehouse: FootfallWarehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        store_days = read_table(con, table_name(STORE_DAY))
        table = find_anomalies(
            store_days,
            read_table(con, table_name(FCT_FOOTFALL_DAILY)),
            read_table(con, table_name(FCT_FOOTFALL_HOURLY)),
            read_query(con, RFID_READER_DAYS_SQL),
        )
        write_table(con, "ml.anomalies", table)
    counts = table.group_by("grain", "metric", "kind").len().sort("grain", "metric", "kind")
    return dg.MaterializeResult(
        metadata={
            **frame_metadata(table.sort("score", nulls_last=True, descending=True)),
            "by_kind": dg.MetadataValue.md(markdown_table(counts.columns, counts.rows())),
            "chart": dg.MetadataValue.md(
                markdown_image(anomaly_chart(store_days, table), "anomalies")
            ),
        }
    )


class RulesConfig(dg.Config):
    min_support: float = 0.002
    min_confidence: float = 0.3
    max_len: int | None = 4


@dg.asset(
    key=key("ml", "association_rules"),
    deps=[FCT_BASKETS],
    group_name=GROUP,
    owners=["team:data"],
    kinds={"duckdb", "polars"},
    pool=WRITER_POOL,
    description="Association rules between SKUs bought together (Eclat on bitsets): "
    "antecedent, consequent, support, confidence, lift, leverage, conviction, basket count.",
)
def association_rules_asset(
    config: RulesConfig, warehouse: FootfallWarehouse
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        baskets = read_table(con, table_name(FCT_BASKETS), ["receipt_id", "skus"])
        long = baskets.explode("skus").rename({"skus": "sku"})
        result = mine_rules(long, config.min_support, config.min_confidence, config.max_len)
        write_table(con, "ml.association_rules", result.rules)
    return dg.MaterializeResult(
        metadata={
            **frame_metadata(result.rules),
            "baskets": dg.MetadataValue.int(result.n_baskets),
            "frequent_itemsets": dg.MetadataValue.int(len(result.itemsets)),
            "min_count": dg.MetadataValue.int(result.min_count),
            "chart": dg.MetadataValue.md(markdown_image(rules_chart(result.rules), "rules")),
        }
    )


MINING_ASSETS = [
    customer_segments,
    segment_comparison_asset,
    store_comparison_asset,
    anomalies_asset,
    association_rules_asset,
]
