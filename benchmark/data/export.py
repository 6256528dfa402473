"""Writing any media dataset's splits as a paired media folder (:mod:`benchmark.data.folder`).

Item ``i`` of split ``s`` gets the id ``f"{s}-{i:06d}"``; where present, its caption goes
inline, its image to ``images/<id>.png`` (lossless) and its audio to ``audio/<id>.wav``
(16-bit PCM at the split's sample rate, ``pcm = round(clip(x, -1, 1) * 32767)``, the
convention the folder reads back as ``pcm / 32767``); its labels are written as integers
under the split's attribute names, an unknown label (``-1``) left out. A dataset whose
images are ``H x H`` RGB and whose audio lies on that PCM grid therefore loads back from the
folder (at ``image_size=H``, its sample rate and ``duration_s = S / sample_rate``) as the
same arrays, provided its largest label value of each column occurs somewhere (integer
labels are their own class index, so the folder counts ``max + 1`` classes).
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image
from tqdm import tqdm

from benchmark.core.errors import UserError
from benchmark.core.media_split import MediaSplit
from benchmark.data.folder.audio import PCM16_FULL_SCALE
from benchmark.data.manifest import MANIFEST


def export_media_folder(splits: dict[str, MediaSplit], out: Path, progress: bool = True) -> int:
    """Write ``splits`` (e.g. ``{"train": ..., "test": ...}``) as a media folder at ``out``.

    ``out`` must not exist or be an empty folder (an export never overwrites). Everything
    is written into a hidden sibling folder that is renamed to ``out`` at the end, so an
    interrupted or failed export leaves nothing at ``out`` (and removes the sibling).

    Returns:
        The number of items written.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} exists and is not an empty folder: an export never "
                        "overwrites; give a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.{secrets.token_hex(4)}.partial"
    staging.mkdir()
    try:
        count = _write_folder(splits, staging, f"exporting {out.name}", progress)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count


def _write_folder(splits: dict[str, MediaSplit], folder: Path, desc: str, progress: bool
                  ) -> int:
    """The media files and ``manifest.jsonl`` of every split under ``folder``."""
    (folder / "images").mkdir()
    (folder / "audio").mkdir()
    total = sum(len(split) for split in splits.values())
    lines = []
    with tqdm(total=total, desc=desc, unit="item", disable=not progress) as bar:
        for name, split in splits.items():
            has_text, has_image, has_audio = split.present.T
            for i in range(len(split)):
                item_id = f"{name}-{i:06d}"
                record: dict[str, object] = {"id": item_id, "split": name}
                if has_text[i]:
                    record["text"] = split.captions[i]
                if has_image[i]:
                    record["image"] = f"images/{item_id}.png"
                    Image.fromarray(split.images[i]).save(folder / record["image"], "PNG")
                if has_audio[i]:
                    record["audio"] = f"audio/{item_id}.wav"
                    pcm = np.round(np.clip(split.audio[i], -1.0, 1.0) * PCM16_FULL_SCALE)
                    soundfile.write(folder / record["audio"], pcm.astype(np.int16),
                                    split.sample_rate, subtype="PCM_16")
                labels = {column: int(value) for column, value
                          in zip(split.attribute_names, split.attributes[i], strict=True)
                          if value >= 0}
                if labels:
                    record["labels"] = labels
                lines.append(json.dumps(record, ensure_ascii=False))
                bar.update()
    (folder / MANIFEST).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return total
