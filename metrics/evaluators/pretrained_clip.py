"""open_clip CLIP loaded from a local checkpoint: L2-normalized image and text embeddings.

    e_img(x) = f_img(P(x)) / ||f_img(P(x))||,   e_txt(t) = f_txt(T(t)) / ||f_txt(T(t))||

``P`` is open_clip's own validation preprocessing (resize, centre crop, normalize) applied to
PIL images, ``T`` its tokenizer for the model (the BPE vocabulary ships in the wheel), and
``f`` the model's encoders; a CLIP score is then ``100 * max(e_img . e_txt, 0)``.

open_clip only applies a pretrained tag's settings (QuickGELU activations, normalization
constants, interpolation) when it downloads the weights itself. A local file carries no
tag, so the tag is passed here and its settings are read from open_clip's own pretrained
table: the OpenAI ViT-B-32 weights, for one, were trained with QuickGELU.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmark.core.errors import UserError
from metrics.evaluators.weights import CLIP, CLIP_MODEL_NAME, CLIP_PRETRAINED_TAG, WeightsConfig

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before open_clip pulls in huggingface_hub

import open_clip
import torch
from PIL import Image
from torch import Tensor


def tag_options(model_name: str, pretrained_tag: str | None) -> dict:
    """``create_model_and_transforms`` settings that open_clip ties to a pretrained tag."""
    if pretrained_tag is None:
        return {}
    cfg = open_clip.get_pretrained_cfg(model_name, pretrained_tag)
    if not cfg:
        raise ValueError(f"open_clip has no pretrained tag '{pretrained_tag}' for {model_name}")
    return {
        "force_quick_gelu": cfg.get("quick_gelu", False),
        "image_mean": cfg.get("mean"),
        "image_std": cfg.get("std"),
        "image_interpolation": cfg.get("interpolation"),
        "image_resize_mode": cfg.get("resize_mode"),
    }


class PretrainedClip:
    """A frozen open_clip model built from ``checkpoint`` (a state dict file), in eval mode."""

    def __init__(self, model_name: str, checkpoint: Path, *, pretrained_tag: str | None = None,
                 device: str | torch.device = "cpu", batch_size: int = 64) -> None:
        checkpoint = Path(checkpoint)
        if not checkpoint.is_file():
            raise UserError(f"CLIP checkpoint {checkpoint} not found; "
                            "`python -m benchmark prepare --check-weights` shows how to get it")
        self.device = torch.device(device)
        self.batch_size = batch_size
        with torch.random.fork_rng(devices=[]):  # building draws (discarded) initial weights
            model, _, preprocess = open_clip.create_model_and_transforms(
                model_name, pretrained=str(checkpoint), device=self.device,
                **tag_options(model_name, pretrained_tag),
            )
        self.model = model.eval()
        self.preprocess = preprocess
        self.tokenizer = open_clip.get_tokenizer(model_name)

    @classmethod
    def from_weights(cls, weights: WeightsConfig, device: str | torch.device = "cpu",
                     ) -> PretrainedClip:
        """The ``open_clip:ViT-B-32:openai`` evaluator from the configured local file."""
        weights.require(CLIP)
        return cls(CLIP_MODEL_NAME, weights.path(CLIP), pretrained_tag=CLIP_PRETRAINED_TAG,
                   device=device)

    @torch.no_grad()
    def encode_images(self, images: np.ndarray) -> Tensor:
        """uint8 images ``[N, H, W, 3]`` -> L2-normalized embeddings ``[N, E]`` (on the CPU)."""
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"expected uint8 images [N, H, W, 3], got {images.dtype} "
                             f"{images.shape}")
        out = []
        for start in range(0, len(images), self.batch_size):
            batch = torch.stack([self.preprocess(Image.fromarray(image))
                                 for image in images[start:start + self.batch_size]])
            out.append(self.model.encode_image(batch.to(self.device), normalize=True).cpu())
        return _concat(out, "images")

    @torch.no_grad()
    def encode_texts(self, texts: Sequence[str]) -> Tensor:
        """Captions -> L2-normalized embeddings ``[N, E]`` (on the CPU)."""
        texts = list(texts)
        out = []
        for start in range(0, len(texts), self.batch_size):
            tokens = self.tokenizer(texts[start:start + self.batch_size])
            out.append(self.model.encode_text(tokens.to(self.device), normalize=True).cpu())
        return _concat(out, "texts")


def _concat(batches: list[Tensor], what: str) -> Tensor:
    if not batches:
        raise ValueError(f"no {what} to encode")
    return torch.cat(batches)
