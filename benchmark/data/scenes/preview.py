"""A preview of ``scenes`` a person can check: a contact sheet and a few sound files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image, ImageDraw, ImageFont

from benchmark.core.media_split import MediaSplit
from benchmark.data.scenes.config import ATTRIBUTE_NAMES, ATTRIBUTE_VALUES


def _describe(attributes: np.ndarray) -> dict[str, str]:
    """Attribute name -> value name, for one item's attribute row."""
    return {
        name: ATTRIBUTE_VALUES[name][a] for name, a in zip(ATTRIBUTE_NAMES, attributes, strict=True)
    }


def write_preview(
    split: MediaSplit, out_dir: Path, n_images: int = 24, n_audio: int = 4
) -> list[Path]:
    """Write a contact sheet and a few audio clips of ``split`` for a person to check.

    ``contact_sheet.png`` shows up to ``n_images`` upscaled images (items with a caption
    first) in a grid, each with its caption underneath, or its attribute values in
    brackets where it has no caption. ``audio_XX_<colour>_<shape>_<size>_<position>.wav``
    (16-bit PCM) holds the first ``n_audio`` items with audio.

    Returns:
        The paths written: the PNG first, then the WAVs.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    has_text, has_image, has_audio = split.present.T
    order = np.concatenate(
        [np.flatnonzero(has_image & has_text), np.flatnonzero(has_image & ~has_text)]
    )[:n_images]

    scale = max(1, 128 // split.images.shape[1])
    side = split.images.shape[1] * scale
    font = ImageFont.load_default()
    line_height = 12
    text_lines = 5
    cell_w, cell_h = side + 16, side + 8 + line_height * text_lines
    columns = min(6, max(1, len(order)))
    rows = -(-len(order) // columns)
    sheet = Image.new("RGB", (columns * cell_w, max(1, rows) * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    for k, i in enumerate(order):
        x, y = (k % columns) * cell_w + 8, (k // columns) * cell_h + 4
        picture = Image.fromarray(split.images[i]).resize((side, side), Image.NEAREST)
        sheet.paste(picture, (x, y))
        label = split.captions[i] or "[" + ", ".join(_describe(split.attributes[i]).values()) + "]"
        lines = textwrap.wrap(label, width=side // 6)[:text_lines]
        for j, line in enumerate(lines):
            draw.text((x, y + side + 2 + j * line_height), line, fill="black", font=font)
    sheet_path = out_dir / "contact_sheet.png"
    sheet.save(sheet_path)

    paths = [sheet_path]
    for k, i in enumerate(np.flatnonzero(has_audio)[:n_audio]):
        value = _describe(split.attributes[i])
        words = [value[a].replace(" ", "-") for a in ("colour", "shape", "size", "position")]
        name = f"audio_{k:02d}_{'_'.join(words)}.wav"
        soundfile.write(out_dir / name, split.audio[i], split.sample_rate, subtype="PCM_16")
        paths.append(out_dir / name)
    return paths
