-- One row per tag: the latest delivered assignment of an EPC to a SKU.
select
    upper(trim(epc)) as epc,
    upper(trim(sku)) as sku,
    {{ lineage_columns() }}
from {{ source('raw', 'rfid_tags') }}
{{ keep_latest(['upper(trim(epc))']) }}
