-- RFID reads with the zone kind; a read delivered twice (same store, reader, tag and instant)
-- counts once.
select
    read_at,
    local_date,
    local_hour,
    upper(trim(store_id)) as store_id,
    trim(reader_id) as reader_id,
    lower(trim(zone)) as zone,
    {{ rfid_zone_kind('lower(trim(zone))') }} as zone_kind,
    upper(trim(epc)) as epc,
    rssi,
    {{ lineage_columns() }}
from {{ source('raw', 'rfid_reads') }}
{{ keep_latest(['local_date', 'upper(trim(store_id))', 'trim(reader_id)', 'upper(trim(epc))',
                'read_at']) }}
