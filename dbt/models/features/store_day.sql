-- One row per store and local date, from the first to the last date with footfall or sales in
-- the warehouse (or the store's opening, if later): the frame the forecasting models learn on.
-- NULL footfall / receipts / net_sales mean the feed sent nothing for an open day; on a closure
-- day a missing feed is a known zero.
with bounds as (
    select min(local_date) as first_date, max(local_date) as last_date
    from (
        select local_date from {{ ref('fct_footfall_daily') }}
        union all
        select local_date from {{ ref('fct_sales_daily') }}
    )
),

spine as (
    select s.store_id, d.day::date as date
    from {{ ref('stg_stores') }} as s
    cross join bounds as b
    cross join lateral (
        select unnest(generate_series(
            greatest(b.first_date, s.opened_on)::timestamp, b.last_date::timestamp,
            interval 1 day
        )) as day
    ) as d
),

events as (
    select
        sp.store_id,
        sp.date,
        bool_or(c.event_kind = 'holiday') as is_holiday,
        bool_or(c.event_kind = 'promotion') as is_promotion,
        bool_or(c.event_kind = 'closure') as is_closure,
        list_sort(list_distinct(list(c.event_name))) as events
    from spine as sp
    inner join {{ ref('stg_calendar') }} as c
        on c.event_date = sp.date and (c.store_id is null or c.store_id = sp.store_id)
    group by sp.store_id, sp.date
)

select
    sp.store_id,
    sp.date,
    isodow(sp.date) as weekday,
    case when e.is_closure then coalesce(f.entries, 0) else f.entries end as footfall,
    case when e.is_closure then coalesce(s.receipts, 0) else s.receipts end as receipts,
    (case when e.is_closure then coalesce(s.net_revenue, 0) else s.net_revenue end)::double
        as net_sales,
    coalesce(e.is_holiday, false) as is_holiday,
    coalesce(e.is_promotion, false) as is_promotion,
    coalesce(e.is_closure, false) as is_closure,
    coalesce(e.events, []::varchar[]) as events
from spine as sp
left join {{ ref('fct_footfall_daily') }} as f
    on f.store_id = sp.store_id and f.local_date = sp.date
left join {{ ref('fct_sales_daily') }} as s
    on s.store_id = sp.store_id and s.local_date = sp.date
left join events as e
    on e.store_id = sp.store_id and e.date = sp.date
