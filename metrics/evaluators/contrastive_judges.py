"""Embedded contrastive judges: small CLIP-style models for the ``scenes`` dataset.

They play the role CLIP (text–image), CLAP (text–audio) and an image–audio model play on
real data: one model per modality pair maps both modalities into one space of unit
vectors, where alignment metrics (metrics/alignment.py) compare generated outputs with
their sources. They are trained on real training pairs only and never see generated media.

Towers (open_clip's own model code, at a small size):

    text:   open_clip BPE tokens -> open_clip text transformer (causal, EOT pooling) -> R^E
    image:  (pixels / 255 - OpenAI mean) / OpenAI std -> open_clip ViT -> R^E
    audio:  standardized log-mel -> the attribute judge's conv trunk -> linear -> R^E

Training (CLIP's objective, open_clip's loss code): for a batch of B pairs with unit
embeddings x_i, y_i and learnable temperature t (logit scale exp(t), t initialized to
log(1/0.07) and clamped to [0, log 100]), logits L = exp(t) · X Yᵀ and

    loss = ½ · [CE(L, I) + CE(Lᵀ, I)]        (symmetric InfoNCE, open_clip.loss.ClipLoss)

open_clip is imported where a tower or judge is built, not with this module: importing it
pulls in torchvision and transformers (seconds), and the run settings (benchmark/profiles.py)
import this module for its config alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.functional import normalize
from tqdm.auto import tqdm

from benchmark.core.cache import cache_root, config_hash, load_or_build
from benchmark.core.errors import UserError
from benchmark.core.media.logmel import LogMel, LogMelConfig
from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import Modality
from benchmark.core.on_demand import OnDemand
from metrics.evaluators.attribute_judges import FEATURE_DIM, audio_trunk
from metrics.spec import Media

Pair = tuple[Modality, Modality]

PAIRS: tuple[Pair, ...] = (("text", "image"), ("text", "audio"), ("image", "audio"))
"""The modality pairs a judge is trained for (first modality, second modality)."""


@dataclass(frozen=True)
class ContrastiveJudgeConfig:
    """Size and training settings of the contrastive judges; bump ``version`` whenever
    their code changes.

    ``steps`` AdamW steps per pair on random batches of ``batch_size`` pairs (one-cycle
    learning rate peaking at ``lr``); ``embed_dim`` the shared space; ``*_width`` /
    ``*_layers`` the transformers' sizes (``head_width`` channels per attention head);
    ``patch_size`` the ViT's patch side; ``context_length`` BPE tokens per caption
    (captions of the default ``scenes`` data use at most 24).
    """

    steps: int = 500
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.01
    embed_dim: int = 64
    text_width: int = 32
    text_layers: int = 2
    image_width: int = 64
    image_layers: int = 2
    head_width: int = 32
    patch_size: int = 8
    context_length: int = 32
    seed: int = 4321
    version: str = "contrastive-judge-v1"


class TextTower(nn.Module):
    """Captions -> open_clip BPE tokens -> open_clip's text transformer -> ``[B, E]``."""

    def __init__(self, config: ContrastiveJudgeConfig) -> None:
        super().__init__()
        from open_clip.model import CLIPTextCfg, _build_text_tower  # ~2 s: when built
        from open_clip.tokenizer import SimpleTokenizer

        self.tokenizer = SimpleTokenizer(context_length=config.context_length)
        text_config = CLIPTextCfg(
            context_length=config.context_length, vocab_size=self.tokenizer.vocab_size,
            width=config.text_width, heads=config.text_width // config.head_width,
            layers=config.text_layers,
        )
        self.transformer = _build_text_tower(config.embed_dim, text_config)

    def prepare(self, captions: Sequence[str]) -> Tensor:
        return self.tokenizer(list(captions))

    def forward(self, tokens: Tensor) -> Tensor:
        return self.transformer(tokens)


