"""Mining: association rules, customer segments, comparisons and anomalies.

Association rules: frequent itemsets (Eclat on bitsets) and rules, arules-compatible; the engine
takes baskets (lists of items, a long ``receipt_id``/``sku`` frame, or a file) and returns polars
frames; ``footfall rules`` is its command line. Segments (KMeans on RFM features), comparisons
(Mann-Whitney U, Benjamini-Hochberg) and anomalies (robust seasonal residuals, data-quality
checks) take the marts as polars frames. None of it knows Dagster; docs/mining.md explains it.

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
    "MAX_ITEMSETS": "itemsets",
    "TooManyItemsets": "itemsets",
    "frequent_itemsets": "itemsets",
    "min_count_for_support": "itemsets",
    "RULE_SCHEMA": "rules",
    "RuleMiningResult": "rules",
    "association_rules": "rules",
    "mine_rules": "rules",
    "SegmentationError": "segments",
    "SegmentationResult": "segments",
    "segment_chart": "segments",
    "segment_customers": "segments",
    "ComparisonInputError": "comparison",
    "compare_groups": "comparison",
    "segment_comparison": "comparison",
    "store_comparison": "comparison",
    "ANOMALY_SCHEMA": "anomalies",
    "AnomalyConfig": "anomalies",
    "AnomalyInputError": "anomalies",
    "daily_anomalies": "anomalies",
    "find_anomalies": "anomalies",
    "hourly_anomalies": "anomalies",
    "silent_readers": "anomalies",
}

__all__ = [
    "ANOMALY_SCHEMA",
    "RULE_SCHEMA",
    "AnomalyConfig",
    "AnomalyInputError",
    "ComparisonInputError",
    "MAX_ITEMSETS",
    "SegmentationError",
    "SegmentationResult",
    "TooManyItemsets",
    "compare_groups",
    "daily_anomalies",
    "find_anomalies",
    "hourly_anomalies",
    "segment_chart",
    "segment_comparison",
    "segment_customers",
    "silent_readers",
    "store_comparison",
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
    from footfall_platform.mining.anomalies import (
        ANOMALY_SCHEMA,
        AnomalyConfig,
        AnomalyInputError,
        daily_anomalies,
        find_anomalies,
        hourly_anomalies,
        silent_readers,
    )
    from footfall_platform.mining.baskets import (
        Baskets,
        from_lists,
        from_long_frame,
        read_baskets_csv,
        to_baskets,
    )
    from footfall_platform.mining.comparison import (
        ComparisonInputError,
        compare_groups,
        segment_comparison,
        store_comparison,
    )
    from footfall_platform.mining.itemsets import (
        MAX_ITEMSETS,
        FrequentItemsets,
        ItemsetLevel,
        TooManyItemsets,
        frequent_itemsets,
        min_count_for_support,
    )
    from footfall_platform.mining.rules import (
        RULE_SCHEMA,
        RuleMiningResult,
        association_rules,
        mine_rules,
    )
    from footfall_platform.mining.segments import (
        SegmentationError,
        SegmentationResult,
        segment_chart,
        segment_customers,
    )


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
