"""A method plug-in, loaded by path (``tests/plugins/nan_map.py:NanMap``), that trains like a
linear map and generates nothing but NaN."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from methods.base import AnyToAnyMethod, MethodConfig, Objective, paired_rows


@dataclass(frozen=True, kw_only=True)
class NanConfig(MethodConfig):
    max_steps: int = 2
    sampling_steps: int = 1


class NanMap(AnyToAnyMethod):
    """Trains like a linear map; every generated value is NaN."""

    name = "nan_map"
    presets: ClassVar[Mapping[str, NanConfig]] = {"tiny": NanConfig()}

    def build(self, tasks):
        self.maps = nn.ModuleDict({f"{s}->{t}": nn.Linear(self.dims[s], self.dims[t])
                                   for s in self.dims for t in self.dims if s != t})

    def objective(self, batch):
        losses = []
        for key, linear in self.maps.items():
            source, target = key.split("->")
            rows = paired_rows(batch, source, target)
            if rows.numel():
                losses.append(F.mse_loss(linear(batch[source][rows]), batch[target][rows]))
        return Objective(torch.stack(losses).sum())

    def sample(self, call):
        rows = next(iter(call.sources.values())).shape[0]
        return {t: torch.full((rows, self.dims[t]), float("nan")) for t in call.targets}

    def serving_parts(self, tasks):
        return list(self.maps.values())

    def velocity_networks(self):
        return list(self.maps.values())
