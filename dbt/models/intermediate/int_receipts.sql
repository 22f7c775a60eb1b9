-- One row per receipt (store, receipt_id, local date): what it sold and took back. A receipt
-- with a sold line is a sale receipt; one with a returned line is a return receipt (a receipt
-- exchanging goods is both).
select
    store_id,
    receipt_id,
    local_date,
    min(sold_at) as sold_at,
    arg_min(local_hour, sold_at) as local_hour,
    isodow(local_date) as iso_weekday,
    max(member_key) as member_key,
    bool_or(quantity > 0) as is_sale,
    bool_or(quantity < 0) as is_return,
    count(*) as lines,
    coalesce(sum(quantity) filter (where quantity > 0), 0) as units_sold,
    coalesce(-sum(quantity) filter (where quantity < 0), 0) as units_returned,
    coalesce(sum(gross_amount) filter (where quantity > 0), 0) as gross_revenue,
    coalesce(sum(discount) filter (where quantity > 0), 0) as discount,
    coalesce(-sum(net_amount) filter (where quantity < 0), 0) as returns_value,
    sum(net_amount) as net_revenue,
    max(loaded_at) as loaded_at
from {{ ref('stg_transactions') }}
group by store_id, receipt_id, local_date
