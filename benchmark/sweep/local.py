"""The ``local`` executor: each training group of a sweep as its own ``python -m benchmark
run`` process, ``jobs`` at a time (a crash or an out-of-memory kill takes only that run
down).

Before starting a group's process the executor claims its runs
(benchmark/sweep/groups.py) and hands the claims down to the process (``pass_fds``,
benchmark/results/claims.py), so the run holds them even if the sweep dies. A run process
that fails writes its own ``failed`` record (exit status 3, benchmark/core/exit_codes.py);
the executor writes it when the process could not: a user error (status 2, its one-line
message), a kill by a signal (out of memory) or any other status. Interrupting the sweep
(Ctrl-C, SIGINT or SIGTERM) stops the runs in flight without a record.

A run process writes its stderr (stage lines, warnings, the error the executor records)
to a file with no name in the results folder, which the executor reads once the process
has ended; its stdout is discarded. Neither is a pipe to the sweep, so a sweep killed with
``kill -9`` leaves its runs in flight to finish and publish their records (a pipe with no
reader would kill a run with BrokenPipeError at its next line of output).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from tqdm.auto import tqdm

from benchmark.core import exit_codes
from benchmark.core.config import DISTRIBUTED_DEFAULTS, RunConfig
from benchmark.results.claims import handed_down
from benchmark.run.record import write_failed_records
from benchmark.sweep.groups import GroupResult, SweepOutcome, claimed_group


def run_command(group: Sequence[RunConfig]) -> list[str]:
    """The ``run`` command line of a group of configs that differ only in their task."""
    config = group[0]
    command = [sys.executable, "-m", "benchmark", "run", "--method", config.method,
               "--task", ",".join(c.task.name for c in group), "--seed", str(config.seed),
               "--preset", config.preset, "--profile", config.profile,
               "--evaluator", config.evaluator, "--protocol", config.protocol,
               "--results", str(config.results_dir), "--no-progress", "--logger", config.logger]
    for flag, value in (("--dataset", config.dataset), ("--steps", config.steps),
                        ("--budget", config.budget),
                        ("--sampling-steps", config.sampling_steps),
                        ("--guidance", config.guidance), ("--weights", config.weights)):
        if value is not None:
            command += [flag, str(value)]
    for metric in config.metrics:
        command += ["--metric", metric]
    for name, default in DISTRIBUTED_DEFAULTS.items():
        if getattr(config, name) != default:
            command += [f"--{name.replace('_', '-')}", str(getattr(config, name))]
    return command


class LocalExecutor:
    """Run processes of this sweep, ``jobs`` at a time, each computing with ``threads``
    torch threads (``OMP_NUM_THREADS``)."""

    def __init__(self, jobs: int, threads: int, progress: bool) -> None:
        self.jobs, self.threads, self.progress = jobs, threads, progress
        self._env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        self._stop = threading.Event()
        self._running: set[subprocess.Popen] = set()
        self._lock = threading.Lock()

    def run(self, groups: Sequence[Sequence[RunConfig]], outcome: SweepOutcome) -> None:
        """Run every group and add what became of its runs to ``outcome``."""
        previous_sigterm = (signal.signal(signal.SIGTERM, _interrupt)
                            if threading.current_thread() is threading.main_thread() else None)
        bar = tqdm(total=sum(len(group) for group in groups), desc="sweep", unit="run",
                   disable=not self.progress)
        bar.set_postfix(skipped=len(outcome.skipped))
        pool = ThreadPoolExecutor(max_workers=self.jobs)
        try:
            futures = {pool.submit(self._run_group, group): group for group in groups}
            for future in as_completed(futures):
                outcome.add(future.result(), stopped=self._stop.is_set())
                bar.update(len(futures[future]))
                bar.set_postfix(done=len(outcome.done), failed=len(outcome.failed),
                                skipped=len(outcome.skipped), elsewhere=len(outcome.elsewhere))
        except KeyboardInterrupt:
            # Stop the runs in flight too (a terminal's Ctrl-C reaches them anyway; a signal
            # sent to the sweep alone would not): each exits without writing a record.
            # SIGTERM, because runs started from a background shell inherit an ignored SIGINT.
            with self._lock:
                self._stop.set()
                for process in self._running:
                    process.terminate()
            outcome.interrupted = True
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            bar.close()
            if previous_sigterm is not None:
                signal.signal(signal.SIGTERM, previous_sigterm)

    def _run_group(self, group: Sequence[RunConfig]) -> GroupResult:
        """Claim the group's runs, start a process for those not done meanwhile, and
        record its failure if the process could not."""
        with claimed_group(group) as (result, held):
            if not result.ran:
                return result
            # the run's stderr: a file with no name (gone once both processes closed it),
            # never a pipe, which would kill the run at its next line once the sweep is dead
            with tempfile.TemporaryFile(dir=result.ran[0].results_dir) as output:
                with self._lock:
                    if self._stop.is_set():
                        result.ran = []
                        return result
                    process = subprocess.Popen(
                        run_command(result.ran), stdout=subprocess.DEVNULL, stderr=output,
                        env={**self._env, **handed_down(held)},
                        pass_fds=[claim.fd for claim in held])
                    self._running.add(process)
                process.wait()
                output.seek(0)
                stderr = output.read().decode(errors="replace")
            with self._lock:
                self._running.discard(process)
            result.code = process.returncode
            error = unrecorded_failure(result.code, stderr)
            if error is not None and not self._stop.is_set():
                write_failed_records(result.ran, error)
            return result


def unrecorded_failure(code: int, stderr: str) -> str | None:
    """The error text of the ``failed`` record the sweep must write for a run process that
    ended with status ``code``, or None when there is none to write: the run succeeded,
    wrote its own failed record (RUN_FAILED) or was interrupted."""
    if code in (exit_codes.OK, exit_codes.RUN_FAILED, exit_codes.INTERRUPTED):
        return None
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if code == exit_codes.USER_ERROR:
        return lines[-1] if lines else "the run refused its settings (exit status 2)"
    if code < 0:
        cause = ": most often the out-of-memory killer" if -code == signal.SIGKILL else ""
        lines.append(f"the run process was killed by signal {-code} "
                     f"({signal.strsignal(-code)}){cause}")
    else:
        lines.append(f"the run process exited with status {code}")
    return "\n".join(lines[-20:])


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM handler: stop the sweep the way Ctrl-C does."""
    raise KeyboardInterrupt
