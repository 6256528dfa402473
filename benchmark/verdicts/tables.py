"""Plain-text renderings of verdicts for the command line: the paired comparisons of a
family of columns, and any header + rows as a Markdown table."""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.results.summary import format_number
from benchmark.verdicts.comparisons import Column, Comparison


def markdown_rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def verdict(comparison: Comparison, higher_is_better: bool, level: float = 0.05) -> str:
    """Which method is better after the family's correction, or that the test cannot tell."""
    if comparison.p_adjusted is None or comparison.p_adjusted >= level:
        return "no real difference"
    a_better = (comparison.result.difference > 0) == higher_is_better
    return f"{comparison.method_a if a_better else comparison.method_b} better"


def comparison_rows(column: Column) -> list[list[str]]:
    """One row per method pair of a compared column."""
    rows = []
    for c in column.comparisons:
        r = c.result
        rows.append([f"{c.method_a} − {c.method_b}", format_number(r.difference),
                     f"[{format_number(r.ci_low)}, {format_number(r.ci_high)}]",
                     f"{r.p_value:.2g}", f"{c.p_adjusted:.2g}",
                     format_number(c.minimum_detectable), verdict(c, column.higher_is_better)])
    return rows


COMPARISON_HEADER = ["A − B", "difference", "95% interval", "p", "p (Holm)", "MDD",
                     "verdict"]


def comparison_table(columns: Sequence[Column]) -> str:
    """Every compared column's pairs, with the family's test, correction and size."""
    family = sum(len(c.comparisons) for c in columns)
    parts = []
    for column in columns:
        parts.append(f"### {column.task} {column.metric_id} "
                     f"({'higher' if column.higher_is_better else 'lower'} is better)")
        if column.untested is not None:
            parts.append(f"not compared: {column.untested}")
            continue
        parts.append(markdown_rows(COMPARISON_HEADER, comparison_rows(column)))
        seeds = min(min(c.result.seeds) for c in column.comparisons)
        if seeds < 2:
            parts.append("one seed per method: the item-level test only (it says nothing "
                         "about another training seed)")
    parts.append(comparison_footnote(family, columns))
    return "\n\n".join(parts)


def comparison_footnote(family: int, columns: Sequence[Column]) -> str:
    """What test, what correction and how many comparisons a family holds."""
    seeds = sorted({min(c.result.seeds) for column in columns for c in column.comparisons})
    return ("Paired two-level bootstrap (test items resampled with the same indices for both "
            "methods, seeds resampled per method; benchmark/verdicts/paired.py), t-test with "
            "Welch-Satterthwaite df; Holm's correction over the family of "
            f"{family} comparisons at 5%; seeds per method: {'/'.join(map(str, seeds))}. "
            "MDD: minimum detectable difference at 80% power.")
