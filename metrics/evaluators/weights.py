"""Where the pretrained evaluators' files live on disk, and how a user gets them.

Nothing is downloaded at run time: each pretrained evaluator lists the files it needs, and a
:class:`WeightsConfig` maps every file to a local path. The paths come from, in order:

1. an explicit YAML file (``--weights FILE``),
2. the YAML file named by the environment variable ``ANYBENCH_WEIGHTS``,
3. the defaults under ``./weights/`` (relative to the working directory).

YAML keys, all optional (relative paths resolve against the YAML file's own folder; a key
left out keeps its default name under ``root``)::

    root:      folder holding every file not listed below      (default: ./weights)
    inception: clean-fid's TorchScript Inception-V3             (inception-2015-12-05.pt;
               any folder, but the file must keep this name)
    clip:      open_clip state dict of ViT-B-32, tag openai     (open_clip-ViT-B-32-openai.bin)
    clap:      laion-clap checkpoint, HTSAT-tiny, no fusion     (630k-audioset-best.pt)
    roberta:   folder with roberta-base's config.json, vocab.json, merges.txt (roberta-base/)

The sources below are the ones the libraries themselves download from: clean-fid's
``downloads_helper.inception_url``; open_clip's pretrained table (``hf_hub`` of ViT-B-32 /
openai) with its default weights file name ``open_clip_pytorch_model.bin``; laion-clap's
``CLAP_Module.load_ckpt`` download link; and the ``roberta-base`` id laion-clap builds its
text branch from. This module imports neither torch nor those libraries, so checking is fast.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.core.errors import UserError
from benchmark.core.registry import did_you_mean

WEIGHTS_ENV = "ANYBENCH_WEIGHTS"
DEFAULT_ROOT = Path("weights")
ROOT_KEY = "root"

CLIP_MODEL_NAME = "ViT-B-32"
CLIP_PRETRAINED_TAG = "openai"
CLAP_AUDIO_MODEL = "HTSAT-tiny"


@dataclass(frozen=True)
class WeightFile:
    """One file (or, with ``members``, one folder of files) an evaluator loads.

    ``key`` is its YAML key, ``default`` its name under the root folder, ``url`` where it is
    downloaded from (for a folder: the base URL each member name is appended to), and
    ``source`` a short human-readable origin. With ``fixed_name`` the file must keep its
    default name wherever it is put (the loading library looks it up by name).
    """

    key: str
    default: str
    description: str
    url: str
    source: str
    members: tuple[str, ...] = ()
    fixed_name: bool = False

    def missing_at(self, path: Path) -> tuple[str, ...]:
        """What is absent at ``path``: the file's name, or the folder's absent members."""
        if not self.members:
            return () if path.is_file() else (path.name,)
        return tuple(name for name in self.members if not (path / name).is_file())

    def fetch_command(self, path: Path) -> str:
        """A shell command that puts this file at ``path`` (run where there is internet)."""
        if not self.members:
            return f"curl -L --create-dirs -o {shlex.quote(str(path))} {self.url}"
        names = " ".join(self.members)
        target = shlex.quote(str(path))
        return (f"for f in {names}; do curl -L --create-dirs -o {target}/$f "
                f"{self.url}/$f; done")


@dataclass(frozen=True)
class PretrainedEvaluator:
    """A published model that scores generated media; ``id`` appears in metric ids."""

    id: str
    files: tuple[WeightFile, ...]


INCEPTION_FILE = WeightFile(
    key="inception",
    default="inception-2015-12-05.pt",
    description="Inception-V3 as TorchScript (clean-fid's FID/KID features)",
    url="https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/"
        "inception-2015-12-05.pt",
    source="clean-fid (NVlabs StyleGAN2-ADA metrics file)",
    fixed_name=True,  # clean-fid's InceptionV3W takes a folder and opens this name in it
)
CLIP_FILE = WeightFile(
    key="clip",
    default="open_clip-ViT-B-32-openai.bin",
    description="open_clip ViT-B-32 state dict, OpenAI weights",
    url="https://huggingface.co/timm/vit_base_patch32_clip_224.openai/resolve/main/"
        "open_clip_pytorch_model.bin",
    source="hf:timm/vit_base_patch32_clip_224.openai (open_clip's ViT-B-32/openai)",
)
CLAP_FILE = WeightFile(
    key="clap",
    default="630k-audioset-best.pt",
    description="laion-clap checkpoint (HTSAT-tiny audio, RoBERTa text, no fusion)",
    url="https://huggingface.co/lukewys/laion_clap/resolve/main/630k-audioset-best.pt",
    source="hf:lukewys/laion_clap (laion-clap's load_ckpt model_id=1)",
)
ROBERTA_FILES = WeightFile(
    key="roberta",
    default="roberta-base",
    description="roberta-base config and BPE tokenizer for laion-clap's text branch",
    url="https://huggingface.co/roberta-base/resolve/main",
    source="hf:roberta-base (the id laion-clap loads its text branch from)",
    members=("config.json", "vocab.json", "merges.txt"),
)

INCEPTION = PretrainedEvaluator(
    id="inception-v3:clean",
    files=(INCEPTION_FILE,),
)
CLIP = PretrainedEvaluator(
    id=f"open_clip:{CLIP_MODEL_NAME}:{CLIP_PRETRAINED_TAG}",
    files=(CLIP_FILE,),
)
CLAP = PretrainedEvaluator(
    id="laion-clap:630k-audioset",
    files=(CLAP_FILE, ROBERTA_FILES),
)
PRETRAINED_EVALUATORS: tuple[PretrainedEvaluator, ...] = (INCEPTION, CLIP, CLAP)
WEIGHT_FILES: tuple[WeightFile, ...] = tuple(f for e in PRETRAINED_EVALUATORS for f in e.files)
KNOWN_KEYS: tuple[str, ...] = (ROOT_KEY, *(f.key for f in WEIGHT_FILES))


@dataclass(frozen=True)
class WeightStatus:
    """One row of ``prepare --check-weights``: is this evaluator's file where it should be?

    ``missing`` names what is absent: the file's own name, or a folder's absent members.
    """

    evaluator: str
    key: str
    path: Path
    folder: bool
    missing: tuple[str, ...]
    description: str
    url: str
    source: str
    fetch: str

    @property
    def present(self) -> bool:
        return not self.missing

    @property
    def shown_path(self) -> str:
        """The path, with a trailing ``/`` for a folder and, if partly there, what it lacks."""
        if not self.folder:
            return str(self.path)
        lacking = f" (missing {', '.join(self.missing)})" if self.missing else ""
        return f"{self.path}/{lacking}"


@dataclass(frozen=True)
class WeightsConfig:
    """The local path of every weight file; ``origin`` says where the paths came from."""

    paths: Mapping[str, Path]
    origin: str

    @classmethod
    def load(cls, file: Path | None = None) -> WeightsConfig:
        """``file`` if given, else the YAML file in ``$ANYBENCH_WEIGHTS``, else the defaults."""
        if file is not None:
            return cls.from_yaml(Path(file), origin=str(file))
        from_env = os.environ.get(WEIGHTS_ENV, "")
        if from_env:
            return cls.from_yaml(Path(from_env), origin=f"{from_env} (from ${WEIGHTS_ENV})")
        return cls.defaults(DEFAULT_ROOT)

    @classmethod
    def defaults(cls, root: Path, origin: str | None = None) -> WeightsConfig:
        """Every file under its default name in ``root``."""
        return cls(
            paths={f.key: root / f.default for f in WEIGHT_FILES},
            origin=origin or f"defaults under {root}/ in the working directory",
        )

    @classmethod
    def from_yaml(cls, file: Path, origin: str | None = None) -> WeightsConfig:
        """Read a weights YAML file (keys in the module docstring); bad input is a UserError."""
        import yaml

        if not file.is_file():
            raise UserError(f"weights file {file} not found; pass an existing YAML file "
                            f"(keys: {', '.join(KNOWN_KEYS)})")
        try:
            content = yaml.safe_load(file.read_text())
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(error, "problem", None) or type(error).__name__
            raise UserError(f"weights file {file} is not valid YAML{where}: {problem}") from None
        content = {} if content is None else content
        if not isinstance(content, dict):
            raise UserError(f"weights file {file} must be a mapping of keys to paths "
                            f"(keys: {', '.join(KNOWN_KEYS)})")
        base = file.parent
        settings = {key: _path_value(file, key, value, base) for key, value in content.items()}
        root = settings.pop(ROOT_KEY, DEFAULT_ROOT)
        config = cls.defaults(root, origin=origin or str(file))
        return cls(paths={**config.paths, **settings}, origin=config.origin)

    def path(self, evaluator: PretrainedEvaluator, key: str | None = None) -> Path:
        """Where ``evaluator``'s file ``key`` is (``key`` may be left out if it has one file)."""
        if key is None:
            if len(evaluator.files) != 1:
                raise ValueError(f"{evaluator.id} has several files; name one of "
                                 f"{[f.key for f in evaluator.files]}")
            key = evaluator.files[0].key
        if key not in {f.key for f in evaluator.files}:
            raise ValueError(f"{evaluator.id} has no file '{key}'")
        return self.paths[key]

    def require(self, *evaluators: PretrainedEvaluator) -> dict[str, Path]:
        """The paths of these evaluators' files, keyed by file key; every missing file (with
        how to get it) is named in one UserError."""
        rows = check_weights(self, evaluators)
        missing = "; ".join(f"{row.evaluator} needs {row.shown_path} (from {row.url})"
                            for row in rows if not row.present)
        if missing:
            raise UserError(f"missing pretrained weights ({self.origin}): {missing}; "
                            f"`python -m benchmark prepare --check-weights` shows how to get them")
        return {row.key: row.path for row in rows}


