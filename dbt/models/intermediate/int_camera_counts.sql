-- Door counts from both feeds, one row per store, camera and period: the door sensors
-- (stg_camera_counts) and the CCTV cameras counted from video (stg_video_counts). A camera is
-- one or the other; should both ever report the same store, camera and local date, the sensor
-- wins the whole day and that day's video periods of the camera are left out, so a partial
-- overlap (an hourly sensor period against quarter-hour video, a whole-day count) can never
-- count a person twice. The day is also the grain the footfall marts rebuild, so a new drop of
-- either feed rebuilds every day whose winner it can change.
with feeds as (
    select
        store_id, camera_id, period_start, period_end, local_date, local_hour, period_minutes,
        entries, exits, 'sensor' as count_source, loaded_at
    from {{ ref('stg_camera_counts') }}

    union all

    select
        store_id, camera_id, period_start, period_end, local_date, local_hour, period_minutes,
        entries, exits, 'video' as count_source, loaded_at
    from {{ ref('stg_video_counts') }}
),

judged as (
    select
        * exclude (loaded_at),
        bool_or(count_source = 'sensor') over camera_day as sensor_counted,
        -- the newest load of either feed for the camera and day, left-out video included: the
        -- footfall marts' watermark then moves past a video drop the sensor overrides
        max(loaded_at) over camera_day as loaded_at
    from feeds
    -- partitioned by local_date, so the marts' first-date filter reaches both raw scans
    window camera_day as (partition by store_id, camera_id, local_date)
)

select * exclude (sensor_counted)
from judged
where count_source = 'sensor' or not sensor_counted
