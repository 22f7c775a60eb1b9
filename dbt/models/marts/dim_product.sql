-- One row per SKU: the catalogue as it stands (the latest delivered version of each product).
select
    sku,
    product_name,
    category,
    brand,
    unit_price,
    description,
    versions,
    first_loaded_at,
    loaded_at as updated_at
from {{ ref('stg_products') }}
