-- One row per store: a later delivery of a store_id replaces the earlier one.
select
    upper(trim(store_id)) as store_id,
    trim(name) as store_name,
    nullif(trim(city), '') as city,
    trim(timezone) as timezone,
    opened_on,
    {{ lineage_columns() }}
from {{ source('raw', 'stores') }}
{{ keep_latest(['upper(trim(store_id))']) }}
