"""The run configuration: what one ``run`` was asked to do, validated once.

The CLI builds a :class:`RunConfig` from its flags (``run``, ``sweep`` and ``check
--update`` share one definition of them, benchmark/cli/arguments.py) and passes the object
on; nothing downstream parses a task name or re-checks a setting that can be checked
here. What needs the registries (is the method known, does it have this preset, can it
serve this task) is resolved by the harness (benchmark/run/resolution.py) before any data
work.
"""

from __future__ import annotations

import importlib.util
import math
import numbers
import time
import uuid
from dataclasses import MISSING, dataclass, fields, replace
from pathlib import Path
from typing import Any

from benchmark.core.budget import Budget
from benchmark.core.cache import config_hash
from benchmark.core.errors import UserError
from benchmark.core.registry import did_you_mean, short_name
from benchmark.core.tasks import Task, parse_task

PROTOCOLS = ("task", "suite")
"""task: train for this task alone; suite: train once to serve every task the method can."""

EVALUATOR_KINDS = ("embedded", "pretrained")
"""embedded: the dataset's judges; pretrained: Inception, CLIP, CLAP from local files."""

LOGGERS = ("csv", "tensorboard")
"""csv: Lightning's CSVLogger only; tensorboard: a TensorBoardLogger as well
(benchmark/run/training_log.py). Not part of a run's identity: logging changes no result."""

DEFAULT_RESULTS = Path("results/runs")

ACCELERATORS = ("auto", "cpu", "gpu")
"""Lightning's ``accelerator``: auto picks a GPU when there is one."""

STRATEGIES = ("auto", "ddp", "fsdp")
"""Lightning's ``strategy``: auto is one process on one device, and data-parallel DDP when
the run asks for more than one device (benchmark/run/distributed.py)."""

PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")
"""Lightning's ``precision``: float32 everywhere, or mixed precision with bfloat16 or float16
autocast (16-mixed needs a GPU)."""

MAX_SEED = 2**32 - 1
"""Seeds are integers in 0..2**32-1: the range numpy's generators and Lightning's
``seed_everything`` accept (a seed outside it used to fail only after the data loaded)."""

MAX_GUIDANCE = 1e3
"""The largest guidance scale |s| accepted. Classifier-free guidance mixes velocities as
``v_u + s (v_c - v_u)``, so a sample moves linearly further with ``s``; the scales in use
are about 1 to 20 (CoDi 7.5, CrossFlow 7), and 1e3 already moves samples 50 times
further than the largest of them. A larger value is a typo (``1e30`` trained, sampled and then
overflowed the Fréchet distance's matrix square root), and NaN or inf is never a scale."""


DISTRIBUTED_SETTINGS = ("accelerator", "devices", "num_nodes", "strategy", "precision")
"""The RunConfig fields that say how a run trains (Lightning's Trainer arguments)."""


