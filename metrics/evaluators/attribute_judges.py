"""Embedded judges: frozen per-modality attribute classifiers for a labelled dataset.

They play the role Inception plays on real data. Each judge maps media to a feature
vector ``f(x) in R^F`` (its penultimate layer, used for FID/KID and FAD) and to one
categorical prediction per label column (used for attribute accuracy). Features are
divided by one fixed scale, sqrt(mean f^2) over real training media, so that values sit
near 1 like Inception's pool features: KID's kernel (x.y/F + 1)^3 assumes that range. They
are trained on real training media only, with architectures and seeds independent of
the backbones, and never see generated samples.

    image:  3 conv blocks (conv 3x3, ReLU, max-pool) -> linear -> f (128-d)
    audio:  log-mel (mel bins as channels) -> 2 temporal conv blocks -> linear -> f
    text:   bag of words over the training vocabulary -> 2-layer MLP -> f
    heads:  one linear classifier per label column on f; loss = sum over columns k of
            the cross-entropy CE_k, averaged over the batch items whose label in k is
            known (not -1); a column with no known label in the batch adds nothing

A modality is judged when some training item that has it carries a label: its judge is
trained on those items (one that lacks every label teaches nothing). A column that none of
them labels keeps its untrained head, and the judge predicts -1 (unknown) there, which
attribute accuracy leaves out. A dataset without label columns gets no judges, so the
metrics that need them (attr_acc, fid, kid, fad under the embedded evaluators) are
skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from benchmark.core.cache import cache_root, config_hash, load_or_build
from benchmark.core.media.logmel import LogMel
from benchmark.core.media.tokenizer import WordTokenizer
from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import MODALITIES, Modality
from benchmark.core.on_demand import OnDemand
from metrics.spec import UNKNOWN

FEATURE_DIM = 128


@dataclass(frozen=True)
class JudgeConfig:
    """Training settings of the judges; ``version`` is bumped whenever their code changes."""

    steps: int = 1_500
    batch_size: int = 128
    lr: float = 1e-3
    input_noise: float = 0.05
    seed: int = 1234
    version: str = "judge-v2"


def _image_trunk(image_size: int) -> nn.Module:
    side = image_size // 8
    return nn.Sequential(
        nn.Conv2d(3, 24, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(24, 48, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(48, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * side * side, FEATURE_DIM), nn.ReLU(),
    )


def audio_trunk(n_mels: int, frames: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv1d(n_mels, 64, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(64, 64, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),
        nn.Flatten(), nn.Linear(64 * (frames // 4), FEATURE_DIM), nn.ReLU(),
    )


def _text_trunk(vocabulary_size: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(vocabulary_size, FEATURE_DIM), nn.ReLU(),
        nn.Linear(FEATURE_DIM, FEATURE_DIM), nn.ReLU(),
    )


class AttributeJudge(nn.Module):
    """A frozen classifier of one modality's media into the dataset's label columns;
    ``unlearned`` are the columns it had no training label for (it predicts -1 there)."""

    def __init__(
        self,
        modality: Modality,
        attribute_names: Sequence[str],
        num_values: Sequence[int],
        *,
        image_size: int = 32,
        num_samples: int = 6_000,
        sample_rate: int = 8_000,
        vocabulary: Sequence[str] = (),
        log_mel_stats: tuple[float, float] = (0.0, 1.0),
        unlearned: Sequence[int] = (),
    ) -> None:
        super().__init__()
        self.modality = modality
        self.attribute_names = tuple(attribute_names)
        self.unlearned = list(unlearned)
        self.shape_args = {
            "image_size": image_size, "num_samples": num_samples, "sample_rate": sample_rate,
            "vocabulary": list(vocabulary), "log_mel_stats": tuple(log_mel_stats),
        }
        if modality == "image":
            self.trunk = _image_trunk(image_size)
        elif modality == "audio":
            from benchmark.core.media.logmel import LogMelConfig

            self.log_mel = LogMel(LogMelConfig(sample_rate=sample_rate))
            self.trunk = audio_trunk(self.log_mel.config.n_mels, self.log_mel.frames(num_samples))
        else:
            self.tokenizer = WordTokenizer(vocabulary)
            self.trunk = _text_trunk(len(self.tokenizer))
        self.heads = nn.ModuleList(nn.Linear(FEATURE_DIM, n) for n in num_values)
        self.register_buffer("feature_scale", torch.ones(()))

    def to_tensor(self, media: np.ndarray | Sequence[str]) -> Tensor:
        """Media -> the trunk's input: pixels in [0, 1], normalized log-mel, or word counts."""
        if self.modality == "image":
            return torch.from_numpy(np.asarray(media)).permute(0, 3, 1, 2).float() / 255.0
        if self.modality == "audio":
            mean, std = self.shape_args["log_mel_stats"]
            return (self.log_mel(media) - mean) / std
        ids = self.tokenizer.encode(list(media))
        counts = torch.zeros(len(ids), len(self.tokenizer))
        counts.scatter_add_(1, ids, torch.ones_like(ids, dtype=torch.float))
        counts[:, : self.tokenizer.eos_id + 1] = 0.0  # pad/bos/eos carry no content
        return counts

    def forward(self, inputs: Tensor) -> tuple[Tensor, list[Tensor]]:
        features = self.trunk(inputs)
        return features, [head(features) for head in self.heads]

    def scaled_features(self, inputs: Tensor) -> Tensor:
        """Penultimate features of trunk inputs, divided by the judge's fixed feature scale."""
        return self.trunk(inputs) / self.feature_scale

    @torch.no_grad()
    def features(self, media: np.ndarray | Sequence[str], batch_size: int = 500) -> Tensor:
        """Scaled penultimate features ``[B, 128]`` of the given media."""
        return torch.cat([self.scaled_features(x) for x in self._batches(media, batch_size)])

    @torch.no_grad()
    def predict(self, media: np.ndarray | Sequence[str], batch_size: int = 500) -> Tensor:
        """Predicted attribute indices ``long [B, A]`` (-1 in the unlearned columns)."""
        rows = [
            torch.stack([logits.argmax(1) for logits in self(x)[1]], dim=1)
            for x in self._batches(media, batch_size)
        ]
        predicted = torch.cat(rows)
        predicted[:, self.unlearned] = UNKNOWN
        return predicted

    def _batches(self, media: np.ndarray | Sequence[str], batch_size: int):
        self.eval()
        for start in range(0, len(media), batch_size):
            yield self.to_tensor(media[start : start + batch_size])


