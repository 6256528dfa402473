"""The cached stages every run needs: dataset, backbones, judges, embeddings.

``prepare`` builds them ahead of time (and writes a preview a person can look at and
listen to); ``run`` calls the same function and finds them cached.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import Modality
from benchmark.embeddings import EmbeddedSplit
from benchmark.profiles import Profile


@dataclass
class PreparedInputs:
    splits: dict[str, MediaSplit]
    backbones: dict[Modality, object]
    judges: dict[Modality, object]
    contrastive_judges: dict[tuple[Modality, Modality], object]
    embeddings: dict[str, EmbeddedSplit]


def stage(message: str) -> None:
    print(f"[anybench] {message}", file=sys.stderr, flush=True)


def prepare_inputs(profile: Profile, progress: bool = True) -> PreparedInputs:
    """Load from the cache, or build, every input of a run under ``profile``."""
    from benchmark.backbones import backbone_key, load_backbones
    from benchmark.data.scenes import load_scenes
    from benchmark.embeddings import embed_split
    from metrics.contrastive_judges import load_contrastive_judges
    from metrics.judges import load_judges

    dataset_key = profile.scenes.key()
    stage(f"dataset scenes ({profile.name}: {profile.scenes.n_train} train, "
          f"{profile.scenes.n_test} test items)")
    splits = load_scenes(profile.scenes, progress=progress)
    stage("backbones (per-modality autoencoders)")
    backbones = load_backbones(dataset_key, splits["train"], profile.backbones, progress=progress)
    stage("judges (embedded evaluators)")
    judges = load_judges(dataset_key, splits["train"], profile.judges, progress=progress)
    stage("contrastive judges (embedded text-image, text-audio, image-audio evaluators)")
    contrastive = load_contrastive_judges(dataset_key, splits["train"], profile.contrastive,
                                          progress=progress)
    stage("embeddings")
    features_key = backbone_key(dataset_key, profile.backbones)
    embeddings = {
        name: embed_split(backbones, split, key=f"{features_key}/{name}")
        for name, split in splits.items()
    }
    return PreparedInputs(splits, backbones, judges, contrastive, embeddings)


def prepare(profile_name: str, preview_dir: Path) -> tuple[list[Path], dict[str, dict]]:
    """``python -m benchmark prepare``: build the caches; return the preview files and the
    embedded evaluators' ceilings on the real test split (every directed task's)."""
    from benchmark.core.tasks import all_tasks
    from benchmark.data.scenes import write_preview
    from benchmark.evaluation import RealReference, evaluator_ceilings
    from benchmark.profiles import PROFILES
    from metrics.evaluators import embedded_evaluators

    profile = PROFILES.get(profile_name)
    inputs = prepare_inputs(profile)
    test = inputs.splits["test"]
    stage("evaluator ceilings on the real test split")
    reference = RealReference(
        test=test,
        embeddings={m: e.numpy() for m, e in inputs.embeddings["test"].embeddings.items()},
        evaluators=embedded_evaluators(inputs.judges, inputs.contrastive_judges,
                                       profile.scenes.version),
        embedding_evaluator=f"backbone:{profile.scenes.version}",
    )
    ceilings = {}
    for task in all_tasks():
        if task.kind == "directed":
            ceilings.update(evaluator_ceilings(task, reference))
    return write_preview(test, preview_dir), {k: v.to_dict() for k, v in ceilings.items()}
