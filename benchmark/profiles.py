"""Profiles: the data, backbone and judge settings a run uses, bundled under one name.

``default`` is the embedded benchmark. ``smoke`` shrinks every stage so the whole
pipeline runs in well under a minute; its numbers only show that the pipeline works.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from benchmark.backbones import BackboneConfig
from benchmark.core.registry import Registry
from metrics.evaluators.attribute_judges import JudgeConfig
from metrics.evaluators.contrastive_judges import ContrastiveJudgeConfig


@dataclass(frozen=True)
class Profile:
    """A named bundle of settings for every cached stage of a run.

    Attributes:
        name: the profile's name; run records say ``<dataset>:<name>``.
        dataset: a name registered in ``benchmark.data.DATASETS``.
        dataset_settings: keyword arguments for that dataset's factory (the rest default).
        backbones: the backbones' training settings.
        judges: the attribute judges' training settings.
        contrastive: the contrastive judges' training settings.
        method_overrides: method settings this profile changes (e.g. fewer steps).
    """

    name: str
    dataset: str
    dataset_settings: dict[str, Any]
    backbones: BackboneConfig
    judges: JudgeConfig
    contrastive: ContrastiveJudgeConfig
    method_overrides: dict[str, Any] = field(default_factory=dict)

    def with_dataset(self, dataset: str | None) -> Profile:
        """This profile on ``dataset`` instead (``--dataset``: a registered name or
        ``file.py:Name`` with its default settings, or a dataset folder, see
        :func:`benchmark.data.dataset_choice`); itself when ``dataset`` is None or already
        its own. The backbone and judge settings stay the profile's."""
        if dataset is None or dataset == self.dataset:
            return self
        from benchmark.data import dataset_choice

        name, settings = dataset_choice(dataset)
        return replace(self, dataset=name, dataset_settings=settings)


PROFILES: Registry[Profile] = Registry("profile")

PROFILES.add(
    "default",
    lambda: Profile("default", "scenes", {}, BackboneConfig(), JudgeConfig(),
                    ContrastiveJudgeConfig()),
    "the embedded benchmark: 21k partially paired training items, 1k test triplets",
)
PROFILES.add(
    "smoke",
    lambda: Profile(
        "smoke",
        "scenes",
        {"n_train": 1_200, "n_test": 100},
        BackboneConfig(text_steps=80, image_steps=80, audio_steps=80),
        JudgeConfig(steps=100),
        ContrastiveJudgeConfig(steps=80),
        method_overrides={"max_steps": 100},
    ),
    "every stage shrunk to seconds, to check the pipeline works (numbers are not meaningful)",
)
