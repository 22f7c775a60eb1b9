-- One row per sale receipt with the distinct SKUs it sold (returned lines left out): the
-- input of basket analysis. Incremental per store and day.
with lines as (
    {{ rows_to_rebuild(ref('stg_transactions'), source('raw', 'transactions')) }}
),

receipts as (
    -- An ordered list is built by sorting, which spills to disk; a plain list over millions of
    -- receipts has to fit in memory and does not at the large scale (1 GB limit).
    select
        store_id,
        receipt_id,
        local_date,
        max(member_key) as member_key,
        list(sku order by sku) as sold_skus,
        sum(quantity)::bigint as units,
        sum(gross_amount)::decimal(18, 2) as gross_amount,
        min(sold_at) as sold_at,
        max(loaded_at) as raw_loaded_at
    from lines
    where quantity > 0
    group by store_id, receipt_id, local_date
)

select
    receipt_id,
    store_id,
    local_date,
    member_key,
    list_sort(list_distinct(sold_skus)) as skus,
    len(list_distinct(sold_skus)) as items,
    units,
    gross_amount,
    sold_at,
    raw_loaded_at
from receipts
