-- Time tags spend in each RFID zone, per store, zone and local date (from the tag visits).
-- Tags not in the tag register are included (their reads are real) and counted separately.
select
    v.store_id,
    v.local_date,
    v.zone,
    v.zone_kind,
    count(*) as visits,
    count(distinct v.epc) as tags,
    count(*) filter (where t.epc is null) as unregistered_visits,
    sum(v.dwell_seconds) as total_dwell_seconds,
    avg(v.dwell_seconds) as mean_dwell_seconds,
    median(v.dwell_seconds) as median_dwell_seconds,
    quantile_cont(v.dwell_seconds, 0.9) as p90_dwell_seconds,
    max(v.dwell_seconds) as max_dwell_seconds
from {{ ref('int_tag_visits') }} as v
left join {{ ref('stg_rfid_tags') }} as t using (epc)
group by v.store_id, v.local_date, v.zone, v.zone_kind
