"""Describe scenes in words: one caption per scene from templates and synonyms.

Every caption names all four attributes (shape, colour, size, position), each by one of
its synonyms (:data:`SYNONYMS`), so a caption is fully informative about the scene.
The template (:data:`TEMPLATES`, which vary word order, capitalization and punctuation)
and each synonym are drawn uniformly and independently of the attributes. No synonym is
shared between two values of an attribute, nor appears as a whole word inside another.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

SYNONYMS: dict[str, tuple[str, ...]] = {
    # shape
    "circle": ("circle", "disc", "round dot"),
    "square": ("square", "box", "square tile"),
    "triangle": ("triangle", "triangular shape", "three-cornered shape"),
    "diamond": ("diamond", "rhombus", "lozenge"),
    "cross": ("cross", "plus sign", "plus-shaped mark"),
    # colour
    "red": ("red", "crimson", "scarlet"),
    "yellow": ("yellow", "golden", "lemon-coloured"),
    "green": ("green", "emerald", "leaf-green"),
    "cyan": ("cyan", "turquoise", "aqua"),
    "blue": ("blue", "cobalt", "sapphire"),
    "magenta": ("magenta", "fuchsia", "hot pink"),
    # size
    "small": ("small", "little", "tiny"),
    "large": ("large", "big", "huge"),
    # position
    "top left": ("top left", "upper left", "top-left"),
    "top right": ("top right", "upper right", "top-right"),
    "bottom left": ("bottom left", "lower left", "bottom-left"),
    "bottom right": ("bottom right", "lower right", "bottom-right"),
}
"""Interchangeable phrases for each attribute value."""

TEMPLATES: tuple[str, ...] = (
    "{A} {size} {colour} {shape} in the {position} corner.",
    "There is {a} {size} {shape} coloured {colour} at the {position}.",
    "{Position}: {a} {colour} {shape}, {size}.",
    "{A} {shape} that is {size} and {colour}, {position}",
    "the {position} corner holds {a} {size} {colour} {shape}",
    "{Size} {colour} {shape}, {position}.",
    "A picture of {a} {colour} {shape}; it is {size} and sits {position}.",
    "In the {position} there's {a} {size} {shape} in {colour}!",
)
"""Caption patterns. ``{a}`` is the article for the word after it, ``{A}`` its capital;
``{Size}`` and ``{Position}`` are capitalized."""


_ARTICLE_SLOT = re.compile(r"\{[aA]\} \{(\w+)\}")


def _fill(template: str, words: dict[str, str]) -> str:
    """``template`` with ``words`` substituted and the article chosen for what follows it."""
    slot = _ARTICLE_SLOT.search(template)
    article = "an" if slot and words[slot.group(1)][0] in "aeiou" else "a"
    return template.format(
        a=article,
        A=article.capitalize(),
        Size=words["size"].capitalize(),
        Position=words["position"].capitalize(),
        **words,
    )


def render_captions(
    attributes: np.ndarray,
    values: Mapping[str, tuple[str, ...]],
    rng: np.random.Generator,
) -> list[str]:
    """One caption per row of ``attributes``.

    Args:
        attributes: ``int64 [n, A]`` attribute indices; column ``j`` indexes the values of
            the ``j``-th key of ``values`` (which must include shape, colour, size, position).
        values: attribute name -> its ordered value names.
        rng: source of the template and synonym choices.

    Returns:
        ``n`` captions.
    """
    n = len(attributes)
    template = rng.integers(len(TEMPLATES), size=n)
    # One uniform number per attribute, scaled onto that value's list of synonyms.
    choice = rng.random(size=(n, len(values)))
    captions = []
    for i in range(n):
        words = {}
        for j, name in enumerate(values):
            synonyms = SYNONYMS[values[name][attributes[i, j]]]
            words[name] = synonyms[int(choice[i, j] * len(synonyms))]
        captions.append(_fill(TEMPLATES[template[i]], words))
    return captions
