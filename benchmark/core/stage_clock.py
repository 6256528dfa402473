"""Where a run's evaluation time goes: named stages, timed where they happen.

Code marks a stage with ``with timed("decode/audio"): ...``. Inside ``with StageClock() as
clock:`` every marked stage's seconds are added to ``clock.seconds`` under its path: the
names of the stages open around it joined by ``/`` (``checkpoints/decode/audio`` is audio
decoding done while scoring the budget checkpoints). Each path gets its *self* time, the
time not spent in a stage nested inside it, so the values add up to the time spent in
marked stages, and the inclusive time of a stage is the sum over the paths it prefixes
(:meth:`StageClock.inclusive`). Outside a clock, ``timed`` costs one context-variable read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

_ACTIVE: ContextVar[StageClock | None] = ContextVar("stage_clock", default=None)


@dataclass
class _OpenStage:
    """A stage being timed: its path and the seconds spent so far in stages inside it."""

    path: str
    nested: float = 0.0


@dataclass
class StageClock:
    """Self seconds by stage path, filled while the clock is entered."""

    seconds: dict[str, float] = field(default_factory=dict)
    _open: list[_OpenStage] = field(default_factory=list)

    def __enter__(self) -> StageClock:
        self._token = _ACTIVE.set(self)
        return self

    def __exit__(self, *exc) -> None:
        _ACTIVE.reset(self._token)

    def inclusive(self, prefix: str) -> float:
        """Seconds in ``prefix`` and every stage nested inside it."""
        return sum(s for path, s in self.seconds.items()
                   if path == prefix or path.startswith(prefix + "/"))

    def rounded(self, digits: int = 3) -> dict[str, float]:
        return {path: round(s, digits) for path, s in sorted(self.seconds.items())}


@contextmanager
def timed(stage: str) -> Iterator[None]:
    """Add the block's self time to the active clock under ``<open stages>/stage``."""
    clock = _ACTIVE.get()
    if clock is None:
        yield
        return
    opened = _OpenStage(f"{clock._open[-1].path}/{stage}" if clock._open else stage)
    clock._open.append(opened)
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        clock._open.pop()
        clock.seconds[opened.path] = clock.seconds.get(opened.path, 0.0) + elapsed - opened.nested
        if clock._open:
            clock._open[-1].nested += elapsed


def process_age_s() -> float | None:
    """Seconds since this process started: the kernel's start time of the process
    (``/proc/self/stat``, field 22, in clock ticks since boot) against the time since boot
    (``/proc/uptime``), to 1/100 s. It covers what no stage clock sees: the interpreter's
    start and every import before the first line of anybench ran. None where ``/proc``
    does not exist."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22; 3 is fields[0]
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return round(uptime - started, 3)
