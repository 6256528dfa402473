"""A small hand-made media folder: the format's features in 52 items, written in seconds.

Each item is a coloured disc (label column ``colour``: red, green or blue) shown as an image,
described by a caption and sounded as a tone whose pitch follows the colour. The 40
training items cycle through the pairings (all three modalities, text+image, text+audio,
image+audio); the 12 test items hold all three. Images cycle through sizes and modes (RGB
48x40, grayscale L 32x32, RGBA 64x64 with a transparent corner, palette P 40x56); audio
cycles through mono 16-bit 8 kHz WAV, stereo 16-bit 16 kHz WAV of another length, and mono
24-bit 22.05 kHz FLAC.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image, ImageDraw

from benchmark.data.manifest import MANIFEST

N_TRAIN, N_TEST = 40, 12
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 70, 220)}
_PITCH_HZ = {"red": 330.0, "green": 440.0, "blue": 550.0}
_PAIRINGS: tuple[tuple[str, ...], ...] = (
    ("text", "image", "audio"), ("text", "image"), ("text", "audio"), ("image", "audio"))
_IMAGE_FORMATS: tuple[tuple[str, tuple[int, int]], ...] = (
    ("RGB", (48, 40)), ("L", (32, 32)), ("RGBA", (64, 64)), ("P", (40, 56)))
_AUDIO_FORMATS: tuple[tuple[str, int, int, float], ...] = (
    ("wav", 8_000, 1, 0.75), ("wav", 16_000, 2, 1.0), ("flac", 22_050, 1, 0.5))
"""(extension, sample rate, channels, seconds)."""


def write_example(folder: Path) -> int:
    """Write the example into ``folder`` (created if needed); return the number of items."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "audio").mkdir(exist_ok=True)
    names = list(COLOURS)
    lines = []
    for index in range(N_TRAIN + N_TEST):
        split = "train" if index < N_TRAIN else "test"
        colour = names[index % len(names)]
        item_id = f"{split}-{index:03d}"
        pairing = _PAIRINGS[index % len(_PAIRINGS)] if split == "train" else _PAIRINGS[0]
        record: dict[str, object] = {"id": item_id, "split": split}
        if "text" in pairing:
            record["text"] = f"a {colour} disc"
        if "image" in pairing:
            record["image"] = _write_image(folder, item_id, colour, index)
        if "audio" in pairing:
            record["audio"] = _write_audio(folder, item_id, colour, index)
        record["labels"] = {"colour": colour}
        lines.append(json.dumps(record))
    (folder / MANIFEST).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def _write_image(folder: Path, item_id: str, colour: str, index: int) -> str:
    """A disc of ``colour`` on a light background, in the ``index``-th size and mode."""
    mode, (width, height) = _IMAGE_FORMATS[index % len(_IMAGE_FORMATS)]
    image = Image.new("RGBA", (width, height), (235, 235, 225, 255))
    radius = min(width, height) // 3
    cx, cy = width // 2 + index % 5 - 2, height // 2
    ImageDraw.Draw(image).ellipse((cx - radius, cy - radius, cx + radius, cy + radius),
                                  fill=(*COLOURS[colour], 255))
    if mode == "RGBA":
        image.paste((0, 0, 0, 0), (0, 0, width // 4, height // 4))
    else:
        image = image.convert("RGB").convert(mode)
    relative = f"images/{item_id}.png"
    image.save(folder / relative)
    return relative


def _write_audio(folder: Path, item_id: str, colour: str, index: int) -> str:
    """A decaying tone of ``colour``'s pitch, in the ``index``-th format."""
    extension, rate, channels, seconds = _AUDIO_FORMATS[index % len(_AUDIO_FORMATS)]
    t = np.arange(round(rate * seconds)) / rate
    tone = 0.5 * np.sin(2 * np.pi * _PITCH_HZ[colour] * t) * np.exp(-3.0 * t)
    wave = np.stack([tone * (1.0 - 0.3 * c) for c in range(channels)], axis=1)
    relative = f"audio/{item_id}.{extension}"
    subtype = "PCM_16" if extension == "wav" else "PCM_24"
    soundfile.write(folder / relative, wave, rate, subtype=subtype)
    return relative
