"""A small synthetic world for scoring metrics with the harness's own loop: media that
encode two attribute labels of N test items, fake evaluators that read them back (an
attribute predictor, feature maps, pair encoders), and true embeddings that carry the
labels through a random map per modality plus noise, so the modalities' spaces share
structure as real ones do."""

from __future__ import annotations

import re

import numpy as np

from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import MODALITIES, Modality
from benchmark.scoring.evaluation import RealReference
from metrics.evaluators.evaluator_set import Evaluator, Evaluators
from metrics.spec import Media

N = 48
VALUES = 4  # two attributes, each 0..3
BACKBONE = "fake-backbone"


def render(modality: Modality, labels: np.ndarray, rng: np.random.Generator) -> Media:
    """Media that show ``labels [N, 2]``: image colour, audio amplitude, caption words."""
    if modality == "image":
        image = np.empty((len(labels), 4, 4, 3), dtype=np.uint8)
        image[..., 0] = (60 * labels[:, 0] + 10)[:, None, None]
        image[..., 1] = (60 * labels[:, 1] + 10)[:, None, None]
        image[..., 2] = rng.integers(0, 20, (len(labels), 4, 4))
        return image
    if modality == "audio":
        audio = 0.01 * rng.standard_normal((len(labels), 32)).astype(np.float32)
        audio[:, :2] = labels / VALUES
        return audio
    return [f"a colour{a} thing with shape{b} here" for a, b in labels]


def noise(modality: Modality, rng: np.random.Generator) -> Media:
    """Random outputs: noise images and audio, captions of random words."""
    if modality == "image":
        return rng.integers(0, 256, (N, 4, 4, 3), dtype=np.uint8)
    if modality == "audio":
        return rng.uniform(-1, 1, (N, 32)).astype(np.float32)
    words = ["red", "square", "loud", "big", "thing", "left", "noise", "here"]
    return [" ".join(rng.choice(words, 6)) for _ in range(N)]


def read_labels(modality: Modality, media: Media) -> np.ndarray:
    """The fake attribute predictor: the labels media show, clipped into range."""
    if modality == "image":
        labels = np.rint((np.asarray(media)[:, 0, 0, :2].astype(float) - 10) / 60)
    elif modality == "audio":
        labels = np.rint(np.asarray(media)[:, :2] * VALUES)
    else:
        found = [re.search(r"colour(\d) thing with shape(\d)", caption) for caption in media]
        labels = np.array([[int(m[1]), int(m[2])] if m else [0, 0] for m in found])
    return np.clip(labels, 0, VALUES - 1).astype(np.int64)


def pair_encoding(modality: Modality, media: Media) -> np.ndarray:
    """The fake pair encoder: unit one-hot codes of the labels media show."""
    labels = read_labels(modality, media)
    code = np.concatenate([np.eye(VALUES)[labels[:, 0]], np.eye(VALUES)[labels[:, 1]]], axis=1)
    return code / np.linalg.norm(code, axis=1, keepdims=True)


_PROJECTION = np.random.default_rng(7).standard_normal((32, 6))


def features(modality: Modality, media: Media) -> np.ndarray:
    """The fake feature extractor: a fixed projection of the first 32 values, in 0..1."""
    flat = np.asarray(media, dtype=np.float64).reshape(len(media), -1)[:, :32]
    return (flat / 255.0 if modality == "image" else flat) @ _PROJECTION


def fake_evaluators() -> Evaluators:
    return Evaluators(
        kind="fake",
        attributes={m: Evaluator("fake-judge", read_labels) for m in MODALITIES},
        features={m: Evaluator(f"fake-features:{m}", features) for m in ("image", "audio")},
        pairs={frozenset({a, b}): Evaluator(f"fake-pair:{a}-{b}", pair_encoding)
               for i, a in enumerate(MODALITIES) for b in MODALITIES[i + 1:]},
        captions=Evaluator("fake-captions", lambda modality, captions: list(captions)),
    )


def reference(evaluators: Evaluators | None = None, shuffled: Modality | None = None,
              embeddings: bool = True) -> RealReference:
    """The synthetic test split; with ``shuffled`` that modality's media are permuted, so
    real pairs no longer match (for ceilings)."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, VALUES, (N, 2))
    media = {m: render(m, labels, rng) for m in MODALITIES}
    if shuffled is not None:
        order = rng.permutation(N)
        items = media[shuffled]
        media[shuffled] = [items[i] for i in order] if shuffled == "text" else items[order]
    test = MediaSplit(
        attributes=labels, present=np.ones((N, 3), dtype=bool), captions=media["text"],
        images=media["image"], audio=media["audio"], attribute_names=("colour", "shape"),
        attribute_sizes=(VALUES, VALUES), sample_rate=8_000,
    )
    # True embeddings carry the labels (as real ones carry content) plus noise, each
    # modality through its own map, so the modalities' spaces share structure.
    codes = np.concatenate([np.eye(VALUES)[labels[:, 0]], np.eye(VALUES)[labels[:, 1]]], axis=1)
    true = ({m: codes @ rng.standard_normal((2 * VALUES, 8)) + 0.3 * rng.standard_normal((N, 8))
             for m in MODALITIES} if embeddings else {})
    return RealReference(test=test, embeddings=true,
                         evaluators=evaluators or fake_evaluators(), embedding_evaluator=BACKBONE)


def outputs(kind: str, target: Modality, real: RealReference) -> tuple[Media, np.ndarray]:
    if kind == "perfect":
        return real.test.media(target), real.embeddings[target]
    rng = np.random.default_rng(MODALITIES.index(target) + 1)
    return noise(target, rng), rng.standard_normal((N, 8))