def check_seed(seed: object) -> int:
    """``seed`` if it is an integer in 0..:data:`MAX_SEED`, else a one-line UserError."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) \
            or not 0 <= seed <= MAX_SEED:
        raise UserError(f"a seed must be an integer in 0..{MAX_SEED} (2**32-1, what numpy and "
                        f"Lightning accept), got {seed!r}")
    return int(seed)


def check_guidance(guidance: object) -> None:
    """A one-line UserError unless ``guidance`` is a finite number with
    ``|guidance| <= MAX_GUIDANCE`` (see there for why)."""
    if isinstance(guidance, bool) or not isinstance(guidance, numbers.Real) \
            or not math.isfinite(guidance) or abs(guidance) > MAX_GUIDANCE:
        raise UserError(f"a guidance scale must be a finite number with |s| <= {MAX_GUIDANCE:g} "
                        f"(scales in use are about 1 to 20), got {guidance!r}")


def check_logger(kind: str) -> None:
    """A one-line UserError unless ``kind`` is one of :data:`LOGGERS` and what it needs is
    installed (TensorBoard is not a dependency: ``tensorboard`` or ``tensorboardX``)."""
    _choice("logger", kind, LOGGERS)
    if kind == "tensorboard" and not any(importlib.util.find_spec(package)
                                         for package in ("tensorboard", "tensorboardX")):
        raise UserError("--logger tensorboard needs TensorBoard, which is not installed: "
                        "pip install tensorboard (or keep the default --logger csv)")


def _choice(kind: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UserError(f"unknown {kind} '{value}': {did_you_mean(value, list(choices))}")


@dataclass(frozen=True)
class RunConfig:
    """One run's settings; ``None`` means the method's, profile's or dataset's default.

    ``task`` may be given as a name and is stored as a parsed :class:`Task`. Construction
    validates every setting that needs no registry and raises a one-line
    :class:`UserError` otherwise.

    ``dataset_key`` is no flag: when ``dataset`` is a folder, the folder's content as
    ``<dataset name>-<content key>`` (``folder-3f2a...``). The data layer computes it, so
    whoever makes a config from ``--dataset`` sets it (``run``, ``sweep``'s plan:
    benchmark/run/resolution.py ``dataset_key``), and :meth:`identity` holds it in place
    of the folder's path.
    """

    method: str
    task: Task
    preset: str = "tiny"
    seed: int = 0
    profile: str = "default"
    steps: int | None = None
    budget: str | None = None
    sampling_steps: int | None = None
    guidance: float | None = None
    evaluator: str = "embedded"
    weights: Path | None = None
    protocol: str = "task"
    results_dir: Path = DEFAULT_RESULTS
    progress: bool = True
    logger: str = "csv"
    dataset: str | None = None
    dataset_key: str | None = None
    metrics: tuple[str, ...] = ()
    accelerator: str = "auto"
    devices: int = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "32-true"

    def __post_init__(self) -> None:
        if isinstance(self.task, str):
            object.__setattr__(self, "task", parse_task(self.task))
        object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(self, "seed", check_seed(self.seed))
        if self.guidance is not None:
            check_guidance(self.guidance)
        _choice("protocol", self.protocol, PROTOCOLS)
        _choice("evaluator", self.evaluator, EVALUATOR_KINDS)
        _choice("accelerator", self.accelerator, ACCELERATORS)
        _choice("strategy", self.strategy, STRATEGIES)
        _choice("precision", self.precision, PRECISIONS)
        for flag, count in (("--devices", self.devices), ("--num-nodes", self.num_nodes)):
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise UserError(f"{flag} must be a positive integer, got {count!r}")
        if self.strategy == "fsdp" and self.world_size == 1:
            raise UserError("--strategy fsdp shards a model over several processes: give "
                            "--devices N (or --num-nodes N) with N > 1, or leave --strategy auto")
        check_logger(self.logger)
        for flag, value in (("--steps", self.steps), ("--sampling-steps", self.sampling_steps)):
            if value is not None and value < 1:
                raise UserError(f"{flag} must be a positive integer, got {value}")
        if self.steps is not None and self.budget is not None:
            raise UserError("give either --steps N or --budget KIND=VALUE, not both "
                            "(--steps N is --budget steps=N)")
        if self.budget is not None:
            Budget.parse(self.budget)
        if self.dataset_key is not None and self.dataset is None:
            raise ValueError("a dataset_key is the content of the --dataset folder: give "
                             "the dataset too")

    @property
    def world_size(self) -> int:
        """Training processes: ``devices`` on each of ``num_nodes`` nodes."""
        return self.devices * self.num_nodes

    @property
    def parsed_budget(self) -> Budget | None:
        """The ``--budget`` as a Budget (None: the preset's steps)."""
        return None if self.budget is None else Budget.parse(self.budget)

    def with_task(self, task: Task | str) -> RunConfig:
        return replace(self, task=task)

    def identity(self) -> dict[str, Any]:
        """The settings that determine a run's results (not where it writes, how it
        shows progress or which loggers it uses); their hash is the record's
        ``run_key``, which sweeps resume by.
        ``dataset`` and ``metrics`` (extra metric plug-ins) appear only when given, and
        the distributed settings (:data:`DISTRIBUTED_DEFAULTS`: the world size changes the
        global batch and the data each process sees, precision the arithmetic) only when
        not their defaults, so runs without them keep the keys they had before the options
        existed.

        A dataset folder enters as its content (``dataset_key``), not its path: changing
        any byte of the manifest or of a file it names (or a setting that shapes the
        loaded arrays) makes other runs, while the same content copied or moved elsewhere
        keeps its runs (the content key hashes paths relative to the folder only:
        benchmark/data/folder/content.py, benchmark/data/embeddings/dataset.py). A
        registered name or a ``file.py:Name`` plug-in enters as given."""
        identity = {
            "method": self.method, "task": self.task.name, "preset": self.preset,
            "seed": self.seed, "profile": self.profile, "steps": self.steps,
            "budget": self.budget, "sampling_steps": self.sampling_steps,
            "guidance": self.guidance, "evaluator": self.evaluator,
            "weights": None if self.weights is None else str(self.weights),
            "protocol": self.protocol,
        }
        if self.dataset is not None:
            identity["dataset"] = self.dataset_key or self.dataset
        if self.metrics:
            identity["metrics"] = list(self.metrics)
        for name, default in DISTRIBUTED_DEFAULTS.items():
            if getattr(self, name) != default:
                identity[name] = getattr(self, name)
        return identity

    def run_key(self) -> str:
        return config_hash(self.identity())

    def training_key(self) -> str:
        """What a suite-protocol sweep trains once for: the identity without the task."""
        return config_hash({k: v for k, v in self.identity().items() if k != "task"})

    def new_run_id(self, outcome: str = "") -> str:
        """A fresh record name: time, method, task, preset, seed, ``outcome`` (e.g.
        ``failed``) and a random suffix; file-safe also for ``file.py:Name`` methods."""
        parts = [time.strftime("%Y%m%dT%H%M%S"), short_name(self.method), self.task.name,
                 self.preset, f"s{self.seed}", outcome, uuid.uuid4().hex[:6]]
        return "-".join(part for part in parts if part)

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain JSON values (the task by name, paths as text), as records
        store it under ``config["run"]``."""
        plain = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Task):
                value = value.name
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            plain[field.name] = value
        return plain


RUN_DEFAULTS: dict[str, Any] = {field.name: field.default for field in fields(RunConfig)
                                if field.default is not MISSING}
"""Every RunConfig field's default, read from the dataclass: what the CLI's flags default
to (benchmark/cli/arguments.py), so that no default is written twice."""

DISTRIBUTED_DEFAULTS: dict[str, Any] = {name: RUN_DEFAULTS[name] for name in DISTRIBUTED_SETTINGS}
"""How a run trains when nothing else is asked (the RunConfig defaults of
:data:`DISTRIBUTED_SETTINGS`): one process on one device, float32."""
