"""``scenes``: a procedurally generated tri-modal dataset, deterministic from a seed.

Each item is a scene with four latent attributes, drawn uniformly and independently:

    shape     circle, square, triangle, diamond, cross
    colour    red, yellow, green, cyan, blue, magenta
    size      small, large
    position  top left, top right, bottom left, bottom right

rendered three ways, each with its own nuisance drawn independently of the attributes:

- **image** (:mod:`benchmark.data.scenes.image`): a small RGB picture of the shape in
  its colour, radius from size, in the quadrant of its position; jitter, shade,
  background tint and pixel noise.
- **text** (:mod:`benchmark.data.scenes.caption`): a caption from one of several
  templates that names all four attributes through synonyms.
- **audio** (:mod:`benchmark.data.scenes.audio`): a tone whose timbre comes from shape,
  pitch from colour, loudness and duration from size and onset from position; detune,
  onset jitter, level and background noise.

    config      the attributes, the pair groups and ScenesConfig (the settings)
    generation  one split from a config (generate_split)
    dataset     Scenes, the Dataset: settings -> both splits, generated once and cached
    preview     a contact sheet and WAV files for a person to check
"""

from benchmark.data.scenes.config import (
    ATTRIBUTE_NAMES,
    ATTRIBUTE_SIZES,
    ATTRIBUTE_VALUES,
    PAIR_GROUPS,
    ScenesConfig,
)
from benchmark.data.scenes.dataset import Scenes
from benchmark.data.scenes.generation import generate_split

__all__ = [
    "ATTRIBUTE_NAMES",
    "ATTRIBUTE_SIZES",
    "ATTRIBUTE_VALUES",
    "PAIR_GROUPS",
    "Scenes",
    "ScenesConfig",
    "generate_split",
]
