"""Recommendations: ALS on purchases blended with product-text similarity, proven on a holdout.

Thin by design: the asset reads the marts, calls footfall_platform.recommend.run_recommender
(tune on validation, evaluate on the last period, fit on everything) and publishes
ml.recommendations, ml.similar_products and its rows of the shared ml.model_evaluation in one
transaction. The UI shows the evaluation side by side and one member's purchases beside their
list (pseudonymous member_key only). docs/recommend.md explains the models and the choices.
"""

import dataclasses

import dagster as dg
import polars as pl

from footfall_platform.orchestration.resources import WRITER_POOL, FootfallWarehouse
from footfall_platform.recommend.pipeline import RecommendConfig, Result, run_recommender
from footfall_platform.recommend.tables import EVALUATION_TABLE, publish
from footfall_platform.warehouse.frames import read_table
from footfall_platform.warehouse.inspect import markdown_table

GROUP = "recommendations"
KINDS = {"implicit", "polars", "duckdb"}
STG_TRANSACTIONS = dg.AssetKey(["staging", "stg_transactions"])
DIM_PRODUCT = dg.AssetKey(["marts", "dim_product"])
DIM_CUSTOMER = dg.AssetKey(["marts", "dim_customer"])
DIM_STORE = dg.AssetKey(["marts", "dim_store"])
RECOMMENDATIONS = dg.AssetKey(["ml", "recommendations"])
SIMILAR_PRODUCTS = dg.AssetKey(["ml", "similar_products"])
LINE_COLUMNS = ["member_key", "sku", "store_id", "local_date", "quantity"]
PRODUCT_COLUMNS = ["sku", "product_name", "category", "brand", "description"]


def table(key: dg.AssetKey) -> str:
    return ".".join(key.path)


class RecommendAssetConfig(dg.Config):
    top_n: int = 20
    half_life_days: float = 120.0
    test_share: float = 0.2
    segment_column: str = "age_band"
    tune: bool = True
    seed: int = 0

    def engine(self) -> RecommendConfig:
        return dataclasses.replace(
            RecommendConfig(), top_n=self.top_n, half_life_days=self.half_life_days,
            test_share=self.test_share, segment_column=self.segment_column, tune=self.tune,
            seed=self.seed,
        )  # fmt: skip


def frame_md(frame: pl.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.md(markdown_table(frame.columns, frame.rows()))


def evaluation_md(evaluation: pl.DataFrame) -> dg.MetadataValue:
    """Models side by side: one row per (segment, metric)."""
    if evaluation.is_empty():
        return dg.MetadataValue.md("no evaluation: history too short")
    wide = evaluation.pivot(on="model", index=["segment", "metric"], values="value")
    return frame_md(wide)


def example_md(result: Result) -> dg.MetadataValue:
    """One member's purchases beside their recommendations (member_key only)."""
    if not result.example:
        return dg.MetadataValue.md("no member with history")
    key = result.example["member_key"]["member_key"][0]
    bought, recommended = result.example["history"], result.example["recommendations"]
    return dg.MetadataValue.md(
        f"member_key `{key}`\n\n**bought**\n\n{markdown_table(bought.columns, bought.rows())}"
        f"\n\n**recommended**\n\n{markdown_table(recommended.columns, recommended.rows())}"
    )


def params_json(result: Result) -> dg.MetadataValue:
    p = result.params
    return dg.MetadataValue.json(
        {
            "weighting": p.weighting,
            "als": dataclasses.asdict(p.als),
            "blend_als_weight": p.blend,
            "exclude_bought": p.exclude_bought,
            "periods": {k: str(v) for k, v in dataclasses.asdict(result.periods).items()}
            if result.periods
            else None,
            "notes": result.notes,
        }
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            RECOMMENDATIONS,
            deps=[STG_TRANSACTIONS, DIM_PRODUCT, DIM_CUSTOMER, DIM_STORE],
            description="Top 20 products per member (member_key, rank, sku, score, source "
            "[als|content|popular|hybrid], generated_at): implicit ALS blended with TF-IDF "
            "content similarity, cold start by store and segment popularity. Also replaces "
            f"the recommend rows of {EVALUATION_TABLE} (docs/recommend.md).",
            kinds=KINDS,
            group_name=GROUP,
            owners=["team:data"],
        ),
        dg.AssetSpec(
            SIMILAR_PRODUCTS,
            deps=[DIM_PRODUCT],
            description="The 20 most similar products of every product (sku, rank, "
            "similar_sku, score = cosine of name, category, brand and description TF-IDF).",
            kinds=KINDS,
            group_name=GROUP,
            owners=["team:data"],
        ),
    ],
    pool=WRITER_POOL,
)
def recommendations(config: RecommendAssetConfig, warehouse: FootfallWarehouse):
    with warehouse.connect() as con:
        result = run_recommender(
            read_table(con, table(STG_TRANSACTIONS), LINE_COLUMNS),
            read_table(con, table(DIM_PRODUCT), PRODUCT_COLUMNS),
            read_table(con, table(DIM_CUSTOMER)),
            read_table(con, table(DIM_STORE), ["store_id", "city"]),
            config=config.engine(),
        )
        publish(con, result.recommendations, result.similar_products, result.evaluation)
    recs = result.recommendations
    yield dg.MaterializeResult(
        asset_key=RECOMMENDATIONS,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(recs.height),
            "members": dg.MetadataValue.int(recs["member_key"].n_unique()),
            "rows_by_source": dg.MetadataValue.json(
                dict(recs.group_by("source").len().sort("source").iter_rows())
            ),
            "evaluation": evaluation_md(result.evaluation),
            "chosen_settings": params_json(result),
            "tuning_trials": dg.MetadataValue.int(result.trials.height),
            "example_member": example_md(result),
        },
    )
    similar = result.similar_products
    yield dg.MaterializeResult(
        asset_key=SIMILAR_PRODUCTS,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(similar.height),
            "products": dg.MetadataValue.int(similar["sku"].n_unique()),
            "preview": frame_md(similar.head(10)),
        },
    )


RECOMMEND_ASSETS = [recommendations]
