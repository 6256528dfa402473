"""A hand-made paired-media folder unlike scenes' own format, for acceptance runs.

``write_handmade_folder(out, n_train, n_test)`` renders a scenes instance the way a user's
data might look: grayscale PNG images of 48x48 pixels (scenes draws 32x32 RGB), stereo WAV
audio at 16 kHz lasting 1.0 s (scenes: mono, 8 kHz, 0.75 s), inline captions and one
label column, ``shape`` (strings). Scenes' training items come in the three pair groups,
so a third of them lack each modality; test items hold all three.

    python tests/support/handmade_folder.py /tmp/handmade 3000 300
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image
from scipy.signal import resample_poly

from benchmark.data.scenes import ATTRIBUTE_VALUES, Scenes

IMAGE_SIDE = 48
SAMPLE_RATE = 16_000
DURATION_S = 1.0


def write_handmade_folder(out: Path | str, n_train: int, n_test: int, seed: int = 7) -> Path:
    """Write the folder (see the module doc) and return its path."""
    out = Path(out)
    (out / "pictures").mkdir(parents=True)
    (out / "sounds").mkdir()
    splits = Scenes(n_train=n_train, n_test=n_test, seed=seed).load(progress=False)
    shapes = ATTRIBUTE_VALUES["shape"]
    length = int(SAMPLE_RATE * DURATION_S)
    lines = []
    for split, items in splits.items():
        for i in range(len(items)):
            item_id = f"{split[:2]}{i:05d}"
            line = {"id": item_id, "split": split,
                    "labels": {"shape": shapes[items.attributes[i, 0]]}}
            if items.has("text")[i]:
                line["text"] = items.captions[i]
            if items.has("image")[i]:
                grey = Image.fromarray(items.images[i]).convert("L")
                grey.resize((IMAGE_SIDE, IMAGE_SIDE), Image.BICUBIC).save(
                    out / "pictures" / f"{item_id}.png")
                line["image"] = f"pictures/{item_id}.png"
            if items.has("audio")[i]:
                mono = resample_poly(items.audio[i], SAMPLE_RATE, items.sample_rate)
                mono = np.pad(mono, (0, max(0, length - len(mono))))[:length]
                stereo = np.stack([mono, 0.8 * mono], axis=1).clip(-1, 1)
                soundfile.write(out / "sounds" / f"{item_id}.wav", stereo, SAMPLE_RATE,
                                subtype="PCM_16")
                line["audio"] = f"sounds/{item_id}.wav"
            lines.append(json.dumps(line))
    (out / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return out


if __name__ == "__main__":
    import sys

    print(write_handmade_folder(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
