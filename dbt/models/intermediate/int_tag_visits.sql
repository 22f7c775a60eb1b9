-- depends_on: {{ source('raw', 'rfid_reads') }}
-- RFID read bursts collapsed into visits: consecutive reads of one tag in one zone, each within
-- rfid_visit_gap_seconds of the previous one, are one visit (dated by its first read).
-- Incremental per store and day: a day with new reads has its visits rebuilt together with the
-- day before and after (a visit can cross midnight, and a new read can join two visits), from
-- the reads of those days and one more on each side (to see where each visit starts and ends).
with reads as (
    {{ rows_to_rebuild(ref('stg_rfid_reads'), source('raw', 'rfid_reads'), before=2, after=2) }}
),

marked as (
    select
        *,
        case
            when lag(zone) over tag_reads is distinct from zone then 1
            when epoch(read_at - lag(read_at) over tag_reads)
                > {{ rfid_visit_gap_seconds('zone_kind') }} then 1
            else 0
        end as starts_visit
    from reads
    window tag_reads as (partition by store_id, epc order by read_at, zone, reader_id)
),

numbered as (
    select
        *,
        sum(starts_visit) over (
            partition by store_id, epc order by read_at, zone, reader_id
            rows between unbounded preceding and current row
        ) as burst
    from marked
),

visits as (
    select
        store_id,
        epc,
        zone,
        any_value(zone_kind) as zone_kind,
        arg_min(reader_id, read_at) as reader_id,
        min(read_at) as first_seen,
        max(read_at) as last_seen,
        -- exact milliseconds as DECIMAL: sums and means do not depend on the order of addition
        ((epoch_ms(max(read_at)) - epoch_ms(min(read_at))) / 1000)::decimal(14, 3)
            as dwell_seconds,
        count(*) as read_count,
        avg(rssi::decimal(6, 1))::decimal(6, 2) as mean_rssi,
        arg_min(local_date, read_at) as local_date,
        arg_min(local_hour, read_at) as local_hour,
        max(loaded_at) as raw_loaded_at
    from numbered
    group by store_id, epc, burst, zone
)

select *
from visits
{%- if is_incremental() %}
semi join ({{ changed_days(source('raw', 'rfid_reads'), before=1, after=1) }}) as changed
    using (store_id, local_date)
{%- endif %}
