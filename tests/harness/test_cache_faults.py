"""Cache faults: a cache file that cannot be read is named on stderr, removed and built
again to the same content; caches hold no pickles; files get the user's umask.

Every kind of cache file is damaged by writing its first half back (a truncated write)
and then loaded again through its real loader.
"""

from __future__ import annotations

import json
import math
import pickle
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from benchmark import backbones as backbones_module
from benchmark.core.cache import UNREADABLE_ERRORS, load_or_build
from benchmark.core.errors import UserError
from benchmark.core.tasks import parse_task
from benchmark.data.embeddings import PrecomputedEmbeddings
from benchmark.data.folder import MediaFolder
from benchmark.data.scenes.dataset import Scenes
from benchmark.profiles import PROFILES
from benchmark.run import embeddings as embeddings_module
from benchmark.scoring import reference_rows as rows_module
from metrics import METRICS
from metrics.evaluators import attribute_judges, contrastive_judges
from metrics.value import MetricValue
from support.paths import ROOT


def truncate(path: Path) -> None:
    """Put the first half of ``path`` in its place, what a write cut short leaves (as a new
    file: truncating a file in place would break memory maps of it still in use)."""
    content = path.read_bytes()
    half = path.with_name(path.name + ".half")
    half.write_bytes(content[: len(content) // 2])
    half.replace(path)


def snapshot(folder: Path) -> dict[str, bytes]:
    """``{relative path: bytes}`` of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def rebuild_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "is unreadable" in line]


class Counted:
    """A builder that counts its calls and always builds the same tensors."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, torch.Tensor]:
        self.calls += 1
        return {"weights": torch.arange(64, dtype=torch.float32).reshape(8, 8)}


def save_tensors(value: dict[str, torch.Tensor], path: Path) -> None:
    with path.open("wb") as file:
        torch.save(value, file)


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, weights_only=True)
    return {"weights": state["weights"]}


class RunsCode:
    """A pickle that, when unpickled, creates ``path``: what a cache folder shared with
    someone malicious could hold."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


# ------------------------------------------------------------------ load_or_build itself

DAMAGES: dict[str, Callable[[Path], None]] = {
    "truncated": truncate,
    "empty": lambda path: path.write_bytes(b""),
    "garbage": lambda path: path.write_bytes(b"not a cache file\n" * 10),
    "another content": lambda path: save_tensors({"other": torch.zeros(1)}, path),
    "a pickle that runs code": lambda path: path.write_bytes(
        pickle.dumps(RunsCode(path.with_name("code-ran")))),
}


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch on the foreign pickle
def test_a_damaged_cache_file_is_named_removed_and_rebuilt(tmp_path, capsys, damage):
    path = tmp_path / "cache" / "weights.pt"
    build = Counted()
    first = load_or_build(path, build, save=save_tensors, load=load_tensors)
    original = path.read_bytes()
    DAMAGES[damage](path)
    again = load_or_build(path, build, save=save_tensors, load=load_tensors)
    lines = rebuild_lines(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0].startswith(f"cache file {path} is unreadable (")
    assert lines[0].endswith("): rebuilding it")
    assert build.calls == 2
    torch.testing.assert_close(again, first, rtol=0, atol=0)
    assert path.read_bytes() == original
    assert not (tmp_path / "cache" / "code-ran").exists()
    load_or_build(path, build, save=save_tensors, load=load_tensors)
    assert build.calls == 2 and capsys.readouterr().err == ""  # the rebuilt file is reused


def test_a_loader_that_cannot_read_a_fresh_build_raises_instead_of_looping(tmp_path):
    path = tmp_path / "value.json"
    path.write_text("{")
    builds = []

    def build() -> int:
        builds.append(1)
        return 1

    def broken_load(path: Path) -> int:
        return json.loads(path.read_text())["missing"]

    with pytest.raises(RuntimeError, match=r"value\.json was rebuilt but still cannot be read"):
        load_or_build(path, build, save=lambda v, p: p.write_text(json.dumps(v)),
                      load=broken_load)
    assert builds == [1]


def test_a_user_error_from_a_loader_is_not_taken_for_damage(tmp_path):
    path = tmp_path / "value.json"
    path.write_text("1")

    def refuse(path: Path) -> int:
        raise UserError("refused")

    with pytest.raises(UserError, match="refused"):
        load_or_build(path, lambda: 1, save=lambda v, p: None, load=refuse)
    assert path.read_text() == "1"


def test_an_unreadable_file_that_cannot_be_removed_is_a_user_error(tmp_path, capsys):
    path = tmp_path / "weights.pt"
    (path / "inside").mkdir(parents=True)  # a folder where the file should be
    with pytest.raises(UserError, match=rf"{re.escape(str(path))} is unreadable .* cannot be "
                                        rf"removed .*: delete {re.escape(str(path))} or"):
        load_or_build(path, Counted(), save=save_tensors, load=load_tensors)


# ------------------------------------------------------ multi-file dataset caches


@pytest.fixture(scope="module")
def built_caches(tmp_path_factory) -> Path:
    """The small scenes, media-folder and embeddings datasets, cached once in a folder the
    tests copy (and then damage) before use."""
    root = tmp_path_factory.mktemp("dataset-caches")
    inputs = tmp_path_factory.mktemp("dataset-inputs")
    cache = root / "cache"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANYBENCH_CACHE", str(cache))
        for dataset in datasets(inputs).values():
            dataset.load(progress=False)
    (root / "inputs").symlink_to(inputs)
    return root


def datasets(inputs: Path) -> dict[str, object]:
    """The three datasets whose caches are many files, by cache folder prefix."""
    media = inputs / "media"
    features = inputs / "features"
    if not media.exists():
        MediaFolder.small_example(media)
        PrecomputedEmbeddings.small_example(features)
    return {"scenes": Scenes(**Scenes.small_settings), "folder": MediaFolder(path=media),
            "embeddings": PrecomputedEmbeddings(path=features)}


def assert_same_splits(loaded: dict, expected: dict) -> None:
    for split, items in expected.items():
        for name, value in vars(items).items():
            other = getattr(loaded[split], name)
            if isinstance(value, dict):
                assert value.keys() == other.keys()
                for key in value:
                    np.testing.assert_array_equal(np.asarray(other[key]), np.asarray(value[key]))
            else:
                np.testing.assert_array_equal(np.asarray(other), np.asarray(value))


PARTS = [
    ("scenes", "train/images.npy"), ("scenes", "test/audio_pcm16.npy"),
    ("scenes", "train/attributes.npy"), ("scenes", "test/present.npy"),
    ("scenes", "train/captions.json"), ("scenes", "scenes.json"),
    ("folder", "train/audio.npy"), ("folder", "test/item_lines.npy"),
    ("folder", "test/captions.json"), ("folder", "folder.json"),
    ("embeddings", "train/image.npy"),  # memory-mapped: its size is checked when loading
    ("embeddings", "test/text.npy"), ("embeddings", "train/present.npy"),
    ("embeddings", "test/attributes.npy"), ("embeddings", "embeddings.json"),
]


@pytest.mark.parametrize(("kind", "part"), PARTS, ids=[f"{k}:{p}" for k, p in PARTS])
def test_a_damaged_dataset_file_is_named_and_the_dataset_rebuilt(
        built_caches, tmp_path, monkeypatch, capsys, kind, part):
    cache = tmp_path / "cache"
    shutil.copytree(built_caches / "cache", cache)
    monkeypatch.setenv("ANYBENCH_CACHE", str(cache))
    dataset = datasets(built_caches / "inputs")[kind]
    expected = dataset.load(progress=False)
    (folder,) = (cache / "datasets").glob(f"{kind}-*")
    before = snapshot(folder)
    truncate(folder / part)

    loaded = dataset.load(progress=False)

    lines = rebuild_lines(capsys.readouterr().err)
    marker = folder / f"{kind}.json"
    named = str(marker) if part == marker.name else f"{folder / part} (part of {marker})"
    assert len(lines) == 1 and lines[0].startswith(f"cache file {named} is unreadable (")
    assert_same_splits(loaded, expected)
    assert snapshot(folder) == before


# ------------------------------------------------------------------ reference rows


def tricky_rows() -> rows_module.ReferenceRows:
    """Rows with every kind of value a metric produces: NaN and infinite values, missing
    intervals, numpy scalars, per-item scores of several dtypes, odd metric ids."""
    return rows_module.ReferenceRows(
        oracle={
            "image.fid[judge:scenes-v1]": MetricValue(np.float64(4.6101), np.int64(100),
                                                      3.2571, 5.963),
            "image.attr_acc[judge:scenes-v1]": MetricValue(
                0.1 + 0.2, 100, 0.25, 0.5, per_sample=np.array([0.0, 1.0, 0.30000000000000004])),
            "text.clip[é/ü]": MetricValue(math.nan, 3, None, None,
                                          per_sample=np.array([1.5, np.nan, -np.inf],
                                                              dtype=np.float32)),
        },
        chance={"hits": MetricValue(np.float32(0.7), 4, -math.inf, math.inf,
                                    per_sample=np.array([True, False, True, True])),
                "ranks": MetricValue(2.0, 4, 1.0, 3.0,
                                     per_sample=np.arange(4, dtype=np.int64))},
        ceilings={},
        skipped={"oracle.fad": "needs an audio judge", "chance.kid": "n < 2"},
    )


def assert_identical_rows(loaded: rows_module.ReferenceRows,
                          original: rows_module.ReferenceRows) -> None:
    assert loaded.skipped == original.skipped
    for row in ("oracle", "chance", "ceilings"):
        mine, theirs = getattr(loaded, row), getattr(original, row)
        assert list(mine) == list(theirs)
        for metric, value in theirs.items():
            got = mine[metric]
            for name in ("value", "n", "ci_low", "ci_high"):
                np.testing.assert_equal(getattr(got, name), getattr(value, name))
            if value.per_sample is None:
                assert got.per_sample is None
            else:
                assert got.per_sample.dtype == value.per_sample.dtype
                np.testing.assert_array_equal(got.per_sample, value.per_sample)


def test_reference_rows_round_trip_exactly_through_a_file_without_pickles(tmp_path):
    original = tricky_rows()
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    rows_module._save_rows(original, first)
    rows_module._save_rows(original, second)
    assert first.read_bytes() == second.read_bytes()  # same rows, same bytes
    assert_identical_rows(rows_module._load_rows(first), original)
    with np.load(first, allow_pickle=False) as archive:  # every member reads without pickle
        assert all(archive[name].dtype != object for name in archive.files)


@pytest.fixture
def computed_rows(monkeypatch, tmp_path):
    """reference_rows() on a tmp cache, computing :func:`tricky_rows` (calls counted)."""
    monkeypatch.setenv("ANYBENCH_CACHE", str(tmp_path))
    calls = []

    def compute(task, seed, inputs, reference):
        calls.append(seed)
        return tricky_rows()

    monkeypatch.setattr(rows_module, "compute_reference_rows", compute)
    reference = SimpleNamespace(metrics=[METRICS.get("fid")])
    inputs = SimpleNamespace(dataset=SimpleNamespace(key=lambda: "scenes-0"))
    return calls, lambda: rows_module.reference_rows(
        parse_task("text2image"), 0, PROFILES.get("smoke"), "embedded", inputs, reference)


def test_truncated_reference_rows_are_named_and_recomputed(computed_rows, tmp_path, capsys):
    calls, rows = computed_rows
    rows()
    (path,) = (tmp_path / "reference_rows").glob("*.npz")
    original = path.read_bytes()
    truncate(path)
    assert_identical_rows(rows(), tricky_rows())
    lines = rebuild_lines(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0].startswith(f"cache file {path} is unreadable (")
    assert calls == [0, 0] and path.read_bytes() == original


def test_an_old_pickled_reference_rows_file_is_ignored(computed_rows, tmp_path):
    calls, rows = computed_rows
    rows()
    (path,) = (tmp_path / "reference_rows").glob("*.npz")
    path.unlink()
    ran = tmp_path / "code-ran"
    path.with_suffix(".pkl").write_bytes(pickle.dumps(RunsCode(ran)))
    assert_identical_rows(rows(), tricky_rows())
    assert calls == [0, 0] and not ran.exists()


# ----------------------------------------------- the smoke caches: judges, backbones, ...


@pytest.fixture
def smoke_copy(smoke_env, tmp_path, monkeypatch) -> Path:
    """A copy of the session's smoke caches (never damaged in place), as the cache root."""
    cache = tmp_path / "cache"
    shutil.copytree(smoke_env["ANYBENCH_CACHE"], cache)
    monkeypatch.setenv("ANYBENCH_CACHE", str(cache))
    return cache


def assert_rebuilt_identical(cache: Path, patterns: list[str], capsys) -> None:
    """Truncate the first file of ``cache`` matching each pattern, prepare the smoke inputs,
    and check that each file was named once and rebuilt byte for byte."""
    from benchmark.run.preparation import prepare_inputs

    damaged = [sorted(cache.glob(pattern))[0] for pattern in patterns]
    originals = {path: path.read_bytes() for path in damaged}
    for path in damaged:
        truncate(path)
    capsys.readouterr()

    prepare_inputs(PROFILES.get("smoke"), progress=False)

    lines = sorted(rebuild_lines(capsys.readouterr().err))
    assert len(lines) == len(damaged)
    for line, path in zip(lines, sorted(damaged, key=str), strict=True):
        assert line.startswith(f"cache file {path} is unreadable (")
    for path, content in originals.items():
        assert path.read_bytes() == content, path


def test_a_damaged_judge_and_embeddings_file_of_the_smoke_caches_are_rebuilt_identical(
        smoke_copy, capsys):
    """The cheapest weights to rebuild (the text judge) and an embeddings file."""
    assert_rebuilt_identical(smoke_copy, ["judges/text-*.pt", "embeddings/*.pt"], capsys)


@pytest.mark.slow  # four trainings: about a minute alone on 2 cores, several when busy
def test_every_kind_of_damaged_smoke_weights_is_rebuilt_identical(smoke_copy, capsys):
    assert_rebuilt_identical(smoke_copy, ["judges/image-*.pt", "contrastive_judges/image-*.pt",
                                          "backbones/audio-*.pt", "embeddings/*.pt"], capsys)


SMOKE_LOADERS: dict[str, Callable[[Path], object]] = {
    "judges/audio-*.pt": partial(attribute_judges._load_judge, "audio"),
    "contrastive_judges/text-image-*.pt": partial(
        contrastive_judges._load_judge, ("text", "image"), PROFILES.get("smoke").contrastive),
    "backbones/image-*.pt": backbones_module._load,
    "embeddings/*.pt": embeddings_module._load,
}
"""The loader of each kind of weights file in the smoke caches, by glob pattern."""


@pytest.mark.parametrize("pattern", SMOKE_LOADERS)
def test_each_weights_loader_fails_at_load_time_on_a_truncated_file(smoke_copy, pattern):
    """Each loader reads its smoke file, and raises on a truncated one an error that
    load_or_build takes for damage (so the file is named and rebuilt)."""
    load = SMOKE_LOADERS[pattern]
    path = sorted(smoke_copy.glob(pattern))[0]
    load(path)
    truncate(path)
    with pytest.raises(UNREADABLE_ERRORS):
        load(path)


def test_no_cache_file_is_a_pickle(smoke_env):
    """Every file of the smoke caches reads with torch's weights-only unpickler or numpy
    without pickles, or is JSON."""
    files = [p for p in Path(smoke_env["ANYBENCH_CACHE"]).rglob("*") if p.is_file()]
    assert {p.suffix for p in files} <= {".pt", ".npy", ".npz", ".json"}
    for path in files:
        if path.suffix == ".pt":
            torch.load(path, weights_only=True)
        elif path.suffix == ".npy":
            np.load(path, allow_pickle=False)
        elif path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                [archive[name] for name in archive.files]
        else:
            json.loads(path.read_text())


def test_every_torch_load_of_our_own_files_is_weights_only():
    """``torch.load(`` in benchmark/, methods/ and metrics/ always passes
    ``weights_only=True``, except for the released CLAP checkpoints a user names."""
    allowed = {Path("metrics/evaluators/pretrained_clap.py")}
    calls = []
    for package in ("benchmark", "methods", "metrics"):
        for source in sorted((ROOT / package).rglob("*.py")):
            if source.relative_to(ROOT) in allowed:
                continue
            text = source.read_text()
            for match in re.finditer(r"torch\.load\(", text):
                depth, end = 1, match.end()
                while depth:
                    depth += {"(": 1, ")": -1}.get(text[end], 0)
                    end += 1
                calls.append((source.name, text[match.start():end]))
    assert calls, "no torch.load found: the scan is broken"
    assert [call for call in calls if "weights_only=True" not in call[1]] == []


# ------------------------------------------------------------------------------ umask

WRITE_FILES = """
import sys
from pathlib import Path
import numpy as np
from benchmark.core.cache import atomic_path, load_or_build
from benchmark.results.records import write_per_sample
folder = Path(sys.argv[1])
with atomic_path(folder / "record.json", overwrite=False) as tmp:  # as write_record does
    tmp.write_text("{}")
write_per_sample("run", {"a": np.zeros(3)}, folder)
load_or_build(folder / "cache" / "value.json", lambda: 1,
              save=lambda value, path: path.write_text(str(value)), load=lambda path: 1)
"""


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)],
                         ids=["umask-022", "umask-027"])
def test_records_and_caches_are_written_with_the_users_umask(tmp_path, umask, mode):
    subprocess.run(
        ["sh", "-c", f'umask {umask:03o} && exec "$0" -c "$1" "$2"', sys.executable,
         WRITE_FILES, str(tmp_path)],
        check=True, cwd=ROOT, timeout=120,
    )
    written = [tmp_path / "record.json", tmp_path / "run.per_sample.npz",
               tmp_path / "cache" / "value.json"]
    assert {path.name: oct(path.stat().st_mode & 0o777) for path in written} == {
        path.name: oct(mode) for path in written}
    assert not [p for p in tmp_path.rglob(".*.tmp")]  # no temporary file left behind

