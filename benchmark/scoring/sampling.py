"""Sampling a task from a trained method and scoring what it generates.

Sampling (:class:`Sampling`: a round trip in two legs), the check that outputs are finite,
decoding and scoring them (benchmark/scoring/evaluation.py) and a gallery's samples.
benchmark/scoring/task_evaluation.py puts these together for one task.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from benchmark.core.config import RunConfig
from benchmark.core.errors import NonFiniteOutput
from benchmark.core.feature_split import FeatureSplit
from benchmark.core.media_split import MediaSplit
from benchmark.core.tasks import Task
from benchmark.scoring.evaluation import RealReference, Scores, score_outputs
from metrics.spec import Media


def score_generated(outputs: dict[str, torch.Tensor], task: Task, backbones: dict,
                   reference: RealReference, seed: int
                   ) -> tuple[Scores, dict[str, Media]]:
    """Decode a method's embeddings of every target modality (where a backbone decodes
    them: not on precomputed embeddings) and score them; returns the scores and the
    decoded media."""
    decoded = {target: backbones[target].decode(outputs[target])
               for target in task.targets if target in backbones}
    embeddings = {target: outputs[target].numpy() for target in task.targets}
    return score_outputs(task, decoded, embeddings, reference, seed=seed), decoded


GALLERY_ITEMS = 6


def gallery_samples(task: Task, test: MediaSplit | FeatureSplit,
                    generated: dict[str, Media], items: int = GALLERY_ITEMS
                    ) -> dict[str, np.ndarray]:
    """The first ``items`` test items of a task, for a report's sample gallery: each
    source (``source/<modality>``), what the method made (``generated/<modality>``) and
    the real target (``truth/<modality>``). Captions are stored as unicode arrays. A
    dataset of precomputed embeddings has no media to show: no samples."""
    if not isinstance(test, MediaSplit):
        return {}

    def first(media: Media) -> np.ndarray:
        return np.asarray(list(media[:items]) if isinstance(media, list) else media[:items])

    samples = {f"source/{m}": first(test.media(m)) for m in task.sources}
    for target in task.targets:
        samples[f"generated/{target}"] = first(generated[target])
        samples[f"truth/{target}"] = first(test.media(target))
    return samples


@dataclass(frozen=True)
class Sampling:
    """How a task is sampled from a trained method: the test sources, the solver steps and
    the guidance scale (the method's defaults unless the run sets them), and the seed of
    the sampling noise. A round trip (``via`` set) generates the middle modality from the
    sources, then the sources' modality back from that generated middle, both legs with
    the method's own ``generate`` and one noise generator."""

    sources: dict[str, torch.Tensor]
    targets: tuple[str, ...]
    steps: int
    guidance: float | None
    seed: int
    via: str | None = None

    def generate(self, method) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(self.seed)

        def leg(sources: dict[str, torch.Tensor], targets: Sequence[str]
                ) -> dict[str, torch.Tensor]:
            return method.generate(sources, targets, steps=self.steps, guidance=self.guidance,
                                   generator=generator)

        if self.via is None:
            return leg(self.sources, self.targets)
        return leg(leg(self.sources, [self.via]), self.targets)


def task_sampling(config: RunConfig, method, test) -> Sampling:
    return Sampling(
        sources={m: test.embeddings[m] for m in config.task.sources},
        targets=config.task.targets,
        steps=config.sampling_steps or method.default_sampling_steps,
        guidance=config.guidance if config.guidance is not None else method.default_guidance,
        seed=config.seed,
        via=config.task.via,
    )


def require_finite(generated: dict[str, torch.Tensor], config: RunConfig) -> None:
    """A :class:`NonFiniteOutput` when a generated embedding holds NaN or inf: scoring it
    would turn a failed run into numbers (AIS counts NaN as never ranked above: 0)."""
    for modality, embeddings in generated.items():
        count = int((~torch.isfinite(embeddings)).sum())
        if count:
            raise NonFiniteOutput(f"{config.method} generated {count} non-finite values for "
                                  f"{modality} (seed {config.seed}): the run failed")
