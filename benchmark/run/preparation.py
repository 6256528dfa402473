"""The cached stages every run needs: dataset, backbones, judges, embeddings.

``prepare`` builds them ahead of time (and writes a preview a person can look at and
listen to, for a dataset that has one); ``run`` calls the same function and finds them
cached. The judges are made when first read: ``run`` on cold caches builds only those
that score its tasks (:func:`judges_read_by`), ``prepare`` all of them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.core.feature_split import FeatureSplit
from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import Modality
from benchmark.core.progress import stage
from benchmark.core.tasks import Task
from benchmark.data.dataset import Dataset
from benchmark.profiles import Profile
from benchmark.run.embeddings import EmbeddedSplit

if TYPE_CHECKING:
    from benchmark.scoring.evaluation import RealReference
    from metrics.evaluators.evaluator_set import Evaluators
    from metrics.spec import MetricSpec


@dataclass
class PreparedInputs:
    """Everything a run reads from the caches: the dataset and its splits, the backbones
    and judges trained on its training split (the judges made when first read), and both
    splits' embeddings.

    A dataset of precomputed embeddings has :class:`FeatureSplit` splits, no backbones
    (nothing decodes) and no judges (they judge media)."""

    dataset: Dataset
    splits: dict[str, MediaSplit] | dict[str, FeatureSplit]
    backbones: dict[Modality, object]
    judges: Mapping[Modality, object]
    contrastive_judges: Mapping[tuple[Modality, Modality], object]
    embeddings: dict[str, EmbeddedSplit]

    @property
    def dims(self) -> dict[Modality, int]:
        """The embedding dimension of each modality, as methods see it."""
        return {m: int(z.shape[1]) for m, z in self.embeddings["train"].embeddings.items()}

    @property
    def has_media(self) -> bool:
        return self.dataset.kind == "media"

    def real_reference(self, evaluators: Evaluators,
                       metrics: Sequence[MetricSpec] | None = None) -> RealReference:
        """The real test items that outputs are scored against, under ``evaluators``: the
        test media (none for precomputed embeddings), their labels, their true embeddings
        (the backbones' space, ``backbone:<version>``, or the dataset's own standardized
        features, ``embeddings:<version>``) and the metric specs to score (every registered
        one when None)."""
        from benchmark.scoring.evaluation import RealReference

        test = self.embeddings["test"]
        extra = {} if metrics is None else {"metrics": metrics}
        split = self.splits["test"]
        space = "backbone" if self.has_media else "embeddings"
        return RealReference(
            test=split if self.has_media else None,
            labels=split.attributes if split.attribute_names else None,
            label_names=split.attribute_names,
            embeddings={m: z.numpy() for m, z in test.embeddings.items()},
            evaluators=evaluators,
            embedding_evaluator=f"{space}:{self.dataset.version}",
            **extra,
        )


def prepare_inputs(profile: Profile, progress: bool = True,
                   tasks: Sequence[Task] | None = None) -> PreparedInputs:
    """Load from the cache, or build, every input of a run under ``profile``.

    The judges are made when first read (benchmark/core/on_demand.py); those that scoring
    ``tasks`` reads (:func:`judges_read_by`) are made here, every one when ``tasks`` is
    None, so a run's training and scoring clocks never include building a judge, and a
    run of one task on cold caches builds only that task's judges."""
    from benchmark.backbones import backbone_key, load_backbones
    from benchmark.data import build_dataset
    from benchmark.run.embeddings import embed_split, standardized_features
    from metrics.evaluators.attribute_judges import load_attribute_judges
    from metrics.evaluators.contrastive_judges import load_contrastive_judges

    dataset = build_dataset(profile.dataset, profile.dataset_settings)
    dataset_key = dataset.key()
    settings = "".join(f", {k}={v}" for k, v in profile.dataset_settings.items())
    stage(f"dataset {dataset.name} ({profile.name}{settings})")
    splits = dataset.load(progress=progress)
    if dataset.kind == "embeddings":
        stage("embeddings (precomputed; standardized with the training split's statistics)")
        return PreparedInputs(dataset, splits, {}, {}, {}, standardized_features(splits))
    stage("backbones (per-modality autoencoders)")
    backbones = load_backbones(dataset_key, splits["train"], profile.backbones, progress=progress)
    judges = load_attribute_judges(dataset_key, splits["train"], profile.judges,
                                   progress=progress)
    contrastive = load_contrastive_judges(dataset_key, splits["train"], profile.contrastive,
                                          progress=progress)
    modalities, pairs = judges_read_by(tasks, judges, contrastive)
    if modalities:
        stage(f"judges (embedded evaluators) of {', '.join(modalities)}")
        judges.make(modalities)
    if pairs:
        stage("contrastive judges (embedded evaluators) of "
              f"{', '.join('-'.join(pair) for pair in pairs)}")
        contrastive.make(pairs)
    stage("embeddings")
    features_key = backbone_key(dataset_key, profile.backbones)
    embeddings = {
        name: embed_split(backbones, split, key=f"{features_key}/{name}")
        for name, split in splits.items()
    }
    return PreparedInputs(dataset, splits, backbones, judges, contrastive, embeddings)


def judges_read_by(tasks: Sequence[Task] | None, judges: Collection[Modality],
                   contrastive: Collection[tuple[Modality, Modality]]
                   ) -> tuple[list[Modality], list[tuple[Modality, Modality]]]:
    """The attribute judges (by modality) and contrastive judges (by pair) among the keys
    ``judges`` and ``contrastive`` that scoring ``tasks`` reads: each target's attribute judge (its
    attributes, and its features for FID/KID or FAD) and the judge of every pair of a
    target with another modality the task reads or makes (clip, clap, ais); all of them
    when ``tasks`` is None."""
    if tasks is None:
        return list(judges), list(contrastive)

    def scored(pair: tuple[Modality, Modality], task: Task) -> bool:
        return set(pair) <= {*task.sources, *task.targets} and bool(set(pair) & set(task.targets))

    targets = {modality for task in tasks for modality in task.targets}
    return ([modality for modality in judges if modality in targets],
            [pair for pair in contrastive if any(scored(pair, task) for task in tasks)])


def prepare(profile_name: str, preview_dir: Path, dataset: str | None = None
            ) -> tuple[list[Path], dict[str, dict]]:
    """``python -m benchmark prepare``: build the caches; return the preview files (none
    for a dataset without a preview) and the embedded evaluators' ceilings on the real test
    split (every directed task's). ``dataset`` replaces the profile's (see
    ``Profile.with_dataset``)."""
    from benchmark.core.tasks import all_tasks
    from benchmark.data.dataset import Previewable
    from benchmark.profiles import PROFILES
    from benchmark.scoring.evaluation import evaluator_ceilings
    from metrics.evaluators.evaluator_set import embedded_evaluators

    profile = PROFILES.get(profile_name).with_dataset(dataset)
    inputs = prepare_inputs(profile)
    test, version = inputs.splits["test"], inputs.dataset.version
    stage("evaluator ceilings on the real test split")
    reference = inputs.real_reference(
        embedded_evaluators(inputs.judges, inputs.contrastive_judges, version))
    ceilings = {}
    for task in all_tasks():
        if task.kind == "directed":
            ceilings.update(evaluator_ceilings(task, reference).values)
    previews = (inputs.dataset.write_preview(test, preview_dir)
                if isinstance(inputs.dataset, Previewable) else [])
    return previews, {k: v.to_dict() for k, v in ceilings.items()}
