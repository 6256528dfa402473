"""A method plug-in, loaded by path (``tests/plugins/turns_nan.py:TurnsNan``), whose training
loss turns NaN at a chosen step (``nan_from_step``, 1 by default)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import torch.nn.functional as F
from torch import nn

from methods.base import AnyToAnyMethod, MethodConfig, Objective, paired_rows


@dataclass(frozen=True, kw_only=True)
class TurnsNanConfig(MethodConfig):
    max_steps: int = 5
    sampling_steps: int = 1
    nan_from_step: int = 1


class TurnsNan(AnyToAnyMethod):
    """A linear map from image to text whose training loss is NaN from ``nan_from_step`` on."""

    name = "turns_nan"
    presets: ClassVar[Mapping[str, TurnsNanConfig]] = {"tiny": TurnsNanConfig()}

    def build(self, tasks):
        self.map = nn.Linear(self.dims["image"], self.dims["text"])

    def objective(self, batch):
        rows = paired_rows(batch, "image", "text")
        loss = F.mse_loss(self.map(batch["image"][rows]), batch["text"][rows])
        turned = self.global_step >= self.config.nan_from_step
        return Objective(loss * float("nan") if turned else loss)

    def sample(self, call):
        return {"text": self.map(call.sources["image"])}

    def supports(self, task):
        return task.sources == ("image",) and task.targets == ("text",)

    def serving_parts(self, tasks):
        return [self.map]

    def velocity_networks(self):
        return [self.map]
