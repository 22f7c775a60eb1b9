-- Footfall against sales per store and local date. Conversion is sale receipts per entry; it is
-- NULL, never infinite, when a day has no footfall (no camera data, or zero entries) or no till
-- data, so a missing feed never reads as a conversion of zero or of infinity.
with footfall as (
    select store_id, local_date, entries
    from {{ ref('fct_footfall_daily') }}
),

sales as (
    select store_id, local_date, receipts, gross_revenue, net_revenue
    from {{ ref('fct_sales_daily') }}
)

select
    coalesce(f.store_id, s.store_id) as store_id,
    coalesce(f.local_date, s.local_date) as local_date,
    f.entries,
    s.receipts,
    case when f.entries > 0 then s.receipts::double / f.entries end as conversion,
    case when s.receipts > 0 then s.gross_revenue::double / s.receipts end as avg_basket_value,
    case when f.entries > 0 then s.net_revenue::double / f.entries end as sales_per_visitor,
    f.store_id is not null as has_footfall,
    s.store_id is not null as has_sales
from footfall as f
full outer join sales as s
    on f.store_id = s.store_id and f.local_date = s.local_date
