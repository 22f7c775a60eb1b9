-- One row per store, with what the warehouse holds about it: cameras (door sensors and video),
-- RFID, data range.
with cameras as (
    select
        store_id,
        count(distinct camera_id) as cameras,
        count(distinct camera_id) filter (where count_source = 'video') as video_cameras,
        min(local_date) as first_footfall_date,
        max(local_date) as last_footfall_date
    from {{ ref('int_camera_counts') }}
    group by store_id
),

sales as (
    select store_id, min(local_date) as first_sale_date, max(local_date) as last_sale_date
    from {{ ref('fct_sales_daily') }}
    group by store_id
),

rfid as (
    select distinct store_id
    from {{ ref('int_tag_visits') }}
)

select
    s.store_id,
    s.store_name,
    s.city,
    s.timezone,
    s.opened_on,
    coalesce(c.cameras, 0) as cameras,
    coalesce(c.video_cameras, 0) as video_cameras,
    r.store_id is not null as has_rfid,
    c.first_footfall_date,
    c.last_footfall_date,
    t.first_sale_date,
    t.last_sale_date
from {{ ref('stg_stores') }} as s
left join cameras as c using (store_id)
left join sales as t using (store_id)
left join rfid as r using (store_id)
