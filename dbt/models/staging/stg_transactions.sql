-- Till lines with their amounts. A line delivered again in another file (same receipt, product,
-- time, quantity, price and discount) counts once; the loader already drops repeats within a file.
select
    trim(receipt_id) as receipt_id,
    upper(trim(store_id)) as store_id,
    sold_at,
    local_date,
    local_hour,
    member_key,
    upper(trim(sku)) as sku,
    quantity,
    unit_price,
    coalesce(discount, 0) as discount,
    quantity < 0 as is_return,
    quantity * unit_price as gross_amount,
    quantity * unit_price - sign(quantity) * coalesce(discount, 0) as net_amount,
    {{ lineage_columns() }}
from {{ source('raw', 'transactions') }}
{{ keep_latest(['local_date', 'trim(receipt_id)', 'upper(trim(store_id))', 'sold_at', 'member_key',
                'upper(trim(sku))', 'quantity', 'unit_price', 'coalesce(discount, 0)']) }}
