"""The plan a sweep leaves in its results folder, so a report knows what never ran.

Before it starts, ``sweep`` appends one JSON line per planned run to
``<results>/sweep-plan.jsonl``: the run's identity (RunConfig.identity: method, task,
seed and the settings that determine its results). A report's expected grid is then the
grid spanned by the records it finds plus every planned run, so a method or seed that
crashed before writing any record is listed as missing instead of being invisible.

The file is only appended to; a line cut short by a killed sweep is ignored when read.
Its suffix keeps it out of the ``*.json`` globs that read run records.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the report reads plans without importing the runner
    from benchmark.core.config import RunConfig

PLAN_FILE = "sweep-plan.jsonl"


def append_plan(configs: Sequence[RunConfig]) -> None:
    """Append each config's identity to the plan file of its results folder, unless an
    earlier sweep (one being resumed) planned it already."""
    by_folder: dict[Path, list[str]] = {}
    for config in configs:
        by_folder.setdefault(config.results_dir, []).append(
            json.dumps(config.identity(), sort_keys=True))
    for folder, lines in by_folder.items():
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / PLAN_FILE
        known = {json.dumps(run, sort_keys=True) for run in planned_runs(folder)}
        new = [line for line in dict.fromkeys(lines) if line not in known]
        if not new:
            continue
        cut_short = path.exists() and not path.read_bytes().endswith(b"\n")
        with open(path, "a") as plan:
            plan.write("\n" * cut_short + "\n".join(new) + "\n")


def planned_runs(results_dir: Path) -> list[dict]:
    """The identities of every run planned into ``results_dir`` (none without a plan)."""
    path = results_dir / PLAN_FILE
    if not path.exists():
        return []
    runs = []
    for line in path.read_text().splitlines():
        try:
            run = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(run, dict) and {"method", "task", "seed"} <= run.keys():
            runs.append(run)
    return runs
