-- A tag's visits grouped into journeys: a journey ends at the checkout, when the tag comes back
-- to a shelf after leaving it, or after rfid_journey_gap_minutes of silence. Per journey:
-- picked up (seen outside a shelf, or twice at a shelf with a gap between), tried on (fitting
-- room), purchased (went through the checkout and a till line of the tag's SKU at that store
-- followed within rfid_sale_window_seconds) and put back (ended on a shelf without a checkout).
-- A table, not incremental: a till line arriving late turns an old journey into a purchase.
with ordered as (
    select
        *,
        lag(last_seen) over tag_visits as previous_last_seen,
        lag(zone_kind) over tag_visits as previous_kind
    from {{ ref('int_tag_visits') }}
    window tag_visits as (partition by store_id, epc order by first_seen, zone)
),

islands as (
    select
        *,
        sum(case
            when previous_last_seen is null or previous_kind = 'checkout' then 1
            when first_seen - previous_last_seen
                > interval ({{ var('rfid_journey_gap_minutes') }}) minute then 1
            else 0
        end) over (
            partition by store_id, epc order by first_seen, zone
            rows between unbounded preceding and current row
        ) as island
    from ordered
),

-- Within an island, every second shelf visit is a return to the shelf and closes the journey:
-- shelf, shelf, shelf, shelf is two journeys (picked and put back, twice).
parts as (
    select
        *,
        greatest(count(*) filter (where zone_kind = 'shelf') over (
            partition by store_id, epc, island order by first_seen, zone
            rows between unbounded preceding and current row
        ) - 1, 0) // 2 as part
    from islands
),

journeys as (
    select
        store_id,
        epc,
        island,
        part,
        min(first_seen) as started_at,
        max(last_seen) as ended_at,
        arg_min(local_date, first_seen) as local_date,
        count(*) as visits,
        count(*) filter (where zone_kind = 'shelf') as shelf_visits,
        arg_min(zone, first_seen) filter (where zone_kind = 'shelf') as shelf_zone,
        arg_max(zone_kind, last_seen) as last_zone_kind,
        bool_or(zone_kind = 'fitting_room') as tried_on,
        bool_or(zone_kind = 'checkout') as reached_checkout,
        min(first_seen) filter (where zone_kind = 'checkout') as checkout_first_seen,
        max(last_seen) filter (where zone_kind = 'checkout') as checkout_last_seen,
        arg_max(local_date, last_seen) filter (where zone_kind = 'checkout') as checkout_date,
        coalesce(sum(dwell_seconds) filter (where zone_kind = 'fitting_room'), 0)
            as fitting_room_seconds
    from parts
    group by store_id, epc, island, part
),

tagged as (
    select
        j.*,
        t.sku,
        t.sku is not null as is_registered,
        j.reached_checkout or j.tried_on or j.shelf_visits >= 2 as picked_up,
        not j.reached_checkout and (j.tried_on or j.shelf_visits >= 2)
            and j.last_zone_kind = 'shelf' as put_back
    from journeys as j
    left join {{ ref('stg_rfid_tags') }} as t using (epc)
),

-- Each checkout journey takes the nearest sale line of its SKU in the window, and each line
-- goes to at most one journey (the nearest).
candidates as (
    select
        j.store_id, j.epc, j.island, j.part, s.receipt_id, s.sku, s.sold_at,
        abs(epoch(s.sold_at - j.checkout_last_seen)) as distance
    from tagged as j
    inner join {{ ref('stg_transactions') }} as s
        on s.store_id = j.store_id
        and s.sku = j.sku
        and s.local_date = j.checkout_date
        and s.quantity > 0
        and s.sold_at between j.checkout_first_seen
            and j.checkout_last_seen + interval ({{ var('rfid_sale_window_seconds') }}) second
    where j.reached_checkout
),

matched as (
    select *
    from candidates
    qualify row_number() over (
        partition by store_id, epc, island, part order by distance, receipt_id
    ) = 1
    and row_number() over (
        partition by store_id, receipt_id, sku order by distance, epc, island, part
    ) = 1
)

select
    j.store_id,
    j.epc,
    row_number() over (partition by j.store_id, j.epc order by j.started_at) as journey_no,
    j.sku,
    j.is_registered,
    j.local_date,
    j.started_at,
    j.ended_at,
    epoch(j.ended_at - j.started_at) as duration_seconds,
    j.visits,
    j.shelf_zone,
    j.picked_up,
    j.tried_on,
    j.reached_checkout,
    m.receipt_id is not null as purchased,
    j.put_back,
    j.fitting_room_seconds,
    m.receipt_id,
    m.sold_at
from tagged as j
left join matched as m using (store_id, epc, island, part)
