"""Rules by support and confidence, coloured by lift: the picture analysts read rules from.

High-confidence rules with lift near 1 only restate a best-seller; the colour makes the rules
worth acting on (lift well above 1) stand out from the crowd at the same support.
"""

from __future__ import annotations

import polars as pl

from footfall_platform.charts import new_figure, png_bytes


def rules_chart(rules: pl.DataFrame, most: int = 5000) -> bytes:
    """Scatter of the `most` highest-lift rules (support on a log axis: it spans decades)."""
    figure = new_figure(8.0, 4.5)
    ax = figure.subplots()
    shown = rules.sort("lift", descending=True).head(most)
    if shown.is_empty():
        ax.text(0.5, 0.5, "no rules at these thresholds", ha="center", va="center")
        ax.set_axis_off()
        return png_bytes(figure)
    points = ax.scatter(
        shown["support"].to_list(), shown["confidence"].to_list(), c=shown["lift"].to_list(),
        cmap="plasma", s=12, alpha=0.8,
    )  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("support")
    ax.set_ylabel("confidence")
    ax.set_title(
        f"{shown.height:,} association rules"
        + (f" (top {most:,} by lift of {rules.height:,})" if rules.height > most else "")
    )
    figure.colorbar(points, ax=ax, label="lift")
    return png_bytes(figure)
