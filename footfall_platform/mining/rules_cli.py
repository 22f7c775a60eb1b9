"""``footfall rules``: mine association rules from a basket file and write them out.

The command is a thin shell over :func:`footfall_platform.mining.rules.mine_rules`, so what an
analyst runs by hand is exactly what the pipeline computes. ``register`` plugs it into the main
``footfall`` parser; ``main`` runs it alone (``python -m footfall_platform.mining.rules_cli``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # the engine (polars, numpy, pyarrow) loads only when the command runs
    import polars as pl

    from footfall_platform.mining.rules import RuleMiningResult

LIST_SEPARATOR = " | "


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1], got {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _consequent_len(text: str) -> int | None:
    if text.lower() in {"all", "any", "0"}:
        return None
    return _positive(text)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``rules`` subcommand; the parsed namespace carries ``func`` to call with it."""
    parser = subparsers.add_parser(
        "rules",
        help="mine association rules (frequent itemsets) from baskets",
        description=(
            "Mine association rules from BASKETS.csv: either one basket per line (items "
            "comma-separated, no header) or a long file whose header names receipt_id and sku. "
            "Prints a summary; --out writes every rule (CSV, or Parquet for a .parquet name)."
        ),
    )
    parser.add_argument("baskets", type=Path, metavar="BASKETS.csv")
    parser.add_argument(
        "--min-support",
        type=_fraction,
        required=True,
        metavar="S",
        help="minimum support as a fraction of baskets, e.g. 0.001",
    )
    parser.add_argument(
        "--min-confidence",
        type=_fraction,
        required=True,
        metavar="C",
        help="minimum confidence, e.g. 0.5",
    )
    parser.add_argument(
        "--max-len",
        type=_positive,
        default=None,
        metavar="K",
        help="maximum items in a rule (antecedent + consequent); default: no bound",
    )
    parser.add_argument(
        "--max-consequent-len",
        type=_consequent_len,
        default=1,
        metavar="M",
        help="maximum items on the right-hand side (default 1, as arules; 'all' for any)",
    )
    parser.add_argument(
        "--top",
        type=int,
        default=10,
        metavar="N",
        help="rules to show in the summary, by lift (default 10)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="F",
        help="write all rules here: .parquet keeps lists, otherwise CSV with "
        f"list items joined by '{LIST_SEPARATOR}'",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    """Execute a parsed ``rules`` command; returns the process exit code."""
    from footfall_platform.mining.baskets import read_baskets_csv
    from footfall_platform.mining.rules import mine_rules

    out = stdout or sys.stdout
    started = time.perf_counter()
    baskets = read_baskets_csv(args.baskets)
    result = mine_rules(
        baskets,
        min_support=args.min_support,
        min_confidence=args.min_confidence,
        max_len=args.max_len,
        max_consequent_len=args.max_consequent_len,
    )
    elapsed = time.perf_counter() - started
    print(summary(result, top=args.top), file=out)
    print(f"time: {elapsed:.2f} s", file=out)
    if args.out is not None:
        write_rules(result.rules, args.out)
        print(f"wrote {result.rules.height} rules to {args.out}", file=out)
    return 0


def summary(result: RuleMiningResult, top: int = 10) -> str:
    """A plain-text report: sizes, rule counts by length, the strongest rules by lift."""
    by_length = result.rules_by_length()
    lines = [
        f"baskets: {result.n_baskets}",
        f"items: {result.n_items}",
        f"min support: {result.min_support} (count >= {result.min_count}), "
        f"min confidence: {result.min_confidence}",
        f"frequent itemsets: {len(result.itemsets)}",
        f"rules: {result.rules.height}",
        "rules by length: "
        + (", ".join(f"{k}: {v}" for k, v in by_length.items()) if by_length else "none"),
    ]
    if result.rules.height and top > 0:
        lines.append(f"top {min(top, result.rules.height)} by lift:")
        for row in result.rules.head(top).iter_rows(named=True):
            lines.append(
                f"  {{{', '.join(row['antecedent'])}}} => {{{', '.join(row['consequent'])}}}"
                f"  support={row['support']:.6g} confidence={row['confidence']:.6g}"
                f" lift={row['lift']:.6g} count={row['count']}"
            )
    return "\n".join(lines)


def write_rules(rules: pl.DataFrame, path: Path) -> None:
    """Parquet keeps list columns; CSV cannot, so lists become ``a | b`` strings there."""
    import polars as pl

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        rules.write_parquet(path)
        return
    rules.with_columns(
        pl.col("antecedent").list.join(LIST_SEPARATOR),
        pl.col("consequent").list.join(LIST_SEPARATOR),
    ).write_csv(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``rules`` without the rest of the ``footfall`` CLI (tests, ``python -m``)."""
    parser = argparse.ArgumentParser(prog="footfall")
    subparsers = parser.add_subparsers(dest="command", required=True)
    register(subparsers)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
