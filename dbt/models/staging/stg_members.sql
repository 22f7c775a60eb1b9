-- One row per member: the latest delivered profile (an update file re-sends changed members).
select
    member_key,
    birth_year,
    coalesce(nullif(upper(trim(gender)), ''), 'U') as gender,
    nullif(trim(city), '') as city,
    joined_on,
    {{ lineage_columns() }}
from {{ source('raw', 'members') }}
{{ keep_latest(['member_key']) }}
