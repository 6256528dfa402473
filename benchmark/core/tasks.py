"""Tasks: ``sources -> targets`` over modalities, written like ``audio2image``.

Names use ``2`` between sources and targets and ``+`` inside either side:
``text2image`` (directed), ``text+audio2image`` (many-to-one), ``text2image+audio``
(one-to-many). Modalities on each side are kept in canonical order, so
``audio+text2image`` and ``text+audio2image`` are the same task.

A round trip (``cycle``) is written ``text2image2text``: translate each test item's source
to the middle modality and back with the same trained method, then score what returns
against the source that went in. It is served by its two directed legs (``text2image``
and ``image2text``), so it needs no training of its own, and its one target is its source.

Task groups, as ``--tasks`` takes them: ``directed``, ``many-to-one``, ``one-to-many``,
``cycles`` and ``all`` (every one of the 18), alone or comma-separated.
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
    """Generate ``targets`` from ``sources``; the two sides are disjoint and non-empty.

    A round trip sets ``via``, the middle modality: then ``sources == targets`` (one
    modality, which returns) and ``via`` is neither.
    """

    sources: tuple[Modality, ...]
    targets: tuple[Modality, ...]
    via: Modality | None = None

    @property
    def name(self) -> str:
        middle = "" if self.via is None else f"2{self.via}"
        return "+".join(self.sources) + middle + "2" + "+".join(self.targets)

    @property
    def kind(self) -> str:
        if self.via is not None:
            return "cycle"
        if len(self.sources) > 1:
            return "many-to-one"
        if len(self.targets) > 1:
            return "one-to-many"
        return "directed"

    @property
    def modalities(self) -> tuple[Modality, ...]:
        """Every modality the task reads, passes through or generates, canonical order."""
        return _canonical({*self.sources, *self.targets, *([self.via] if self.via else [])})

    @property
    def legs(self) -> tuple[Task, ...]:
        """The generation tasks a method serves to serve this one: a round trip's two
        directed legs (there and back), else the task itself."""
        if self.via is None:
            return (self,)
        return (Task(self.sources, (self.via,)), Task((self.via,), self.sources))

    @property
    def single_sources(self) -> tuple[Task, ...]:
        """A many-to-one task's single-source tasks (``text+audio2image``: ``text2image``,
        ``audio2image``), the baselines of its gain from more sources; none otherwise."""
        if self.kind != "many-to-one":
            return ()
        return tuple(Task((source,), self.targets) for source in self.sources)

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


def cycle_tasks() -> list[Task]:
    """The six round trips ``s -> m -> s``, in the directed tasks' order of ``(s, m)``."""
    return [Task((s,), (s,), via=m) for s, m in itertools.permutations(MODALITIES, 2)]


def every_task() -> list[Task]:
    """The 12 generation tasks of :func:`all_tasks`, then the six round trips."""
    return all_tasks() + cycle_tasks()


TASK_GROUPS = ("directed", "many-to-one", "one-to-many", "cycles", "all")
"""Names that stand for several tasks in ``--tasks``."""


def task_group(name: str) -> list[Task]:
    """The tasks of a group in :data:`TASK_GROUPS` (``cycles``: the round trips)."""
    if name not in TASK_GROUPS:
        raise ValueError(f"unknown task group '{name}'")
    kind = "cycle" if name == "cycles" else name
    return [t for t in every_task() if name == "all" or t.kind == kind]


def parse_task(name: str) -> Task:
    """Parse ``audio2image``-style names (``text2image2text`` for a round trip); a bad name
    is a :class:`UserError` with a hint."""
    known = [t.name for t in every_task()]
    parts = name.split("2")
    if len(parts) not in (2, 3) or not all(parts):
        raise UserError(f"unknown task '{name}': {did_you_mean(name, known)}")
    sides = [set(part.split("+")) for part in parts]
    unknown = sorted(set().union(*sides) - set(MODALITIES))
    if unknown:
        raise UserError(
            f"unknown modality '{unknown[0]}' in task '{name}': "
            f"{did_you_mean(unknown[0], list(MODALITIES))}"
        )
    if len(parts) == 3:
        return _parse_cycle(name, parts)
    if sides[0] & sides[1]:
        raise UserError(f"task '{name}' uses a modality as both source and target")
    return Task(_canonical(sides[0]), _canonical(sides[1]))


def _parse_cycle(name: str, parts: list[str]) -> Task:
    """A round trip ``s2m2s``: one modality on each side, back to where it started."""
    source, middle, back = parts
    if any("+" in part for part in parts):
        raise UserError(f"a round trip goes through one modality at a time: '{name}' is not "
                        "one (e.g. text2image2text)")
    if back != source:
        raise UserError(f"a round trip returns to its source: '{name}' ends in {back}, not "
                        f"{source} (did you mean '{source}2{middle}2{source}'?)")
    if middle == source:
        raise UserError(f"a round trip goes through another modality: '{name}' does not "
                        f"(e.g. {source}2{next(m for m in MODALITIES if m != source)}2{source})")
    return Task((source,), (source,), via=middle)
