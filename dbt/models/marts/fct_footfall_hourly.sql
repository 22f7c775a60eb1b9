-- depends_on: {{ source('raw', 'camera_counts') }}
-- People in and out per store and local hour. Counts that only exist for a whole day have
-- local_hour NULL. Incremental per store and day (a period can spill into the next day).
with buckets as (
    {{ rows_to_rebuild(ref('int_camera_counts_hourly'), source('raw', 'camera_counts'), after=1) }}
)

select
    store_id,
    local_date,
    local_hour,
    sum(entries)::bigint as entries,
    sum(exits)::bigint as exits,
    count(distinct camera_id) as cameras_reporting,
    max(loaded_at) as raw_loaded_at
from buckets
group by store_id, local_date, local_hour
