"""What every dataset read from a user's folder shares: its ``path`` setting and the
version string that names its evaluators."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmark.core.errors import UserError
from benchmark.core.registry import did_you_mean


def folder_path(dataset: str, path: str | os.PathLike[str] | None, unknown: Mapping[str, Any],
                known: Sequence[str], holds: str) -> Path:
    """The absolute folder of dataset ``dataset``; a UserError for a setting not in ``known``
    (naming the closest) or a missing ``path`` (saying the folder ``holds`` what)."""
    for setting in unknown:
        raise UserError(f"unknown {dataset} setting '{setting}': "
                        f"{did_you_mean(setting, list(known))}")
    if path is None:
        raise UserError(f"the {dataset} dataset needs a path setting: the folder holding "
                        f"{holds} (e.g. --dataset path/to/folder)")
    return Path(path).expanduser().resolve()


def folder_version(folder: Path, key: str, fallback: str) -> str:
    """``<folder name>-<first 8 digits of key>``, the name lower-cased with every run of
    characters outside ``a-z0-9`` made one ``-`` (``fallback`` if nothing is left), e.g.
    ``my-pets-3f2a9c01``: evaluator ids name it, so it has no ``:``."""
    slug = re.sub(r"[^a-z0-9]+", "-", folder.name.lower()).strip("-") or fallback
    return f"{slug}-{key[:8]}"
