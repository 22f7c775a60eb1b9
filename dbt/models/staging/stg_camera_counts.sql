-- Camera counts, one row per camera and period: a recount of the same period delivered later
-- replaces the earlier count.
select
    {{ count_period_columns() }},
    entries,
    exits,
    {{ lineage_columns() }}
from {{ source('raw', 'camera_counts') }}
{{ keep_latest(['local_date', 'upper(trim(store_id))', 'trim(camera_id)', 'period_start',
                'period_end']) }}
