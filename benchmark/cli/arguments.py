"""Argument types and groups the subcommands share, each defined once.

``run``, ``sweep`` and ``check --update`` take the same run settings
(:func:`add_run_settings`); they differ only in whether the method, task and seed are one
(``--method``) or a list (``--methods``), see :func:`add_run_grid`.
"""

from __future__ import annotations

import argparse
import functools
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from benchmark.core.config import (
    ACCELERATORS,
    DEFAULT_RESULTS,
    DISTRIBUTED_DEFAULTS,
    EVALUATOR_KINDS,
    LOGGERS,
    PRECISIONS,
    PROTOCOLS,
    RUN_DEFAULTS,
    STRATEGIES,
    check_guidance,
    check_seed,
)
from benchmark.core.errors import UserError

T = TypeVar("T")

SETTINGS = ("preset", "profile", "dataset", "steps", "budget", "sampling_steps", "guidance",
            "evaluator", "weights", "protocol", "metrics")
"""The RunConfig fields :func:`add_run_settings` defines, by their attribute names; each
flag defaults to the field's default (:data:`~benchmark.core.config.RUN_DEFAULTS`), but
``--metric``, which collects into a list (None: none given)."""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def thread_request(text: str) -> int | str:
    """``--threads``: a positive integer or ``auto`` (benchmark/core/threads.py)."""
    if text == "auto":
        return text
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or auto, got '{text}'"
                                         ) from None


def _at_parse_time(check: Callable[[str], T]) -> Callable[[str], T]:
    """``check`` as an argparse type: its UserError becomes argparse's one-line error
    (exit 2), so a bad value is refused before any import of torch or any data work."""
    @functools.wraps(check)
    def argument_type(text: str) -> T:
        try:
            return check(text)
        except UserError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return argument_type


def _distinct(kind: str, items: Sequence[T]) -> list[T]:
    """``items`` as a list; a UserError naming the first item listed more than once (a
    repeated seed or task would run twice and count as two runs)."""
    repeated = [item for item, count in Counter(items).items() if count > 1]
    if repeated:
        raise UserError(f"{kind} {repeated[0]} is listed more than once: give each {kind} once")
    return list(items)


def _int(kind: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UserError(f"a {kind} must be an integer, got '{text}'") from None


@_at_parse_time
def seed(text: str) -> int:
    """One seed: an integer in 0..2**32-1 (benchmark.core.config.check_seed)."""
    return check_seed(_int("seed", text))


@_at_parse_time
def seed_list(text: str) -> list[int]:
    """Comma-separated seeds, each in 0..2**32-1 and each once."""
    return _distinct("seed", [check_seed(_int("seed", part)) for part in text.split(",")])


@_at_parse_time
def guidance(text: str) -> float:
    """A finite guidance scale with |s| <= 1e3 (benchmark.core.config.MAX_GUIDANCE)."""
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"a guidance scale must be a number, got '{text}'") from None
    check_guidance(value)
    return value


@_at_parse_time
def method_names(text: str) -> list[str]:
    """``all`` or comma-separated method names, each once."""
    from methods import METHODS

    return METHODS.names() if text == "all" else _distinct("method", text.split(","))


def _distinct_tasks(text: str) -> list[str]:
    """Comma-separated task names, each once by the task it names (``text+audio2image``
    and ``audio+text2image`` are one task), in the registry's spelling."""
    from benchmark.core.tasks import parse_task

    return _distinct("task", [parse_task(name).name for name in text.split(",")])


@_at_parse_time
def task_names(text: str) -> list[str]:
    """Comma-separated task names and task groups (``directed``, ``many-to-one``,
    ``one-to-many``, ``cycles``, ``all``), each task once."""
    from benchmark.core.tasks import TASK_GROUPS, parse_task, task_group

    names = [task.name for part in text.split(",")
             for task in (task_group(part) if part in TASK_GROUPS else [parse_task(part)])]
    return _distinct("task", names)


@_at_parse_time
def task_field(text: str) -> str:
    """``run --task``: one task name, or several comma-separated (``--protocol suite``),
    each once; returned comma-joined."""
    return ",".join(_distinct_tasks(text))