def _path_value(file: Path, key: str, value: Any, base: Path) -> Path:
    if key not in KNOWN_KEYS:
        raise UserError(f"unknown key '{key}' in weights file {file}: "
                        f"{did_you_mean(str(key), list(KNOWN_KEYS))} (known keys: "
                        f"{', '.join(KNOWN_KEYS)})")
    if not isinstance(value, str) or not value:
        raise UserError(f"key '{key}' in weights file {file} must be a path, got {value!r}")
    path = Path(value).expanduser()
    fixed = next((f.default for f in WEIGHT_FILES if f.key == key and f.fixed_name), None)
    if fixed is not None and path.name != fixed:
        raise UserError(f"key '{key}' in weights file {file} must name a file called {fixed} "
                        f"(it is loaded by that name), got {value!r}")
    return path if path.is_absolute() else base / path


def check_weights(
    config: WeightsConfig, evaluators: tuple[PretrainedEvaluator, ...] = PRETRAINED_EVALUATORS
) -> list[WeightStatus]:
    """One status per (evaluator, file): its path, what is missing there, how to get it."""
    rows = []
    for evaluator in evaluators:
        for weight in evaluator.files:
            path = config.paths[weight.key]
            rows.append(WeightStatus(
                evaluator=evaluator.id, key=weight.key, path=path, folder=bool(weight.members),
                missing=weight.missing_at(path), description=weight.description, url=weight.url,
                source=weight.source,
                fetch=weight.fetch_command(path),
            ))
    return rows


def weights_report(config: WeightsConfig, rows: list[WeightStatus]) -> str:
    """The ``prepare --check-weights`` table, then how to fetch each missing file."""
    table = [("evaluator", "file", "status", "path")] + [
        (row.evaluator, row.key, "present" if row.present else "MISSING", row.shown_path)
        for row in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(3)]
    lines = [f"pretrained evaluator weights ({config.origin})"]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(line[:3], widths, strict=True))
              + "  " + line[3] for line in table]
    missing = [row for row in rows if not row.present]
    if not missing:
        lines.append(f"all {len(rows)} files present: the pretrained evaluators can load")
        return "\n".join(lines)
    lines += ["", f"{len(missing)} of {len(rows)} missing. On a machine with internet, fetch "
              "each one to the path shown (or point a weights YAML file at it):"]
    for row in missing:
        lines += [f"  {row.evaluator} / {row.key}: {row.description}, from {row.source}",
                  f"    {row.fetch}"]
    lines.append("The embedded evaluators (the default) need none of these files.")
    return "\n".join(lines)
