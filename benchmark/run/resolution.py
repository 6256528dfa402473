"""Resolve a RunConfig against the registries, before any data is prepared.

Everything a run could be refused for is found here, cheaply: the method and profile
are looked up (did-you-mean errors), the preset is checked, the pretrained evaluators'
files are located, and the method is built once on the meta device (nothing allocated)
so that unknown settings and tasks it cannot serve by design are refused up front. A
task the method cannot serve raises :class:`RefusedTask`, which sweeps list as refused
rather than failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from benchmark.core.budget import Budget
from benchmark.core.config import RunConfig
from benchmark.core.errors import RefusedTask, UserError
from benchmark.core.modalities import MODALITIES
from benchmark.core.registry import did_you_mean
from benchmark.data import DATASETS, build_dataset, dataset_choice
from benchmark.data.dataset import Dataset
from benchmark.profiles import PROFILES, Profile
from benchmark.scoring.evaluation import metric_specs
from methods import METHODS
from metrics.spec import MetricSpec


@dataclass(frozen=True)
class ResolvedRun:
    """A RunConfig's registry lookups: the method class, the profile (with ``--dataset``
    in place of its own dataset), the method's settings (the profile's overrides plus
    ``--steps``), the enforced budget (None: the preset's steps) and every metric spec
    the run scores (the registered ones, then ``--metric`` plug-ins)."""

    method_cls: type
    profile: Profile
    overrides: dict[str, Any]
    budget: Budget | None
    metrics: list[MetricSpec]


def _require_devices(config: RunConfig) -> None:
    """A one-line UserError, before any data work, when the run asks for GPUs this machine
    does not have or for half precision on a CPU (Lightning would refuse only after the
    caches had loaded)."""
    gpus = torch.cuda.device_count()
    if config.accelerator == "gpu" and gpus < config.devices:
        raise UserError(f"--accelerator gpu --devices {config.devices} needs {config.devices} "
                        f"GPU(s); this machine has {gpus}: use --accelerator cpu (or auto)")
    on_cpu = config.accelerator == "cpu" or (config.accelerator == "auto" and gpus == 0)
    if config.precision == "16-mixed" and on_cpu:
        raise UserError("--precision 16-mixed needs a GPU (float16 autocast); on a CPU use "
                        "--precision bf16-mixed or 32-true")


def resolve(config: RunConfig) -> ResolvedRun:
    """Look everything up and probe the method; bad input is a one-line UserError."""
    method_cls = METHODS.get(config.method)
    profile = PROFILES.get(config.profile).with_dataset(config.dataset)
    kind = getattr(DATASETS.get(profile.dataset), "kind", "media")
    if config.preset not in method_cls.presets:
        raise UserError(
            f"unknown preset '{config.preset}' for {config.method}: "
            f"{did_you_mean(config.preset, list(method_cls.presets))}"
        )
    dims = method_dims(profile, kind)
    if config.preset == "paper" and dims != dict(method_cls.paper_embedding_dims):
        paper = _widths(dict(method_cls.paper_embedding_dims))
        raise UserError(
            f"preset 'paper' is the published architecture on the paper's encoder features "
            f"({paper}); this dataset gives {_widths(dims)}: use --preset tiny, or bring "
            "such precomputed embeddings (--dataset DIR, docs/your-own-data.md)"
        )
    if config.evaluator == "pretrained":
        if kind == "embeddings":
            raise UserError("--evaluator pretrained scores media, and this dataset holds "
                            "precomputed embeddings (nothing decodes them): drop --evaluator")
        from metrics.evaluators.weights import CLAP, CLIP, INCEPTION, WeightsConfig

        WeightsConfig.load(config.weights).require(INCEPTION, CLIP, CLAP)
    _require_devices(config)
    overrides = dict(profile.method_overrides)
    if config.steps is not None:
        overrides["max_steps"] = config.steps
    try:
        method_cls.check_dims(dims)
    except ValueError as error:
        raise RefusedTask(f"{config.method} cannot run on this dataset: {error}") from None
    tasks = [config.task] if config.protocol == "task" else None
    with torch.device("meta"):
        probe = method_cls(dims, preset=config.preset, tasks=tasks, **overrides)
    refusal = probe.refusal(config.task)
    if refusal is not None:
        raise RefusedTask(f"{config.method} cannot run {config.task.name}: {refusal}")
    if config.guidance is not None and not probe.offers_guidance:
        raise UserError(f"{config.method} has no guidance; drop --guidance")
    return ResolvedRun(method_cls, profile, overrides, config.parsed_budget,
                       metric_specs(config.metrics))


def dataset_key(dataset: str | None) -> str | None:
    """The ``dataset_key`` of runs on ``--dataset dataset`` (RunConfig): for a dataset
    folder (paired media or precomputed embeddings) its :func:`content_id`, which the run
    key holds in place of the path; None without ``--dataset`` or for a registered name or
    a plug-in. Hashes every file the folder's manifest names: compute it once per
    ``--dataset``, not once per config. A bad folder is a one-line UserError."""
    if dataset is None:
        return None
    name, settings = dataset_choice(dataset)
    if "path" not in settings:
        return None
    return content_id(build_dataset(name, settings))


def content_id(dataset: Dataset) -> str:
    """``<name>-<content key>`` (``folder-3f2a9c01...``): which data ``dataset`` holds, the
    same wherever its folder is (Dataset.key)."""
    return f"{dataset.name}-{dataset.key()}"


def method_dims(profile: Profile, kind: str) -> dict[str, int]:
    """The embedding width of each modality a method is built for, on a dataset of ``kind``:
    the backbones' width on a media dataset, the arrays' widths on precomputed embeddings
    (read from the array headers, nothing loaded)."""
    if kind == "embeddings":
        return dict(build_dataset(profile.dataset, profile.dataset_settings).embedding_dims())
    return {m: profile.backbones.dim for m in MODALITIES}


def _widths(dims: dict[str, int]) -> str:
    return ", ".join(f"{m} {d}" for m, d in dims.items())
