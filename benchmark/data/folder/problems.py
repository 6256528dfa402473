"""The problems a media folder's files can have, and the one :class:`BadData` they raise.

Problems are collected over the whole manifest as ``{problem: [line, ...]}``; the kind whose
first line comes earliest in the file is reported, with every line that has it.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.data import manifest

OUTSIDE = "a media path outside the folder (absolute, or with ..)"
MISSING = "a media file that does not exist or cannot be read"
BAD_IMAGE = "an image that cannot be decoded"
BAD_AUDIO = "an audio file that cannot be decoded"
EMPTY_AUDIO = "an audio file with no samples"

FIXES: dict[str, str] = {
    OUTSIDE: "give image and audio paths relative to the folder, inside it",
    MISSING: "fix the path (relative to the folder holding manifest.jsonl) or add the file",
    BAD_IMAGE: "replace the file with an image PIL reads (PNG, JPEG, ...) or drop the field",
    BAD_AUDIO: "replace the file with audio soundfile reads (WAV, FLAC, OGG) or drop the field",
    EMPTY_AUDIO: "replace the file with a clip that has samples, or drop the field",
}


def raise_first(where: Path, problems: dict[str, list[int]]) -> None:
    """Raise :class:`BadData` for the problem whose earliest line comes first, if any."""
    manifest.raise_first(where, {p: sorted(set(lines)) for p, lines in problems.items()},
                         FIXES)
