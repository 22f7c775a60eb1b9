-- One row per sale receipt with the distinct SKUs it sold (returned lines left out): the
-- input of basket analysis. Incremental per store and day.
--
-- List aggregates cannot spill to disk, and millions of lists of strings do not fit DuckDB's
-- memory limit at the large scale: the lists are built from small integer codes of the SKUs
-- (their rank in sorted order, so sorting codes sorts SKUs) and turned back into SKUs per row.
with lines as (
    {{ rows_to_rebuild(ref('stg_transactions'), source('raw', 'transactions')) }}
),

codes as (
    select sku, row_number() over (order by sku)::integer as code
    from (select distinct sku from lines where quantity > 0)
),

names as (
    select list(sku order by code) as skus_by_code
    from codes
),

receipts as (
    select
        l.store_id,
        l.receipt_id,
        l.local_date,
        max(l.member_key) as member_key,
        list_sort(list_distinct(list(c.code))) as sold_codes,
        sum(l.quantity)::bigint as units,
        sum(l.gross_amount)::decimal(18, 2) as gross_amount,
        min(l.sold_at) as sold_at,
        max(l.loaded_at) as raw_loaded_at
    from lines as l
    inner join codes as c using (sku)
    where l.quantity > 0
    group by l.store_id, l.receipt_id, l.local_date
)

select
    r.receipt_id,
    r.store_id,
    r.local_date,
    r.member_key,
    list_transform(r.sold_codes, code -> n.skus_by_code[code]) as skus,
    len(r.sold_codes) as items,
    r.units,
    r.gross_amount,
    r.sold_at,
    r.raw_loaded_at
from receipts as r
cross join names as n
