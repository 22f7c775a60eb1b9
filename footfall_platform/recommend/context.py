"""Who a member is when we know nothing of their taste: their store and their segment.

The store is the one where they made most sale lines in the period the model learns from (ties:
the smaller store_id), else the store of the city on their member record, else none (the chain).
Taking it from the training lines, not from dim_customer's preferred_store_id (computed on all
history), keeps the evaluation from peeking at the test period. The segment is a dim_customer
column (`age_band` by default): known for every member, bought something or not.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .interactions import require_columns

Context = list[tuple[str | None, str | None]]


def member_context(
    members: np.ndarray,
    lines: pl.DataFrame,
    customers: pl.DataFrame,
    stores: pl.DataFrame,
    segment_column: str = "age_band",
) -> Context:
    """(store_id, segment) per member, in the order of `members`."""
    require_columns(customers, ("member_key", "city", segment_column), "dim_customer")
    require_columns(stores, ("store_id", "city"), "dim_store")
    usual = (
        lines.filter(pl.col("member_key").is_not_null() & (pl.col("quantity") > 0))
        .group_by("member_key", "store_id")
        .len()
        .sort(["member_key", "len", "store_id"], descending=[False, True, False])
        .unique("member_key", keep="first")
        .select("member_key", usual_store="store_id")
    )
    city_store = (
        stores.filter(pl.col("city").is_not_null())
        .sort("store_id")
        .unique("city", keep="first")
        .select("city", city_store="store_id")
    )
    who = (
        pl.DataFrame({"member_key": members}, schema={"member_key": pl.Utf8})
        .with_row_index("order")
        .join(
            customers.select("member_key", "city", pl.col(segment_column).alias("segment")),
            on="member_key",
            how="left",
        )
        .join(usual, on="member_key", how="left")
        .join(city_store, on="city", how="left")
        .sort("order")
        .select(
            store=pl.coalesce("usual_store", "city_store"),
            segment=pl.col("segment").cast(pl.Utf8).fill_null("unknown"),
        )
    )
    return list(zip(who["store"].to_list(), who["segment"].to_list(), strict=True))
