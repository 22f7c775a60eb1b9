-- Time people spend in the zones of camera pictures (checkout queue, fixture, entrance), per
-- store, local date, camera and zone, from video: anonymous tracks, never identities. People,
-- not items: RFID-tagged items have their own mart (fct_zone_dwell), and the two do not add up.
select
    store_id,
    local_date,
    camera_id,
    zone,
    count(*) as visits,
    sum(dwell_seconds) as total_dwell_seconds,
    avg(dwell_seconds) as mean_dwell_seconds,
    median(dwell_seconds) as median_dwell_seconds,
    quantile_cont(dwell_seconds, 0.9) as p90_dwell_seconds,
    max(dwell_seconds) as max_dwell_seconds
from {{ ref('stg_video_zone_visits') }}
group by store_id, local_date, camera_id, zone
