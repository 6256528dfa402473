"""The measured numbers of README.md and docs/*.md, rendered from records committed under
``results/``.

Every table of numbers the README or a docs/ page quotes from a run sits between a pair of
markers,

    <!-- begin readme-block NAME -->
    ...rendered text...
    <!-- end readme-block NAME -->

and is nothing but :data:`BLOCKS` ``[NAME]`` applied to the committed records it names. A
block may sit in any of the documents (:func:`documents`); each block's results folder is
relative to the repository root, wherever the document is. ``python -m benchmark readme``
re-renders every block of every document in place; ``--check`` (and
tests/test_readme_numbers.py) fails when a document differs from what the records say, so a
number in the docs can only change together with the record it comes from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.core.errors import UserError
from benchmark.report.aggregate import results_frame
from benchmark.report.collection import load_collection
from benchmark.report.tables import (
    PAPER_ALIGNMENT,
    PAPER_QUALITY,
    column_metric,
    efficiency_table,
    paper_table,
    task_arrow,
    to_markdown,
)
from benchmark.results.records import RunRecord
from benchmark.results.summary import markdown_run_table
from benchmark.verdicts.comparisons import Comparer

DIRECTED_TASKS = ("text2image", "audio2image", "text2audio", "image2audio", "image2text",
                  "audio2text")

_BLOCK = re.compile(r"(<!-- begin readme-block (?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)"
                    r"(<!-- end readme-block (?P=name) -->)", re.DOTALL)


@dataclass(frozen=True)
class Block:
    """A measured block: the committed results folder it is rendered from (relative to the
    repository root, not to the document it sits in) and how."""

    results: str
    render: Callable[[Sequence[RunRecord], str, Path], str]


def _demo(records: Sequence[RunRecord], folder: str, results_dir: Path) -> str:
    """The demo's one record as ``run`` prints it, and what its training and scoring cost."""
    if len(records) != 1:
        raise UserError(f"{folder} must hold exactly the demo's one record, found "
                        f"{len(records)}: re-make it with `make demo-record`")
    record = records[0]
    timing, budget = record.timing, record.budget
    commit = (record.provenance.get("git", {}).get("commit") or "unknown")[:10]
    threads = record.provenance.get("hardware", {}).get("torch_threads")
    return (f"{markdown_run_table(record)}\n\n"
            f"Record `{folder}/{record.run_id}.json` (commit {commit}, {threads} torch "
            f"threads): {budget['steps']:,} training steps in {timing['train_s']:.0f} s, "
            f"sampling {timing['sample_s']:.1f} s, scoring {timing['eval_s']:.0f} s.\n")


def _ratio_line(records: Sequence[RunRecord], reference: str = "flowbind") -> str:
    """Each method's suite-serving parameters (tiny and paper presets) and mean training time
    as multiples of ``reference``'s, from the records' own figures."""
    by_method: dict[str, list[RunRecord]] = {}
    for record in records:
        by_method.setdefault(record.method, []).append(record)
    if reference not in by_method:
        return ""

    def figures(group: list[RunRecord]) -> tuple[float, float | None, float]:
        params = group[0].params
        # Suite-protocol records of one training share its time: count each training once.
        trainings = {(r.seed, r.timing["train_s"]) for r in group}
        seconds = sum(s for _, s in trainings) / len(trainings)
        return params["serve_suite"], params.get("paper_preset_serve_suite"), seconds

    base = figures(by_method[reference])
    parts = []
    for method in sorted(by_method):
        serve, paper, seconds = figures(by_method[method])
        paper_ratio = (f", paper preset {paper / base[1]:.2f}×" if paper and base[1] else "")
        parts.append(f"`{method}` {serve / base[0]:.2f}×{paper_ratio}, training time "
                     f"{seconds / base[2]:.2f}×")
    return (f"Relative to `{reference}` (parameters to serve every task; mean training "
            "seconds over seeds): " + "; ".join(parts) + ".\n")


def _suite(records: Sequence[RunRecord], folder: str, results_dir: Path) -> str:
    """The example suite's attribute accuracy, quality, alignment and efficiency tables,
    bold where the paired, Holm-corrected tests say so."""
    results = results_frame(records)
    verdicts = Comparer(results_dir, records).family
    tables = [
        paper_table(results, "Attribute accuracy", [(t, "attr_acc") for t in DIRECTED_TASKS],
                    verdicts),
        paper_table(results, "Quality (the FlowBind paper's Table 2 shape)", PAPER_QUALITY,
                    verdicts),
        paper_table(results, "Alignment (CLIP, CLAP, AIS roles of the embedded judges)",
                    PAPER_ALIGNMENT, verdicts),
        efficiency_table(list(records)),
    ]
    body = "\n".join(to_markdown(table).replace("### ", "#### ", 1) for table in tables)
    return f"{body}\n{_ratio_line(records)}"


