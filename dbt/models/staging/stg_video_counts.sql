-- Counts from camera video, one row per store, camera and 15-minute period. Raw holds one row
-- per clip and period: two clips of a camera that share a quarter hour (one ends at 10:07, the
-- next starts there) each counted their own crossings in it, so the period's count is their sum.
-- The video's recount is a clip resent under its name, whose rows already replaced the earlier
-- delivery's in raw (the loader): the latest delivery of a clip wins, as for the sensors.
select
    {{ count_period_columns() }},
    sum(entries)::integer as entries,
    sum(exits)::integer as exits,
    count(*) as clips,
    max(loaded_at) as loaded_at
from {{ source('raw', 'video_counts') }}
group by all
