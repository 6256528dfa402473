"""Training the backbones: one plain PyTorch autoencoder loop shared by every modality.

Each step draws a batch ``x`` (epochs of a seeded permutation), encodes it to raw latents
``u``, perturbs them with Gaussian noise scaled per dimension by the batch's own spread,

    u~ = u + eta * std_batch(u) * eps,     eps ~ N(0, I),

and minimizes the modality's reconstruction loss of ``x`` from ``u~`` with Adam under a
cosine learning-rate decay. The noise makes the decoders tolerant of embeddings that lie
slightly off the training manifold, such as those a generative method produces; being
relative to the latent's own scale, the encoder cannot shrink it away by growing ``u``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from tqdm.auto import tqdm

from benchmark.backbones.audio import AudioBackbone
from benchmark.backbones.base import Backbone
from benchmark.backbones.image import ImageBackbone
from benchmark.backbones.text import TextBackbone
from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import Modality

BACKBONES: dict[Modality, type[Backbone]] = {
    "text": TextBackbone,
    "image": ImageBackbone,
    "audio": AudioBackbone,
}


@dataclass(frozen=True)
class BackboneConfig:
    """Everything that shapes a trained backbone; part of its cache key.

    Bump ``version`` whenever a code change alters what the backbones output.
    """

    dim: int = 64
    seed: int = 0
    text_steps: int = 800
    image_steps: int = 1500
    audio_steps: int = 1000
    batch_size: int = 128
    lr: float = 4e-3
    latent_noise: float = 0.1
    version: str = "ae-v1"

    def steps(self, modality: Modality) -> int:
        """Optimizer steps for ``modality``'s autoencoder."""
        return {"text": self.text_steps, "image": self.image_steps, "audio": self.audio_steps}[
            modality
        ]


def train_backbone(
    modality: Modality, train: MediaSplit, config: BackboneConfig, progress: bool = True
) -> Backbone:
    """A frozen backbone for ``modality`` trained on every item of ``train``.

    Deterministic given ``config.seed``; the caller's global random state is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        backbone = BACKBONES[modality].from_split(train, config.dim)
        x = backbone.prepare(train.media(modality))
        fit_autoencoder(backbone, x, config, desc=f"backbone {modality}", progress=progress)
        backbone.fit_standardization(x)
    return backbone.eval().requires_grad_(False)


def fit_autoencoder(
    backbone: Backbone, x: Tensor, config: BackboneConfig, desc: str, progress: bool
) -> None:
    """Run ``config.steps(backbone.modality)`` noisy-latent reconstruction steps on ``x``."""
    if len(x) < 2:
        raise ValueError(f"{desc}: need at least 2 training items, got {len(x)}")
    steps = config.steps(backbone.modality)
    batch_size = min(config.batch_size, len(x))
    optimizer = torch.optim.Adam(backbone.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1))
    order, cursor = torch.randperm(len(x)), 0
    backbone.train()
    bar = tqdm(range(steps), desc=desc, disable=not progress, unit="step")
    for step in bar:
        if cursor + batch_size > len(x):
            order, cursor = torch.randperm(len(x)), 0
        batch = x[order[cursor : cursor + batch_size]]
        cursor += batch_size
        u = backbone.embed(batch)
        u = u + config.latent_noise * u.detach().std(0, correction=0) * torch.randn_like(u)
        loss = backbone.reconstruction_loss(batch, u)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 50 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
