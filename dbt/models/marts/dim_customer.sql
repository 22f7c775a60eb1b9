-- One row per member_key (every member, plus any key seen on a receipt before its member
-- record arrived), with demographics and RFM-style behaviour as of the last local date with
-- transactions in the warehouse, not today, so the same data always gives the same table.
-- Besides RFM, the habits customer segments are told apart by (docs/mining.md): basket size in
-- products, the price position of what the member picks within each category (a bargain hunter
-- buys the cheap end of every category, whatever the category), and promotion-day shopping.
{% set preferences = {'preferred_store_id': 'store_id', 'preferred_hour': 'local_hour',
                      'preferred_weekday': 'iso_weekday'} %}
with as_of as (
    select max(local_date) as as_of_date
    from {{ ref('stg_transactions') }}
),

promotion_days as (
    -- store_id NULL: a promotion in every store
    select distinct event_date, store_id
    from {{ ref('stg_calendar') }}
    where event_kind = 'promotion'
),

receipts as (
    select
        r.*,
        exists (
            select 1
            from promotion_days as p
            where p.event_date = r.local_date and (p.store_id is null or p.store_id = r.store_id)
        ) as on_promotion_day
    from {{ ref('int_receipts') }} as r
    where r.member_key is not null
),

customers as (
    select member_key from {{ ref('stg_members') }}
    union
    select member_key from receipts
),

behaviour as (
    select
        member_key,
        min(local_date) filter (where is_sale) as first_purchase_date,
        max(local_date) filter (where is_sale) as last_purchase_date,
        count(*) filter (where is_sale) as frequency,
        sum(net_revenue)::double as monetary,
        sum(gross_revenue)::double / nullif(count(*) filter (where is_sale), 0)
            as avg_basket_value,
        sum(units_sold) as units,
        sum(units_returned) as units_returned,
        avg(case when iso_weekday in (6, 7) then 1.0 else 0.0 end) filter (where is_sale)
            as weekend_share,
        avg(case when on_promotion_day then 1.0 else 0.0 end) filter (where is_sale)
            as promotion_share
    from receipts
    group by member_key
),

sale_lines as (
    select member_key, category, unit_price::double as price
    from {{ ref('int_sales_lines') }}
    where quantity > 0
),

category_prices as (
    -- the yardstick of price_index: the median list price paid in each category over every
    -- sale line, members' or not
    select category, median(price) as median_price
    from sale_lines
    where category is not null and price > 0
    group by category
),

line_habits as (
    select
        l.member_key,
        count(distinct l.category) as distinct_categories,
        count(*) as sale_lines,
        exp(avg(ln(l.price / c.median_price)) filter (where l.price > 0)) as price_index
    from sale_lines as l
    left join category_prices as c using (category)
    where l.member_key is not null
    group by l.member_key
),

{% for name, column in preferences.items() %}
{{ name }} as (
    -- the most frequent value over sale receipts; ties go to the smallest value
    select member_key, {{ column }} as {{ name }}
    from receipts
    where is_sale
    group by member_key, {{ column }}
    qualify row_number() over (
        partition by member_key order by count(*) desc, {{ column }}
    ) = 1
){{ ',' if not loop.last }}
{% endfor %}

select
    c.member_key,
    m.member_key is not null as is_registered,
    m.birth_year,
    case
        when m.birth_year is null then 'unknown'
        when year(a.as_of_date) - m.birth_year < 25 then '<25'
        when year(a.as_of_date) - m.birth_year < 35 then '25-34'
        when year(a.as_of_date) - m.birth_year < 45 then '35-44'
        when year(a.as_of_date) - m.birth_year < 55 then '45-54'
        when year(a.as_of_date) - m.birth_year < 65 then '55-64'
        else '65+'
    end as age_band,
    coalesce(m.gender, 'U') as gender,
    m.city,
    m.joined_on,
    case when m.joined_on <= a.as_of_date then (a.as_of_date - m.joined_on)::integer end
        as tenure_days,
    b.first_purchase_date,
    b.last_purchase_date,
    (a.as_of_date - b.last_purchase_date)::integer as recency_days,
    coalesce(b.frequency, 0) as frequency,
    coalesce(b.monetary, 0)::double as monetary,
    b.avg_basket_value,
    coalesce(b.units, 0)::bigint as units,
    b.units_returned::double / nullif(b.units, 0) as return_rate,
    coalesce(k.distinct_categories, 0) as distinct_categories,
    b.weekend_share::double as weekend_share,
    k.sale_lines::double / nullif(b.frequency, 0) as avg_basket_items,
    -- rounded: summed in parallel, a mean of logs differs in its last bits from run to run
    round(k.price_index, 6)::double as price_index,
    b.promotion_share::double as promotion_share,
    ps.preferred_store_id,
    ph.preferred_hour,
    pw.preferred_weekday,
    a.as_of_date
from customers as c
cross join as_of as a
left join {{ ref('stg_members') }} as m using (member_key)
left join behaviour as b using (member_key)
left join line_habits as k using (member_key)
left join preferred_store_id as ps using (member_key)
left join preferred_hour as ph using (member_key)
left join preferred_weekday as pw using (member_key)