class ImageTower(nn.Module):
    """``uint8 [B, H, W, 3]`` -> OpenAI-normalized pixels -> open_clip's ViT -> ``[B, E]``."""

    def __init__(self, config: ContrastiveJudgeConfig, image_size: int) -> None:
        super().__init__()
        from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
        from open_clip.model import CLIPVisionCfg, _build_vision_tower

        vision_config = CLIPVisionCfg(
            image_size=image_size, patch_size=config.patch_size, width=config.image_width,
            layers=config.image_layers, head_width=config.head_width,
        )
        self.transformer = _build_vision_tower(config.embed_dim, vision_config)
        self.register_buffer("mean", torch.tensor(OPENAI_DATASET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(OPENAI_DATASET_STD).view(1, 3, 1, 1))

    def prepare(self, images: np.ndarray) -> Tensor:
        pixels = torch.from_numpy(np.asarray(images)).permute(0, 3, 1, 2).float() / 255.0
        return (pixels - self.mean) / self.std

    def forward(self, pixels: Tensor) -> Tensor:
        return self.transformer(pixels)


class AudioTower(nn.Module):
    """Waveforms -> standardized log-mel -> the attribute judges' conv trunk -> ``[B, E]``.

    The log-mel mean and standard deviation are buffers, set from training audio.
    """

    def __init__(self, config: ContrastiveJudgeConfig, sample_rate: int,
                 num_samples: int) -> None:
        super().__init__()
        self.log_mel = LogMel(LogMelConfig(sample_rate=sample_rate))
        frames = self.log_mel.frames(num_samples)
        self.trunk = audio_trunk(self.log_mel.config.n_mels, frames)
        self.projection = nn.Linear(FEATURE_DIM, config.embed_dim)
        self.register_buffer("log_mel_stats", torch.tensor([0.0, 1.0]))

    def set_statistics(self, audio: np.ndarray) -> None:
        """Standardize log-mels by the mean and standard deviation over ``audio``."""
        log_mel = self.log_mel(audio)
        self.log_mel_stats.copy_(torch.stack([log_mel.mean(), log_mel.std()]))

    def prepare(self, audio: np.ndarray) -> Tensor:
        mean, std = self.log_mel_stats
        return (self.log_mel(audio) - mean) / std

    def forward(self, log_mel: Tensor) -> Tensor:
        return self.projection(self.trunk(log_mel))


class ContrastiveJudge(nn.Module):
    """Two towers mapping one modality pair into a shared space of unit vectors."""

    def __init__(self, pair: Pair, config: ContrastiveJudgeConfig, *, image_size: int = 32,
                 sample_rate: int = 8_000, num_samples: int = 6_000) -> None:
        super().__init__()
        self.pair = pair
        self.shape_args = {"image_size": image_size, "sample_rate": sample_rate,
                           "num_samples": num_samples}
        towers = {
            "text": lambda: TextTower(config),
            "image": lambda: ImageTower(config, image_size),
            "audio": lambda: AudioTower(config, sample_rate, num_samples),
        }
        self.towers = nn.ModuleDict({modality: towers[modality]() for modality in pair})
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        from open_clip.loss import ClipLoss

        self.clip_loss = ClipLoss()

    def embed(self, modality: Modality, inputs: Tensor) -> Tensor:
        """Prepared inputs -> unit embeddings ``[B, E]`` (differentiable)."""
        return normalize(self.towers[modality](inputs), dim=-1)

    def loss(self, first: Tensor, second: Tensor) -> Tensor:
        """Symmetric InfoNCE of a batch of prepared pairs (``pair[0]`` and ``pair[1]``)."""
        a, b = self.pair
        return self.clip_loss(self.embed(a, first), self.embed(b, second),
                              self.logit_scale.exp())

    @torch.no_grad()
    def encode(self, modality: Modality, media: Media, batch_size: int = 500) -> Tensor:
        """Media of one of the pair's modalities -> unit embeddings ``[N, E]`` (eval mode)."""
        self.eval()
        tower = self.towers[modality]
        return torch.cat([
            self.embed(modality, tower.prepare(media[start : start + batch_size]))
            for start in range(0, len(media), batch_size)
        ])


def contrastive_judge_key(dataset_key: str, config: ContrastiveJudgeConfig, pair: Pair) -> str:
    return config_hash(dataset_key, config, pair)


def load_contrastive_judges(
    dataset_key: str,
    train: MediaSplit,
    config: ContrastiveJudgeConfig = ContrastiveJudgeConfig(),
    root: Path | None = None,
    progress: bool = True,
) -> OnDemand[Pair, ContrastiveJudge]:
    """One judge per pair in :data:`PAIRS` that some training item holds both modalities
    of, each loaded from the cache, or trained on those items and cached, when it is first
    read. A pair that no training item holds gets no judge (its alignment metrics are then
    skipped, with the reason); one held by fewer items than a batch is a UserError when its
    judge is made."""

    def make(pair: Pair) -> ContrastiveJudge:
        key = contrastive_judge_key(dataset_key, config, pair)
        judge = load_or_build(
            (root or cache_root()) / "contrastive_judges" / f"{'-'.join(pair)}-{key}.pt",
            partial(_train, pair, train, config, progress),
            save=_save_judge, load=partial(_load_judge, pair, config),
        )
        return judge.eval().requires_grad_(False)

    return OnDemand({pair: partial(make, pair) for pair in PAIRS if _paired(train, pair).any()})


def _save_judge(judge: ContrastiveJudge, path: Path) -> None:
    """The judge's shape arguments, as plain integers, and its weights: a file torch's
    weights-only unpickler reads."""
    args = {name: int(value) for name, value in judge.shape_args.items()}
    with path.open("wb") as file:  # through a handle: the archive is named "archive", not path
        torch.save({"args": args, "weights": judge.state_dict()}, file)


def _load_judge(pair: Pair, config: ContrastiveJudgeConfig, path: Path) -> ContrastiveJudge:
    state = torch.load(path, map_location="cpu", weights_only=True)
    judge = ContrastiveJudge(pair, config, **state["args"])
    judge.load_state_dict(state["weights"])
    return judge


def _paired(train: MediaSplit, pair: Pair) -> np.ndarray:
    """``bool [N]``: the training items that hold both modalities of ``pair``."""
    a, b = pair
    return train.has(a) & train.has(b)


def _train(pair: Pair, train: MediaSplit, config: ContrastiveJudgeConfig,
           progress: bool) -> ContrastiveJudge:
    a, b = pair
    items = train.subset(_paired(train, pair))
    if len(items) < config.batch_size:
        raise UserError(f"only {len(items)} training items pair {a} with {b}, fewer than the "
                        f"contrastive judges' batch size {config.batch_size}: use a larger "
                        "training split or a smaller batch_size")
    torch.manual_seed(config.seed + PAIRS.index(pair))
    judge = ContrastiveJudge(pair, config, image_size=items.images.shape[1],
                             sample_rate=items.sample_rate, num_samples=items.audio.shape[1])
    if "audio" in pair:
        judge.towers["audio"].set_statistics(items.audio[:512])
    inputs = [_prepare_all(judge, modality, items.media(modality)) for modality in pair]
    optimizer = torch.optim.AdamW(judge.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr,
                                                   total_steps=config.steps, pct_start=0.1)
    generator = torch.Generator().manual_seed(config.seed)
    judge.train()
    bar = tqdm(range(config.steps), desc=f"contrastive judge[{a}-{b}]", disable=not progress,
               leave=False)
    for _ in bar:
        index = torch.randint(len(items), (config.batch_size,), generator=generator)
        loss = judge.loss(inputs[0][index], inputs[1][index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            judge.logit_scale.clamp_(0.0, math.log(100.0))
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return judge


def _prepare_all(judge: ContrastiveJudge, modality: Modality, media: Media,
                 chunk: int = 1_000) -> Tensor:
    tower = judge.towers[modality]
    return torch.cat([tower.prepare(media[s : s + chunk]) for s in range(0, len(media), chunk)])
