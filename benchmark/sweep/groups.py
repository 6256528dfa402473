"""A sweep's training groups, how one is claimed, and what became of it.

A *group* is one training: a config alone, or under ``--protocol suite`` every config that
differs only in its task. Before a group runs, its executor claims each run key
(:func:`claimed_group`, benchmark/results/claims.py) and only then looks for ``ok``
records, so a run another process finished before the claim is seen as done. Every
executor reports a group as a :class:`GroupResult` and adds it to the sweep's
:class:`SweepOutcome`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.core import exit_codes
from benchmark.core.config import RunConfig
from benchmark.results.claims import Claim, try_claim
from benchmark.results.folder import ok_run_keys


def training_groups(configs: Sequence[RunConfig]) -> list[list[RunConfig]]:
    """One group per training: each config alone, or under the suite protocol every
    config that differs only in its task (and shares its results folder)."""
    groups: dict[tuple[str, Path], list[RunConfig]] = {}
    for config in configs:
        key = config.training_key() if config.protocol == "suite" else config.run_key()
        groups.setdefault((key, config.results_dir), []).append(config)
    return list(groups.values())


@dataclass
class GroupResult:
    """What became of one group: the configs that ran and the exit status of their training
    (None: nothing was started), and those found done or claimed elsewhere meanwhile."""

    ran: list[RunConfig] = field(default_factory=list)
    code: int | None = None
    done_meanwhile: list[RunConfig] = field(default_factory=list)
    elsewhere: list[RunConfig] = field(default_factory=list)


@contextmanager
def claimed_group(group: Sequence[RunConfig]) -> Iterator[tuple[GroupResult, list[Claim]]]:
    """Claim every run of ``group``, then sort the claimed runs into done meanwhile (an
    ``ok`` record exists) and to run (``result.ran``). Yields the result and the claims of
    the runs to make (an executor hands them down to the process that makes them); every
    claim taken here is released when the block ends."""
    result, claims = GroupResult(), []
    try:
        for config in group:
            claim = try_claim(config.results_dir, config.run_key())
            if claim is None:
                result.elsewhere.append(config)
            else:
                claims.append((config, claim))
        done = ok_run_keys([group[0].results_dir]) if claims else set()
        for config, _ in claims:
            (result.done_meanwhile if config.run_key() in done else result.ran).append(config)
        yield result, [claim for config, claim in claims if config in result.ran]
    finally:
        for _, claim in claims:
            claim.release()


@dataclass
class SweepOutcome:
    """Run keys by outcome (``elsewhere``: claimed by another process, not run here;
    ``submitted``: handed to SLURM, with the ``job_ids`` of its jobs), plus whether the
    sweep (or one of its runs) was interrupted."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    interrupted: bool = False
    submitted: list[str] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)

    def add(self, result: GroupResult, stopped: bool = False) -> None:
        """Count one group's result; ``stopped``: the sweep was being interrupted, so a run
        that ended without success was stopped, not failed."""
        self.skipped += [config.run_key() for config in result.done_meanwhile]
        self.elsewhere += [config.run_key() for config in result.elsewhere]
        ran = [config.run_key() for config in result.ran]
        if result.code == exit_codes.OK:
            self.done += ran
        elif result.code == exit_codes.INTERRUPTED or stopped:
            self.interrupted = self.interrupted or bool(ran)
        elif result.code is not None:
            self.failed += ran
