"""One image file of a media folder -> an RGB ``uint8 [size, size, 3]`` array.

1. Decode with PIL and apply the EXIF orientation, if any (photos stored sideways).
2. To RGB: an image with transparency (RGBA, LA, PA, or P/L/RGB with a transparent colour)
   is composited over opaque white, ``out = round(alpha * rgb + (1 - alpha) * 255)``;
   16-bit grayscale (``I;16`` modes) is scaled to 8 bits as ``round(v / 257)`` (so
   ``65535 -> 255`` and an 8-bit value stored as ``257 * v`` comes back as ``v``); every
   other mode (L, 1, P, CMYK, YCbCr, I, F, ...) is converted by PIL (``I`` and ``F`` are
   clipped to ``[0, 255]``).
3. The centred square of side ``min(width, height)`` is cropped out and resized to
   ``size x size`` with PIL's Lanczos filter, which widens its kernel by the downscaling
   factor (antialiased). An RGB image that is already ``size x size`` is returned
   unchanged, pixel for pixel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

_WHITE = (255, 255, 255, 255)
_SIXTEEN_BIT_SCALE = 257.0
"""``65535 / 255``: 16-bit grey levels per 8-bit level."""


def load_image(path: Path, size: int) -> np.ndarray:
    """The image at ``path`` as ``uint8 [size, size, 3]`` (see the module docstring).

    Raises whatever PIL raises for a file it cannot decode.
    """
    with Image.open(path) as image:
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        rgb = to_rgb(image)
        width, height = rgb.size
        if (width, height) != (size, size):
            side = min(width, height)
            left, top = (width - side) // 2, (height - side) // 2
            rgb = rgb.resize((size, size), Image.Resampling.LANCZOS,
                             box=(left, top, left + side, top + side))
        return np.array(rgb, dtype=np.uint8)


def to_rgb(image: Image.Image) -> Image.Image:
    """``image`` in mode RGB: transparency composited over white, 16-bit grey scaled."""
    if image.has_transparency_data:
        background = Image.new("RGBA", image.size, _WHITE)
        return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    if image.mode == "RGB":
        return image
    if image.mode.startswith("I;16"):
        grey = np.asarray(image, dtype=np.float64) / _SIXTEEN_BIT_SCALE
        return Image.fromarray(np.round(grey).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")
