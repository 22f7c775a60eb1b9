-- The catalogue as it stands now: the latest delivered version of each SKU (raw keeps all of
-- them, e.g. the update file with price changes).
with versions as (
    select
        *,
        upper(trim(sku)) as sku_code,
        count(*) over (partition by upper(trim(sku))) as versions,
        min(loaded_at) over (partition by upper(trim(sku))) as first_loaded_at
    from {{ source('raw', 'products') }}
)

select
    sku_code as sku,
    trim(name) as product_name,
    lower(trim(category)) as category,
    nullif(trim(brand), '') as brand,
    unit_price,
    nullif(trim(description), '') as description,
    versions,
    first_loaded_at,
    {{ lineage_columns() }}
from versions
{{ keep_latest(['sku_code']) }}
