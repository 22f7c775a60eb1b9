-- depends_on: {{ source('raw', 'camera_counts') }}
-- depends_on: {{ source('raw', 'video_counts') }}
-- People in and out per store and local date, from every camera period (hourly buckets and
-- whole-day counts alike) of both feeds, door sensors and video (the sensor wins a camera's day
-- when both report it: int_camera_counts). Incremental per store and day: a new drop of either
-- feed rebuilds its days.
with buckets as (
    {{ rows_to_rebuild(ref('int_camera_counts_hourly'),
                       [source('raw', 'camera_counts'), source('raw', 'video_counts')], after=1) }}
)

select
    store_id,
    local_date,
    sum(entries)::bigint as entries,
    sum(exits)::bigint as exits,
    count(distinct camera_id) as cameras_reporting,
    coalesce(sum(entries) filter (where is_whole_day), 0)::bigint as whole_day_entries,
    count(distinct local_hour) as hours_reporting,
    coalesce(sum(entries) filter (where count_source = 'video'), 0)::bigint as video_entries,
    count(distinct camera_id) filter (where count_source = 'video') as video_cameras,
    max(loaded_at) as raw_loaded_at
from buckets
group by store_id, local_date
