"""A split of a tri-modal dataset held as raw media, with pairing and attributes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.core.modalities import MODALITIES, Modality


@dataclass
class MediaSplit:
    """Media for ``N`` items; a modality's rows are meaningful only where it is present.

    Attributes:
        attributes: ``int64 [N, A]`` latent attribute indices (columns: ``attribute_names``).
        present: ``bool [N, 3]``; column ``j`` says whether ``MODALITIES[j]`` exists.
        captions: ``N`` strings (``""`` where text is absent).
        images: ``uint8 [N, H, W, 3]`` (zeros where absent).
        audio: ``float32 [N, S]`` in ``[-1, 1]`` (zeros where absent).
        attribute_names: names of the attribute columns.
        attribute_sizes: how many values each attribute column can take.
        sample_rate: audio sample rate in Hz.
        item_lines: the manifest line of each item, for error messages (None for a
            dataset without a manifest).
    """

    attributes: np.ndarray
    present: np.ndarray
    captions: list[str]
    images: np.ndarray
    audio: np.ndarray
    attribute_names: tuple[str, ...]
    attribute_sizes: tuple[int, ...]
    sample_rate: int
    item_lines: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.attributes)

    def has(self, modality: Modality) -> np.ndarray:
        """``bool [N]``: which items have ``modality``."""
        return self.present[:, MODALITIES.index(modality)]

    def media(self, modality: Modality) -> np.ndarray | list[str]:
        """All rows of one modality: the captions list, the image array or the audio array."""
        return {"text": self.captions, "image": self.images, "audio": self.audio}[modality]

    def subset(self, index: np.ndarray) -> MediaSplit:
        """The items at ``index`` (an int array or a boolean mask), in that order."""
        index = np.flatnonzero(index) if index.dtype == bool else index
        return MediaSplit(
            attributes=self.attributes[index],
            present=self.present[index],
            captions=[self.captions[i] for i in index],
            images=self.images[index],
            audio=self.audio[index],
            attribute_names=self.attribute_names,
            attribute_sizes=self.attribute_sizes,
            sample_rate=self.sample_rate,
            item_lines=None if self.item_lines is None else self.item_lines[index],
        )