def _attribute_accuracy(records: Sequence[RunRecord], folder: str, results_dir: Path) -> str:
    """One dataset's attribute accuracy per method and directed task (reference rows too),
    bold where the paired, Holm-corrected tests say so."""
    results = results_frame(records)
    tasks = [t for t in DIRECTED_TASKS if t in set(results["task"])]
    table = paper_table(results, "Attribute accuracy", [(t, "attr_acc") for t in tasks],
                        Comparer(results_dir, records).family)
    return to_markdown(table).replace("### ", "#### ", 1)


def _verdicts(records: Sequence[RunRecord], folder: str, results_dir: Path) -> str:
    """Is the difference real: the paired comparisons on text->image, how many columns of
    the three metric tables have a method better than every other after Holm's correction,
    the aggregates across tasks and the claims' verdicts."""
    from benchmark.report.verdicts import across_tasks
    from benchmark.verdicts.claims import evaluate, read_claims
    from benchmark.verdicts.tables import (
        COMPARISON_HEADER,
        comparison_footnote,
        comparison_rows,
        markdown_rows,
    )

    results = results_frame(records)
    comparer = Comparer(results_dir, records)
    parts = []
    task = "text2image"
    ids = [column_metric(results, task, (metric,)) for metric in ("attr_acc", "fid")]
    family = comparer.family([(task, metric_id) for metric_id in ids if metric_id])
    for column in family:
        parts.append(f"#### {task_arrow(task)} `{column.metric_id}` "
                     f"({'higher' if column.higher_is_better else 'lower'} is better)\n\n"
                     + markdown_rows(COMPARISON_HEADER, comparison_rows(column)) + "\n")
    parts.append(comparison_footnote(sum(len(c.comparisons) for c in family), family) + "\n")
    shapes = {"attribute accuracy": [(t, "attr_acc") for t in DIRECTED_TASKS],
              "quality": PAPER_QUALITY, "alignment": PAPER_ALIGNMENT}
    counts = []
    for name, shape in shapes.items():
        columns = [(t, m) for t, metric in shape if (m := column_metric(results, t, (metric,)))]
        marks = [column.marks() for column in comparer.family(columns)]
        winners = sorted({method for m in marks for method, k in m.items() if k == "best"})
        best = sum("best" in m.values() for m in marks)
        counts.append(f"{name}: {best} of {len(columns)} columns have a method better than "
                      f"every other ({', '.join(winners) or 'none'})")
    parts.append("Bold after the correction (each table one family): " + "; ".join(counts)
                 + ".\n")
    parts += [to_markdown(t).replace("### ", "#### ", 1) for t in across_tasks(results).tables]
    lines = []
    for claim in read_claims(Path(__file__).resolve().parents[2] / "claims"):
        verdict = evaluate(claim, results_dir, records)
        lines.append(f"- `{claim.id}` (“{claim.paper_says}”): **{verdict.verdict}**")
        lines += [f"  - {line}" for line in verdict.evidence]
    parts.append("#### Claims (`python -m benchmark claims`)\n\n" + "\n".join(lines) + "\n")
    return "\n".join(parts)


BLOCKS: dict[str, Block] = {
    "demo": Block("results/demo", _demo),
    "example-suite": Block("results/example-suite", _suite),
    "verdicts": Block("results/example-suite", _verdicts),
    "handmade-folder": Block("results/handmade-folder", _attribute_accuracy),
    "handmade-folder-joint-default": Block("results/handmade-folder-joint-default",
                                           _attribute_accuracy),
}


def documents(root: Path) -> list[Path]:
    """The documents whose blocks ``readme`` renders by default: ``root``'s README.md, then
    every ``docs/*.md`` in name order (those that exist)."""
    readme = root / "README.md"
    return ([readme] if readme.is_file() else []) + sorted((root / "docs").glob("*.md"))


def render_block(name: str, root: Path) -> str:
    """The text of block ``name``, from the records committed under ``root`` (the
    repository root: block folders are relative to it)."""
    block = BLOCKS[name]
    collection = load_collection(root / block.results)
    return block.render(collection.records, block.results, root / block.results)


def rendered_readme(text: str, root: Path, rendered: dict[str, str] | None = None) -> str:
    """``text`` (README.md or a docs/ page) with every block re-rendered from the records
    under the repository root ``root``; a block whose name is not in :data:`BLOCKS` is a
    UserError. ``rendered`` (name -> text), when given, keeps each block's text so that
    several documents render a block once."""
    rendered = {} if rendered is None else rendered

    def replace(match: re.Match) -> str:
        name = match["name"]
        if name not in BLOCKS:
            raise UserError(f"block '{name}' has no renderer in benchmark/report/readme.py")
        if name not in rendered:
            rendered[name] = render_block(name, root)
        return match.group(1) + rendered[name] + match.group(4)

    return _BLOCK.sub(replace, text)


def block_names(text: str) -> list[str]:
    """The names of the blocks in ``text``, in order."""
    return [match["name"] for match in _BLOCK.finditer(text)]


def lost_blocks(texts: Sequence[str]) -> list[str]:
    """The names of :data:`BLOCKS` that none of ``texts`` (the documents) holds: tables that
    would silently stop being rendered."""
    held = {name for text in texts for name in block_names(text)}
    return sorted(set(BLOCKS) - held)
