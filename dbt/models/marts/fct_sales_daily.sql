-- depends_on: {{ source('raw', 'transactions') }}
-- Sales per store and local date. net_revenue = gross_revenue - discount - returns_value, which
-- is the sum of every line's amount (returns negative). Incremental per store and day.
with receipts as (
    {{ rows_to_rebuild(ref('int_receipts'), source('raw', 'transactions')) }}
)

select
    store_id,
    local_date,
    count(*) filter (where is_sale) as receipts,
    count(*) filter (where is_return) as return_receipts,
    sum(units_sold)::bigint as units,
    sum(units_returned)::bigint as units_returned,
    sum(gross_revenue)::decimal(18, 2) as gross_revenue,
    sum(returns_value)::decimal(18, 2) as returns_value,
    sum(discount)::decimal(18, 2) as discount,
    sum(net_revenue)::decimal(18, 2) as net_revenue,
    count(*) filter (where is_sale and member_key is not null) as member_receipts,
    (count(*) filter (where is_sale and member_key is not null))::double
        / nullif(count(*) filter (where is_sale), 0) as member_share,
    sum(lines)::bigint as lines,
    max(loaded_at) as raw_loaded_at
from receipts
group by store_id, local_date
