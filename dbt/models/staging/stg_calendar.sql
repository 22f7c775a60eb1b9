-- Calendar events, one row per date, store (NULL = every store), kind and event name; the same
-- event delivered twice counts once.
select
    date as event_date,
    nullif(upper(trim(store_id)), '') as store_id,
    trim(event) as event_name,
    lower(trim(kind)) as event_kind,
    {{ lineage_columns() }}
from {{ source('raw', 'calendar') }}
{{ keep_latest(['date', "nullif(upper(trim(store_id)), '')", 'lower(trim(kind))', 'trim(event)']) }}
