"""FID and KID of images, computed the clean-fid way (``mode="clean"``).

Images go through clean-fid's own pipeline: saved losslessly as PNG, read back, resized
on float values without quantization (PIL bicubic; 299x299 for Inception-V3, the judge's
native size for the embedded image judge) and fed to a feature extractor as float
``[B, 3, H, W]`` in 0..255. On the features ``f`` of generated (g) and reference (r) images:

    FID = ||mu_g - mu_r||^2 + Tr(S_g) + Tr(S_r) - 2 Tr((S_g S_r)^{1/2})     (metrics.frechet)

    KID = mean over subsets of the unbiased MMD^2 with k(x, y) = (x.y / F + 1)^3:
          MMD^2 = sum_{i!=j} [k(g_i, g_j) + k(r_i, r_j)] / (m (m - 1))
                  - 2 sum_{i,j} k(g_i, r_j) / m^2,
          on ``num_subsets`` random subsets of size m = min(n_g, n_r, max_subset_size)

Both are biased in n (KID's expectation is not, but its spread is), so values are
compared at equal n only; each MetricValue records n = number of generated items and no
interval. KID can be slightly negative when the two sets match.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from cleanfid.fid import get_folder_features, kernel_distance
from cleanfid.resize import make_resizer
from PIL import Image
from torch import Tensor

from benchmark.core.errors import UserError
from metrics.frechet import frechet_metric
from metrics.judges import AttributeJudge
from metrics.value import MetricValue

INCEPTION_FILE = "inception-2015-12-05.pt"
INCEPTION_URL = (
    "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/" + INCEPTION_FILE
)

Extractor = Callable[[Tensor], Tensor]
Resize = Callable[[np.ndarray], np.ndarray]


def clean_image_features(
    images: np.ndarray, extractor: Extractor, *, resize: Resize | None = None,
    batch_size: int = 250,
) -> np.ndarray:
    """Features ``[N, F]`` of ``images`` (uint8 ``[N, H, W, 3]``), row i from image i.

    ``resize`` maps one HWC image in 0..255 to the extractor's input size; None means
    clean-fid's clean resize to 299x299 (for Inception-V3). Runs on the CPU, in-process.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3 or not len(images):
        raise ValueError(f"expected uint8 images [N>0, H, W, 3], got {images.dtype} "
                         f"{list(images.shape)}")
    width = len(str(len(images) - 1))
    with tempfile.TemporaryDirectory(prefix="anybench-fid-") as folder:
        for index, image in enumerate(images):
            # Zero-padded names: clean-fid reads the folder in sorted order = input order.
            Image.fromarray(image).save(Path(folder) / f"{index:0{width}d}.png")
        features = get_folder_features(
            folder, model=extractor, num_workers=0, device=torch.device("cpu"), mode="clean",
            custom_fn_resize=resize, verbose=False, batch_size=batch_size,
        )
    if len(features) != len(images):
        raise RuntimeError(f"clean-fid read {len(features)} of {len(images)} images")
    return features


def judge_resize(judge: AttributeJudge) -> Resize:
    """clean-fid's clean resize (PIL bicubic on float, no quantization) to the judge's size.

    At the native size it is the identity (PIL returns a copy), and it returns float32, which
    clean-fid hands on unscaled: the extractor sees exactly the pixel values 0..255.
    """
    side = judge.shape_args["image_size"]
    return make_resizer("PIL", False, "bicubic", (side, side))


def judge_image_extractor(judge: AttributeJudge) -> Extractor:
    """The embedded image judge's scaled penultimate features ``[B, 128]`` of float images
    in 0..255.

    Inputs are divided by 255, as in ``AttributeJudge.to_tensor``, so the judge sees what it
    was trained on.
    """
    if judge.modality != "image":
        raise ValueError(f"an image judge is needed, got a {judge.modality} judge")
    judge.eval()

    @torch.no_grad()
    def extract(images: Tensor) -> Tensor:
        return judge.scaled_features(images / 255.0)

    return extract


def inception_extractor(weights_file: Path) -> Extractor:
    """clean-fid's Inception-V3 (2048-d pool features) loaded from a local TorchScript file.

    Nothing is downloaded: a missing file is a UserError that says where to get it.
    """
    path = Path(weights_file).expanduser()
    if not path.is_file():
        raise UserError(f"Inception-V3 weights not found at {path}: download {INCEPTION_URL} "
                        "and give its local path")
    if path.name != INCEPTION_FILE:
        raise UserError(f"clean-fid loads Inception-V3 only from a file named {INCEPTION_FILE}: "
                        f"rename {path} to {path.with_name(INCEPTION_FILE)}")
    from cleanfid.inception_torchscript import InceptionV3W

    return InceptionV3W(str(path.parent), download=False).eval()


def fid(generated_features: np.ndarray, reference_features: np.ndarray,
        seed: int = 0) -> MetricValue:
    """FID of generated against reference features (clean-fid's ``fid_from_feats``), with
    the bootstrap interval of metrics/frechet.py."""
    return frechet_metric(generated_features, reference_features, seed=seed)


def kid(
    generated_features: np.ndarray, reference_features: np.ndarray, seed: int = 0, *,
    num_subsets: int = 100, max_subset_size: int = 1000,
) -> MetricValue:
    """KID by clean-fid's ``kernel_distance`` (its defaults), deterministic for ``seed``.

    KID averages, over ``num_subsets`` draws of m = min(n_generated, n_reference,
    ``max_subset_size``) items from each set, the unbiased MMD^2 estimate with the kernel
    k(x, y) = (x.y / d + 1)^3. When both sets have exactly m items every draw is a
    permutation of the whole sets, and the estimate does not depend on the order, so one
    draw gives the same value (up to float rounding) at 1/num_subsets of the cost.

    clean-fid draws the subsets from the global ``np.random``; its state is seeded for the
    call and restored afterwards, so callers' random streams are untouched.
    """
    if len(generated_features) == len(reference_features) <= max_subset_size:
        num_subsets = 1
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        value = kernel_distance(
            np.asarray(generated_features, dtype=np.float64),
            np.asarray(reference_features, dtype=np.float64),
            num_subsets=num_subsets, max_subset_size=max_subset_size,
        )
    finally:
        np.random.set_state(saved)
    return MetricValue(value, n=len(generated_features))
