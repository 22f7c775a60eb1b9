"""Association rule mining: frequent itemsets (Eclat on bitsets) and rules, arules-compatible.

The engine takes baskets (lists of items, a long ``receipt_id``/``sku`` frame, or a file) and
returns polars frames; it knows nothing of Dagster. ``footfall rules`` is its command line.

Names are resolved lazily (PEP 562) so that building the ``footfall`` parser, which imports
``rules_cli`` from this package, does not load polars, numpy and pyarrow.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Baskets": "baskets",
    "from_lists": "baskets",
    "from_long_frame": "baskets",
    "read_baskets_csv": "baskets",
    "to_baskets": "baskets",
    "FrequentItemsets": "itemsets",
    "ItemsetLevel": "itemsets",
    "frequent_itemsets": "itemsets",
    "min_count_for_support": "itemsets",
    "RULE_SCHEMA": "rules",
    "RuleMiningResult": "rules",
    "association_rules": "rules",
    "mine_rules": "rules",
}

__all__ = [
    "RULE_SCHEMA",
    "Baskets",
    "FrequentItemsets",
    "ItemsetLevel",
    "RuleMiningResult",
    "association_rules",
    "frequent_itemsets",
    "from_lists",
    "from_long_frame",
    "min_count_for_support",
    "mine_rules",
    "read_baskets_csv",
    "to_baskets",
]

if TYPE_CHECKING:
    from footfall_platform.mining.baskets import (
        Baskets,
        from_lists,
        from_long_frame,
        read_baskets_csv,
        to_baskets,
    )
    from footfall_platform.mining.itemsets import (
        FrequentItemsets,
        ItemsetLevel,
        frequent_itemsets,
        min_count_for_support,
    )
    from footfall_platform.mining.rules import (
        RULE_SCHEMA,
        RuleMiningResult,
        association_rules,
        mine_rules,
    )


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
