-- Per store and SKU, what happens to tagged items once picked up: tried on, bought or put back
-- (from the RFID tag journeys matched to the till). Tags not in the register have no SKU and
-- are left out here; they stay in the intermediate journeys and in fct_zone_dwell.
select
    j.store_id,
    j.sku,
    p.product_name,
    p.category,
    count(*) filter (where j.picked_up) as pick_ups,
    count(*) filter (where j.tried_on) as try_ons,
    count(*) filter (where j.purchased) as purchases,
    count(*) filter (where j.put_back) as put_backs,
    (count(*) filter (where j.purchased))::double
        / nullif(count(*) filter (where j.picked_up), 0) as pick_to_buy_rate,
    (count(*) filter (where j.tried_on))::double
        / nullif(count(*) filter (where j.picked_up), 0) as try_on_rate,
    (count(*) filter (where j.tried_on and j.purchased))::double
        / nullif(count(*) filter (where j.tried_on), 0) as try_to_buy_rate,
    min(j.local_date) as first_date,
    max(j.local_date) as last_date
from {{ ref('int_tag_journeys') }} as j
left join {{ ref('stg_products') }} as p using (sku)
where j.is_registered and j.picked_up
group by j.store_id, j.sku, p.product_name, p.category
