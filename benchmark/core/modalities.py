"""The modalities anybench knows about, in their canonical order."""

from typing import Literal

Modality = Literal["text", "image", "audio"]

MODALITIES: tuple[Modality, ...] = ("text", "image", "audio")
