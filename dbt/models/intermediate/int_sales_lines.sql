-- Till lines with their product. A line whose SKU is not (yet) in the catalogue is kept with a
-- NULL category; being a view, it picks the product up as soon as the catalogue has it.
select
    t.*,
    p.product_name,
    p.category,
    p.sku is not null as is_catalogued
from {{ ref('stg_transactions') }} as t
left join {{ ref('stg_products') }} as p using (sku)