def add_run_settings(parser: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    """The settings of a run (RunConfig) other than method, task, seed and where it writes.

    With ``defaults=False`` every setting defaults to None (``check --update``: unset
    means "as in the existing baseline").
    """
    def default(name: str) -> Any:
        return RUN_DEFAULTS[name] if defaults else None

    group = parser.add_argument_group("run settings")
    group.add_argument("--preset", default=default("preset"),
                       help=f"model size preset (default: {RUN_DEFAULTS['preset']})")
    group.add_argument("--profile", default=default("profile"),
                       help="data/backbone/judge settings: default or smoke (`ls profiles`)")
    group.add_argument("--dataset", default=default("dataset"),
                       help="a dataset from `ls datasets`, a dataset folder (paired media or "
                            "precomputed embeddings, docs/your-own-data.md), or "
                            "path/to/file.py:Class (default: the profile's, scenes)")
    group.add_argument("--steps", type=positive_int, default=default("steps"),
                       help="optimizer steps (default: the preset's); same as --budget steps=N")
    group.add_argument("--budget", default=default("budget"), metavar="KIND=VALUE",
                       help="training budget: samples=N, steps=N, flops=X or seconds=S "
                            "(all four are recorded whichever is enforced)")
    group.add_argument("--sampling-steps", type=positive_int, default=default("sampling_steps"),
                       help="ODE steps when generating (default: the method's)")
    group.add_argument("--guidance", type=guidance, default=default("guidance"),
                       help="guidance scale, for methods that have one: finite, |s| <= 1e3 "
                            "(scales in use are about 1 to 20; larger is taken for a typo)")
    group.add_argument("--evaluator", default=default("evaluator"),
                       help=f"{' or '.join(EVALUATOR_KINDS)} (default: "
                            f"{RUN_DEFAULTS['evaluator']}, the dataset's "
                            "judges; pretrained: Inception, CLIP, CLAP from local files, see "
                            "`prepare --check-weights`)")
    group.add_argument("--weights", type=Path, default=default("weights"), metavar="FILE",
                       help="YAML file with pretrained evaluator paths "
                            "(default: $ANYBENCH_WEIGHTS, else ./weights/)")
    group.add_argument("--metric", dest="metrics", action="append", default=None,
                       metavar="FILE.py:SPEC",
                       help="an extra metric to score, a MetricSpec loaded from a file or an "
                            "entry point (repeat for several)")
    group.add_argument("--protocol", default=default("protocol"),
                       help=f"{' or '.join(PROTOCOLS)}: train for this task alone (default), or "
                            "once to serve every task the method supports")


def add_distributed_settings(parser: argparse.ArgumentParser) -> None:
    """How a run trains: Lightning's accelerator, devices, nodes, strategy and precision
    (benchmark/run/distributed.py). ``run`` and ``sweep`` take them; drift baselines are
    single-process."""
    group = parser.add_argument_group("devices and precision (passed to Lightning's Trainer)")
    group.add_argument("--accelerator", default=DISTRIBUTED_DEFAULTS["accelerator"],
                       choices=ACCELERATORS, help="auto (default: a GPU when there is one), "
                                                  "cpu or gpu")
    group.add_argument("--devices", type=positive_int, default=DISTRIBUTED_DEFAULTS["devices"],
                       help="training processes per node, one per device (default 1; on "
                            "CPU, N processes share the CPUs)")
    group.add_argument("--num-nodes", type=positive_int,
                       default=DISTRIBUTED_DEFAULTS["num_nodes"],
                       help="nodes (default 1; more needs a cluster launcher such as SLURM)")
    group.add_argument("--strategy", default=DISTRIBUTED_DEFAULTS["strategy"],
                       choices=STRATEGIES,
                       help="auto (default: DDP when devices x nodes > 1), ddp or fsdp")
    group.add_argument("--precision", default=DISTRIBUTED_DEFAULTS["precision"],
                       choices=PRECISIONS, help="32-true (default), bf16-mixed or 16-mixed "
                                                "(GPU only)")


def distributed_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The :func:`add_distributed_settings` values as RunConfig keyword arguments."""
    return {name: getattr(args, name) for name in DISTRIBUTED_DEFAULTS}


def add_run_grid(parser: argparse.ArgumentParser, *, single: bool,
                 defaults: bool = True) -> None:
    """Which runs: ``--method --task --seed`` (one run) or ``--methods --tasks --seeds``."""
    if single:
        parser.add_argument("--method", required=True,
                            help="a name from `ls methods`, or path/to/file.py:Class")
        parser.add_argument("--task", type=task_field, required=True,
                            help="a name from `ls tasks` (several, comma-separated, with "
                                 "--protocol suite: one training, one record per task)")
        parser.add_argument("--seed", type=seed, default=RUN_DEFAULTS["seed"],
                            help="training and sampling seed, an integer in 0..2**32-1")
        return
    parser.add_argument("--methods", type=method_names, default="all" if defaults else None,
                        help="comma-separated names from `ls methods` (or file.py:Class), "
                             "each once, or all" + (" (default)" if defaults else ""))
    parser.add_argument("--tasks", type=task_names, default="directed" if defaults else None,
                        help="comma-separated task names and groups (directed"
                             + (" (default)" if defaults else "")
                             + ", many-to-one, one-to-many, cycles, all), each task once")
    seeds = str(RUN_DEFAULTS["seed"])
    parser.add_argument("--seeds", type=seed_list, default=seeds if defaults else None,
                        help="comma-separated seeds, each once, integers in 0..2**32-1"
                             + (f" (default: {seeds})" if defaults else ""))


def add_output(parser: argparse.ArgumentParser, *, results_help: str,
               results_default: Path | None = DEFAULT_RESULTS) -> None:
    parser.add_argument("--results", type=Path, default=results_default, help=results_help)
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument("--logger", default=RUN_DEFAULTS["logger"],
                        help=f"{' or '.join(LOGGERS)}: the training log every run keeps "
                             "(Lightning's CSVLogger, default), or TensorBoard's as well "
                             "(needs `pip install tensorboard`)")


def run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The :data:`SETTINGS` given on the command line, as RunConfig keyword arguments."""
    settings = {name: getattr(args, name) for name in SETTINGS}
    settings["metrics"] = tuple(settings["metrics"] or ())
    return settings
