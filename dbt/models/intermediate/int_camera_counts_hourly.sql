-- Door counts (sensors and video, int_camera_counts) in store-local hourly buckets, each keeping
-- its feed. A period inside one hour goes to that hour; a period across hour boundaries (up to
-- camera_max_spread_minutes) is split by the time it spends in each hour, in whole people that
-- add up to its count; a longer period (a whole-day count) stays one row with local_hour NULL,
-- because which hours its people came in is unknown.
with periods as (
    select
        c.*,
        timezone(s.timezone, c.period_start) as local_start,
        timezone(s.timezone, c.period_end) as local_end
    from {{ ref('int_camera_counts') }} as c
    left join {{ ref('stg_stores') }} as s using (store_id)
),

classified as (
    select
        *,
        case
            when period_minutes > {{ var('camera_max_spread_minutes') }} then 'day'
            -- no time zone, or a daylight-saving jump inside the period: keep its start hour
            when local_start is null or local_end <= local_start then 'hour'
            when date_trunc('hour', local_start)
                = date_trunc('hour', local_end - interval 1 microsecond) then 'hour'
            else 'spread'
        end as bucketing
    from periods
),

pieces as (
    select
        *,
        unnest(generate_series(
            date_trunc('hour', local_start), local_end - interval 1 microsecond, interval 1 hour
        )) as hour_start
    from classified
    where bucketing = 'spread'
),

shares as (
    select
        *,
        epoch(least(local_end, hour_start + interval 1 hour) - greatest(local_start, hour_start))
            / epoch(local_end - local_start) as share
    from pieces
),

allocated as (
    select
        *,
        {{ whole_people('entries', 'share', 'store_id, camera_id, period_start, period_end',
                        'hour_start') }} as entries_in_hour,
        {{ whole_people('exits', 'share', 'store_id, camera_id, period_start, period_end',
                        'hour_start') }} as exits_in_hour
    from shares
)

select
    store_id, camera_id, period_start, period_end, local_date,
    case when bucketing = 'day' then null else local_hour end as local_hour,
    entries, exits, bucketing = 'day' as is_whole_day, count_source, loaded_at
from classified
where bucketing <> 'spread'

union all

select
    store_id, camera_id, period_start, period_end,
    hour_start::date as local_date, hour(hour_start) as local_hour,
    entries_in_hour as entries, exits_in_hour as exits, false as is_whole_day, count_source,
    loaded_at
from allocated
