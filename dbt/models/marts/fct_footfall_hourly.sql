-- depends_on: {{ source('raw', 'camera_counts') }}
-- depends_on: {{ source('raw', 'video_counts') }}
-- People in and out per store and local hour, door sensors and video together. Counts that only
-- exist for a whole day have local_hour NULL. Incremental per store and day (a period can spill
-- into the next day); a new drop of either feed rebuilds its days.
with buckets as (
    {{ rows_to_rebuild(ref('int_camera_counts_hourly'),
                       [source('raw', 'camera_counts'), source('raw', 'video_counts')], after=1) }}
)

select
    store_id,
    local_date,
    local_hour,
    sum(entries)::bigint as entries,
    sum(exits)::bigint as exits,
    count(distinct camera_id) as cameras_reporting,
    coalesce(sum(entries) filter (where count_source = 'video'), 0)::bigint as video_entries,
    max(loaded_at) as raw_loaded_at
from buckets
group by store_id, local_date, local_hour
