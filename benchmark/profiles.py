"""Profiles: the data, backbone and judge settings a run uses, bundled under one name.

``default`` is the embedded benchmark. ``smoke`` shrinks every stage so the whole
pipeline runs in well under a minute; its numbers only show that the pipeline works.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmark.backbones import BackboneConfig
from benchmark.core.registry import Registry
from benchmark.data.scenes import ScenesConfig
from metrics.contrastive_judges import ContrastiveJudgeConfig
from metrics.judges import JudgeConfig


@dataclass(frozen=True)
class Profile:
    name: str
    scenes: ScenesConfig
    backbones: BackboneConfig
    judges: JudgeConfig
    contrastive: ContrastiveJudgeConfig
    method_overrides: dict[str, Any] = field(default_factory=dict)


PROFILES: Registry[Profile] = Registry("profile")

PROFILES.add(
    "default",
    "the embedded benchmark: 21k partially paired training items, 1k test triplets",
    lambda: Profile("default", ScenesConfig(), BackboneConfig(), JudgeConfig(),
                    ContrastiveJudgeConfig()),
)
PROFILES.add(
    "smoke",
    "every stage shrunk to seconds, to check the pipeline works (numbers are not meaningful)",
    lambda: Profile(
        "smoke",
        ScenesConfig(n_train=1_200, n_test=100),
        BackboneConfig(text_steps=80, image_steps=80, audio_steps=80),
        JudgeConfig(steps=100),
        ContrastiveJudgeConfig(steps=80),
        method_overrides={"max_steps": 100},
    ),
)
