"""Tasks: ``sources -> targets`` over modalities, written like ``audio2image``.

Names use ``2`` between sources and targets and ``+`` inside either side:
``text2image`` (directed), ``text+audio2image`` (many-to-one), ``text2image+audio``
(one-to-many). Modalities on each side are kept in canonical order, so
``audio+text2image`` and ``text+audio2image`` are the same task.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from benchmark.core.errors import UserError
from benchmark.core.modalities import MODALITIES, Modality
from benchmark.core.registry import did_you_mean


def _canonical(modalities: set[str]) -> tuple[Modality, ...]:
    return tuple(m for m in MODALITIES if m in modalities)


@dataclass(frozen=True)
class Task:
    """Generate ``targets`` from ``sources``; the two sides are disjoint and non-empty."""

    sources: tuple[Modality, ...]
    targets: tuple[Modality, ...]

    @property
    def name(self) -> str:
        return "+".join(self.sources) + "2" + "+".join(self.targets)

    @property
    def kind(self) -> str:
        if len(self.sources) > 1:
            return "many-to-one"
        if len(self.targets) > 1:
            return "one-to-many"
        return "directed"

    def __str__(self) -> str:
        return self.name


def all_tasks() -> list[Task]:
    """Every task over the three modalities: 6 directed, 3 many-to-one, 3 one-to-many."""
    directed = [Task((s,), (t,)) for s, t in itertools.permutations(MODALITIES, 2)]
    many_to_one = [
        Task(_canonical(set(MODALITIES) - {t}), (t,)) for t in MODALITIES
    ]
    one_to_many = [
        Task((s,), _canonical(set(MODALITIES) - {s})) for s in MODALITIES
    ]
    return directed + many_to_one + one_to_many


def parse_task(name: str) -> Task:
    """Parse ``audio2image``-style names; a bad name is a :class:`UserError` with a hint."""
    known = [t.name for t in all_tasks()]
    parts = name.split("2")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise UserError(f"unknown task '{name}': {did_you_mean(name, known)}")
    sides = [set(part.split("+")) for part in parts]
    unknown = sorted((sides[0] | sides[1]) - set(MODALITIES))
    if unknown:
        raise UserError(
            f"unknown modality '{unknown[0]}' in task '{name}': "
            f"{did_you_mean(unknown[0], list(MODALITIES))}"
        )
    if sides[0] & sides[1]:
        raise UserError(f"task '{name}' uses a modality as both source and target")
    return Task(_canonical(sides[0]), _canonical(sides[1]))
