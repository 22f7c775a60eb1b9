{#- Incremental models rebuild whole partitions (a store and a local date) that received raw rows
    since the last run. The watermark is the newest raw `loaded_at` the model has absorbed (its
    `raw_loaded_at` column), not the event date, so a late file about a past day still reaches
    that day; rebuilding whole partitions from staging is what makes an incremental run equal a
    full refresh.

    The changed partitions are found in the raw table itself (loaded_at only grows, so DuckDB
    skips the old row groups), and the rebuild is bounded by a literal first date, which DuckDB
    pushes through the staging views (their dedup partitions include local_date) down to the
    raw scan: a daily run reads the new days, not the history. -#}

{% macro _scalar(sql) -%}
    {%- if execute -%}
        {%- set value = run_query(sql).columns[0].values()[0] -%}
        {{ return(value) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- The watermark, as a literal (so a scan of raw can use it to skip row groups). -#}
{% macro watermark() -%}
    {%- set value = _scalar("select max(raw_loaded_at)::varchar from " ~ this) -%}
    {{ "'" ~ value ~ "'::timestamptz" if value else "'-infinity'::timestamptz" }}
{%- endmacro %}

{#- The raw tables a model is fed from: one relation, or a list of them (footfall comes from the
    camera counts and the video counts). -#}
{% macro _feeds(changes_from) -%}
    {{ return(changes_from if changes_from is sequence and changes_from is not string
              else [changes_from]) }}
{%- endmacro %}

{#- (store_id, local_date) and loaded_at of every row of the raw tables `changes_from`. -#}
{% macro _feed_rows(changes_from) -%}
    {%- for feed in _feeds(changes_from) %}
    {{ "union all " if not loop.first }}select store_id, local_date, loaded_at from {{ feed }}
    {%- endfor %}
{%- endmacro %}

{#- (store_id, local_date) of the rows of the raw tables `changes_from` loaded after the
    watermark, widened to the `before` days before and `after` days after each. -#}
{% macro changed_days(changes_from, before=0, after=0) -%}
    select distinct upper(trim(store_id)) as store_id, local_date + shift.days::integer as local_date
    from ({{ _feed_rows(changes_from) }}) as fed, range({{ -before }}, {{ after + 1 }}) as shift(days)
    where loaded_at > {{ watermark() }}
{%- endmacro %}

{#- The rows of `relation` to (re)build: all of them in a full build; in an incremental run, those
    in the changed days of `changes_from` (a raw table, or a list of the raw tables the model is
    fed from: a new drop of any of them rebuilds its days), widened by `before` / `after` days (a
    camera period across midnight feeds the next day; an RFID visit can too). -#}
{% macro rows_to_rebuild(relation, changes_from, before=0, after=0) -%}
    select * from {{ relation }}
    {%- if is_incremental() %}
    {%- set first = _scalar("select min(local_date)::varchar from ("
                            ~ _feed_rows(changes_from) ~ ") where loaded_at > " ~ watermark()) %}
    semi join ({{ changed_days(changes_from, before, after) }}) as changed
        using (store_id, local_date)
    where local_date >= {{ "'" ~ first ~ "'::date - " ~ before if first else "null" }}
    {%- endif %}
{%- endmacro %}

{#- Whole people per bucket from a count and a share of it: the floor of each share, then one
    more to the buckets with the largest remainders until the count is reached, so the buckets
    of one `period` always add up to its count. -#}
{% macro whole_people(count, share, period, bucket) -%}
    floor({{ count }} * {{ share }})::integer + case
        when row_number() over (
            partition by {{ period }}
            order by {{ count }} * {{ share }} - floor({{ count }} * {{ share }}) desc, {{ bucket }}
        ) <= {{ count }} - sum(floor({{ count }} * {{ share }})) over (partition by {{ period }})
        then 1 else 0 end
{%- endmacro %}
