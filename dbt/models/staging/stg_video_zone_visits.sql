-- Visits of anonymous tracks to camera zones, one row per visit. A clip resent under its name
-- already replaced its earlier rows in raw (the loader), so nothing is deduplicated here; a
-- track number only means something within its clip (source_sha256).
select
    upper(trim(store_id)) as store_id,
    trim(camera_id) as camera_id,
    trim(zone) as zone,
    track_no,
    entered_at,
    left_at,
    dwell_seconds,
    local_date,
    {{ lineage_columns() }}
from {{ source('raw', 'video_zone_visits') }}
