"""Image features the clean-fid way (``mode="clean"``), for FID and KID.

Images go through clean-fid's own pipeline: saved losslessly, read back, resized on
float values without quantization (PIL bicubic; 299x299 for Inception-V3, the judge's
native size for the embedded image judge) and fed to a feature extractor as float
``[B, 3, H, W]`` in 0..255. Two extractors plug into it: the embedded image judge's scaled
penultimate features, and clean-fid's Inception-V3 (2048-d pool features) from a local file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from cleanfid.fid import get_folder_features
from cleanfid.resize import make_resizer
from torch import Tensor

from benchmark.core.errors import UserError
from metrics.evaluators.attribute_judges import AttributeJudge
from metrics.evaluators.weights import INCEPTION_FILE

Extractor = Callable[[Tensor], Tensor]
Resize = Callable[[np.ndarray], np.ndarray]


def clean_image_features(
    images: np.ndarray, extractor: Extractor, *, resize: Resize | None = None,
    native_side: int | None = None, batch_size: int = 250,
) -> np.ndarray:
    """Features ``[N, F]`` of ``images`` (uint8 ``[N, H, W, 3]``), row i from image i.

    ``resize`` maps one HWC image in 0..255 to the extractor's input size; None means
    clean-fid's clean resize to 299x299 (for Inception-V3). Runs on the CPU, in-process.

    ``native_side``: the side ``resize`` maps to, when it is clean-fid's clean resize
    (:func:`judge_resize`). Images already that size skip the folder: the clean resize is
    then the identity (PIL returns a copy), so clean-fid would hand the extractor each
    image's values unchanged as float32 ``[B, 3, H, W]``, and
    :func:`_features_at_native_size` does exactly that, in the same batches (a test
    compares the two routes bit for bit).
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3 or not len(images):
        raise ValueError(f"expected uint8 images [N>0, H, W, 3], got {images.dtype} "
                         f"{list(images.shape)}")
    if native_side is not None and images.shape[1:3] == (native_side, native_side):
        return _features_at_native_size(images, extractor, batch_size)
    width = len(str(len(images) - 1))
    with tempfile.TemporaryDirectory(prefix="anybench-fid-") as folder:
        for index, image in enumerate(images):
            # Zero-padded names: clean-fid reads the folder in sorted order = input order.
            # As .npy, which clean-fid's folder reader loads as it is: the same uint8 array
            # a PNG decodes to, written about ten times faster (500 64x64 images: 0.07 s
            # against 0.70 s as PNG on the project's CPU).
            np.save(Path(folder) / f"{index:0{width}d}.npy", image)
        features = get_folder_features(
            folder, model=extractor, num_workers=0, device=torch.device("cpu"), mode="clean",
            custom_fn_resize=resize, verbose=False, batch_size=batch_size,
        )
    if len(features) != len(images):
        raise RuntimeError(f"clean-fid read {len(features)} of {len(images)} images")
    return features


def _features_at_native_size(images: np.ndarray, extractor: Extractor,
                             batch_size: int) -> np.ndarray:
    """``extractor`` on ``images`` as contiguous float32 ``[B, 3, H, W]`` in 0..255, in
    batches of ``batch_size``: clean-fid's folder route when its resize is the identity,
    without writing and reading one file per image (about 1 ms an image)."""
    features = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = torch.from_numpy(images[start:start + batch_size]).permute(0, 3, 1, 2)
            features.append(extractor(batch.contiguous().float()).cpu().numpy())
    return np.concatenate(features)


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
    name = INCEPTION_FILE.default
    if not path.is_file():
        raise UserError(f"Inception-V3 weights not found at {path}: download "
                        f"{INCEPTION_FILE.url} and give its local path")
    if path.name != name:
        raise UserError(f"clean-fid loads Inception-V3 only from a file named {name}: "
                        f"rename {path} to {path.with_name(name)}")
    from cleanfid.inception_torchscript import InceptionV3W

    return InceptionV3W(str(path.parent), download=False).eval()