def judge_key(dataset_key: str, config: JudgeConfig, modality: Modality) -> str:
    return config_hash(dataset_key, config, modality)


def _labelled_items(train: MediaSplit, modality: Modality) -> np.ndarray:
    """``bool [N]``: the training items that have ``modality`` and at least one known label
    (none when the dataset has no label columns)."""
    return train.has(modality) & (train.attributes != UNKNOWN).any(axis=1)


def load_attribute_judges(
    dataset_key: str,
    train: MediaSplit,
    config: JudgeConfig = JudgeConfig(),
    root: Path | None = None,
    progress: bool = True,
) -> OnDemand[Modality, AttributeJudge]:
    """One judge per modality that some labelled training item has (module doc), each
    loaded from the cache, or trained on real training media and cached, when it is first
    read: a mapping without keys for a dataset without label columns."""

    def make(modality: Modality) -> AttributeJudge:
        key = judge_key(dataset_key, config, modality)
        judge = load_or_build(
            (root or cache_root()) / "judges" / f"{modality}-{key}.pt",
            partial(_train_judge, modality, train, config, progress),
            save=_save_judge, load=partial(_load_judge, modality),
        )
        return judge.eval().requires_grad_(False)

    return OnDemand({modality: partial(make, modality) for modality in MODALITIES
                     if _labelled_items(train, modality).any()})


def _save_judge(judge: AttributeJudge, path: Path) -> None:
    """The judge's constructor arguments, as plain strings and numbers, and its weights: a
    file torch's weights-only unpickler reads."""
    shape = judge.shape_args
    args = {
        "attribute_names": tuple(str(name) for name in judge.attribute_names),
        "num_values": [int(head.out_features) for head in judge.heads],
        "unlearned": [int(column) for column in judge.unlearned],
        "image_size": int(shape["image_size"]),
        "num_samples": int(shape["num_samples"]),
        "sample_rate": int(shape["sample_rate"]),
        "vocabulary": [str(word) for word in shape["vocabulary"]],
        "log_mel_stats": tuple(float(stat) for stat in shape["log_mel_stats"]),
    }
    with path.open("wb") as file:  # through a handle: the archive is named "archive", not path
        torch.save({"args": args, "weights": judge.state_dict()}, file)


def _load_judge(modality: Modality, path: Path) -> AttributeJudge:
    state = torch.load(path, map_location="cpu", weights_only=True)
    judge = AttributeJudge(modality, **state["args"])
    judge.load_state_dict(state["weights"])
    return judge


def _train_judge(
    modality: Modality, train: MediaSplit, config: JudgeConfig, progress: bool
) -> AttributeJudge:
    torch.manual_seed(config.seed + MODALITIES.index(modality))
    items = train.subset(_labelled_items(train, modality))
    media = items.media(modality)
    num_values = list(items.attribute_sizes)
    extra: dict = {}
    if modality == "image":
        extra["image_size"] = items.images.shape[1]
    elif modality == "audio":
        extra.update(num_samples=items.audio.shape[1], sample_rate=items.sample_rate)
        probe = AttributeJudge(modality, items.attribute_names, num_values, **extra)
        log_mel = probe.log_mel(items.audio[:512])
        extra["log_mel_stats"] = (float(log_mel.mean()), float(log_mel.std()))
    else:
        extra["vocabulary"] = WordTokenizer.from_texts(items.captions).vocabulary
    unlearned = np.flatnonzero((items.attributes == UNKNOWN).all(axis=0)).tolist()
    judge = AttributeJudge(modality, items.attribute_names, num_values, unlearned=unlearned,
                           **extra)
    inputs = torch.cat([judge.to_tensor(media[s : s + 1000]) for s in range(0, len(items), 1000)])
    targets = torch.from_numpy(items.attributes).long()
    optimizer = torch.optim.Adam(judge.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    judge.train()
    bar = tqdm(range(config.steps), desc=f"judge[{modality}]", disable=not progress, leave=False)
    for _ in bar:
        index = torch.randint(len(items), (config.batch_size,), generator=generator)
        x = inputs[index]
        if modality != "text":
            x = x + config.input_noise * torch.randn(x.shape, generator=generator)
        _, logits = judge(x)
        batch_targets = targets[index]
        loss = sum(
            nn.functional.cross_entropy(lg, batch_targets[:, a], ignore_index=UNKNOWN)
            for a, lg in enumerate(logits) if (batch_targets[:, a] != UNKNOWN).any()
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    judge.eval()
    with torch.no_grad():
        judge.feature_scale.fill_(judge.trunk(inputs[:2000]).square().mean().sqrt())
    return judge
