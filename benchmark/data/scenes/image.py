"""Render scenes as small RGB images, vectorized over the batch.

Each image is ``image_size x image_size`` pixels holding one filled shape:

- **shape** -> the outline, drawn as a signed distance function in units of the radius
  ``r`` (circle, square, upward triangle, diamond, plus-shaped cross), with a one-pixel
  anti-aliased edge: coverage = clip(0.5 - r · d(u, v), 0, 1) where ``(u, v)`` are
  pixel coordinates relative to the shape centre divided by ``r``.
- **colour** -> the fill colour (:data:`COLOUR_RGB`), scaled by the *shade* nuisance.
- **size** -> the radius: ``small`` is 0.11 and ``large`` 0.2 of the image side (about
  3.3x the area), so the two are distinct at any jitter.
- **position** -> the quadrant: the centre sits at 1/4 or 3/4 of each axis.

Nuisance, independent of the attributes: centre jitter (up to ±3.5% of the side per
axis), shade (fill brightness x U(0.7, 1)), a dark background of random grey level
with a faint random tint, and per-pixel Gaussian noise of random strength.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

COLOUR_RGB: dict[str, tuple[float, float, float]] = {
    "red": (0.90, 0.10, 0.10),
    "yellow": (0.95, 0.85, 0.10),
    "green": (0.10, 0.75, 0.15),
    "cyan": (0.10, 0.80, 0.85),
    "blue": (0.15, 0.25, 0.95),
    "magenta": (0.85, 0.15, 0.80),
}
"""Fill colour per colour value (RGB in [0, 1]), hues 60 degrees apart."""

SIZE_RADIUS: dict[str, float] = {"small": 0.11, "large": 0.2}
"""Shape radius per size value, as a fraction of the image side."""

POSITION_CENTRE: dict[str, tuple[float, float]] = {
    "top left": (0.25, 0.25),
    "top right": (0.75, 0.25),
    "bottom left": (0.25, 0.75),
    "bottom right": (0.75, 0.75),
}
"""Shape centre ``(x, y)`` per position value, as fractions of the image side (y down)."""

_SIN30, _COS30 = 0.5, np.sqrt(3.0) / 2.0

SHAPE_DISTANCE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "circle": lambda u, v: np.hypot(u, v) - 1.0,
    "square": lambda u, v: np.maximum(np.abs(u), np.abs(v)) - 0.85,
    # Equilateral, apex up, inradius 0.65; shifted down so its bounding box is centred.
    "triangle": lambda u, v: np.maximum(
        (v - 0.325) - 0.65, _COS30 * np.abs(u) - _SIN30 * (v - 0.325) - 0.65
    ),
    "diamond": lambda u, v: (np.abs(u) + np.abs(v) - 1.2) / np.sqrt(2.0),
    "cross": lambda u, v: np.minimum(
        np.maximum(np.abs(u) - 1.0, np.abs(v) - 0.33),
        np.maximum(np.abs(u) - 0.33, np.abs(v) - 1.0),
    ),
}
"""Signed distance (negative inside) of each shape at coordinates in units of the radius."""

_JITTER = 0.035
_CHUNK = 512


def render_images(
    attributes: np.ndarray,
    values: Mapping[str, tuple[str, ...]],
    image_size: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Render one image per row of ``attributes``.

    Args:
        attributes: ``int64 [n, A]`` attribute indices; column ``j`` indexes the values of
            the ``j``-th key of ``values`` (which must include shape, colour, size, position).
        values: attribute name -> its ordered value names.
        image_size: side of the square images in pixels.
        rng: source of the nuisance; consumed identically for any ``n``-row input.

    Returns:
        ``uint8 [n, image_size, image_size, 3]``.
    """
    n = len(attributes)
    column = {name: attributes[:, j] for j, name in enumerate(values)}
    rgb = np.array([COLOUR_RGB[c] for c in values["colour"]], dtype=np.float32)
    radius = np.array([SIZE_RADIUS[s] for s in values["size"]], dtype=np.float32)
    centre = np.array([POSITION_CENTRE[p] for p in values["position"]], dtype=np.float32)

    # All per-item nuisance is drawn up front so the stream does not depend on chunking.
    jitter = rng.uniform(-_JITTER, _JITTER, size=(n, 2)).astype(np.float32)
    shade = rng.uniform(0.7, 1.0, size=n).astype(np.float32)
    background = rng.uniform(0.08, 0.25, size=(n, 1)) + rng.normal(0.0, 0.03, size=(n, 3))
    noise_std = rng.uniform(0.01, 0.05, size=n).astype(np.float32)

    side = float(image_size)
    centre_px = (centre[column["position"]] + jitter) * side  # [n, 2]
    radius_px = radius[column["size"]] * side  # [n]
    fill = rgb[column["colour"]] * shade[:, None]  # [n, 3]
    grid = np.arange(image_size, dtype=np.float32) + 0.5

    images = np.empty((n, image_size, image_size, 3), dtype=np.uint8)
    for start in range(0, n, _CHUNK):
        rows = slice(start, min(start + _CHUNK, n))
        r = radius_px[rows, None, None]
        u = (grid[None, None, :] - centre_px[rows, 0, None, None]) / r
        v = (grid[None, :, None] - centre_px[rows, 1, None, None]) / r
        distance = np.empty((len(u), image_size, image_size), dtype=np.float32)
        shapes = column["shape"][rows]
        for index, name in enumerate(values["shape"]):
            mine = shapes == index
            distance[mine] = SHAPE_DISTANCE[name](u[mine], v[mine])
        coverage = np.clip(0.5 - distance * r, 0.0, 1.0)[..., None]
        pixels = (1.0 - coverage) * background[rows, None, None, :].astype(np.float32)
        pixels += coverage * fill[rows, None, None, :]
        pixels += noise_std[rows, None, None, None] * rng.standard_normal(
            pixels.shape, dtype=np.float32
        )
        images[rows] = np.round(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8)
    return images
