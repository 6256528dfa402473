"""The precomputed-embeddings dataset: its folder format, its checks, its key, the writer,
and the FlowBind ``.npz`` importer."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from benchmark.core.errors import UserError
from benchmark.core.feature_split import FeatureSplit
from benchmark.core.modalities import MODALITIES
from benchmark.data.embeddings import PrecomputedEmbeddings, write_embeddings_folder
from benchmark.data.embeddings.flowbind_npz import import_flowbind_npz
from benchmark.data.manifest import BadData, read_manifest

WIDTHS = {"text": 12, "image": 16, "audio": 10}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("ANYBENCH_CACHE", str(folder))
    return folder


@pytest.fixture
def example(tmp_path: Path, cache: Path) -> Path:
    """The small example, written into a fresh folder."""
    folder = tmp_path / "My Feats_v2"
    assert PrecomputedEmbeddings.small_example(folder) == {"path": str(folder)}
    return folder


def edit_array(folder: Path, name: str, change: Callable[[np.ndarray], np.ndarray]) -> None:
    np.save(folder / name, change(np.load(folder / name)))


# ------------------------------------------------------------------------ the example


def test_the_small_example_loads_with_the_documented_shapes(example: Path) -> None:
    splits = PrecomputedEmbeddings(path=example).load(progress=False)
    assert tuple(splits) == ("train", "test")
    train, test = splits["train"], splits["test"]
    assert (len(train), len(test)) == (120, 30)
    for split in (train, test):
        assert isinstance(split, FeatureSplit)
        assert split.dims() == WIDTHS
        assert split.present.dtype == bool and split.present.shape == (len(split), 3)
        assert split.attributes.dtype == np.int64 and split.attributes.shape == (len(split), 1)
        assert (split.attribute_names, split.attribute_sizes) == (("sign",), (2,))
        for j, m in enumerate(MODALITIES):
            x = split.embeddings[m]
            assert x.dtype == np.float32
            assert not x[~split.present[:, j]].any()
            assert np.isfinite(x).all()
    assert test.present.all()
    patterns = {tuple(row): int(n) for row, n in
                zip(*np.unique(train.present, axis=0, return_counts=True), strict=True)}
    assert patterns == {(True, True, False): 36, (True, False, True): 36,
                        (False, True, True): 36, (True, True, True): 12}


def test_the_example_plants_a_linear_relation(example: Path) -> None:
    train = PrecomputedEmbeddings(path=example).load(progress=False)["train"]
    both = train.has("text") & train.has("image")
    x, y = train.embeddings["text"][both], train.embeddings["image"][both]
    design = np.c_[x, np.ones(len(x))]
    residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    assert (residual ** 2).sum() / ((y - y.mean(0)) ** 2).sum() < 0.1  # R^2 > 0.9


def test_settings_version_and_embedding_dims(example: Path) -> None:
    dataset = PrecomputedEmbeddings(path=example)
    assert (dataset.name, dataset.kind) == ("embeddings", "embeddings")
    assert dataset.settings() == {"path": str(example.resolve())}
    assert re.fullmatch(r"my-feats-v2-[0-9a-f]{8}", dataset.version)
    assert dataset.version.endswith(dataset.key()[:8])
    assert dataset.embedding_dims() == WIDTHS
    assert PrecomputedEmbeddings(**dataset.settings()).key() == dataset.key()


def test_an_unknown_or_missing_setting_is_a_user_error(example: Path) -> None:
    with pytest.raises(UserError, match="unknown embeddings setting 'pth': did you mean 'path'"):
        PrecomputedEmbeddings(pth=example)
    with pytest.raises(UserError, match="needs a path setting"):
        PrecomputedEmbeddings()
    with pytest.raises(BadData, match="not a folder"):
        PrecomputedEmbeddings(path=example / "manifest.jsonl")


def test_loading_again_reads_the_cache(example: Path, cache: Path) -> None:
    first = PrecomputedEmbeddings(path=example).load(progress=False)
    assert len(list((cache / "datasets").glob("embeddings-*/embeddings.json"))) == 1
    again = PrecomputedEmbeddings(path=example).load(progress=False)
    for split in first:
        a, b = first[split], again[split]
        for m in MODALITIES:
            assert b.embeddings[m].dtype == np.float32
            np.testing.assert_array_equal(a.embeddings[m], b.embeddings[m])
        np.testing.assert_array_equal(a.present, b.present)
        np.testing.assert_array_equal(a.attributes, b.attributes)
        assert (a.attribute_names, a.attribute_sizes) == (b.attribute_names, b.attribute_sizes)


# ---------------------------------------------------------------------------- the key


def test_the_key_is_the_content(example: Path, tmp_path: Path) -> None:
    key = PrecomputedEmbeddings(path=example).key()
    assert PrecomputedEmbeddings(path=example).key() == key
    copy = tmp_path / "elsewhere"
    shutil.copytree(example, copy)
    assert PrecomputedEmbeddings(path=copy).key() == key
    content = bytearray((copy / "test.audio.npy").read_bytes())
    content[-1] ^= 1
    (copy / "test.audio.npy").write_bytes(bytes(content))
    changed = PrecomputedEmbeddings(path=copy)
    assert changed.key() != key
    assert changed.version != PrecomputedEmbeddings(path=example).version


def test_float16_and_float64_arrays_load_as_float32(example: Path) -> None:
    original = np.load(example / "train.image.npy")
    key = PrecomputedEmbeddings(path=example).key()
    np.save(example / "train.image.npy", original.astype(np.float16))
    np.save(example / "test.image.npy", np.load(example / "test.image.npy").astype(np.float64))
    dataset = PrecomputedEmbeddings(path=example)
    assert dataset.key() != key
    splits = dataset.load(progress=False)
    np.testing.assert_array_equal(splits["train"].embeddings["image"],
                                  original.astype(np.float16).astype(np.float32))
    assert splits["test"].embeddings["image"].dtype == np.float32


def test_rows_of_absent_items_are_ignored(example: Path) -> None:
    train = PrecomputedEmbeddings(path=example).load(progress=False)["train"]
    absent = ~train.has("text")

    def spoil(x: np.ndarray) -> np.ndarray:
        x[absent] = np.nan
        return x

    edit_array(example, "train.text.npy", spoil)
    again = PrecomputedEmbeddings(path=example).load(progress=False)["train"]
    np.testing.assert_array_equal(again.embeddings["text"], train.embeddings["text"])


# ------------------------------------------------------------------------- bad data


def drop_audio_flags_of_training_items(folder: Path) -> None:
    lines = (folder / "manifest.jsonl").read_text().splitlines()
    kept = [line.replace(', "audio": true', "") if '"split": "train"' in line else line
            for line in lines]
    (folder / "manifest.jsonl").write_text("\n".join(kept) + "\n")


def nan_in_present_and_absent_rows(x: np.ndarray) -> np.ndarray:
    x[0], x[11] = np.nan, np.inf  # items 0 and 11 have text (lines 1 and 12)
    x[6] = np.nan                 # item 6 has image and audio only: ignored
    return x


def beyond_float32(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    x[2, 0] = 1e300  # test item 2: line 120 + 3
    return x


BREAKERS: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing array": (lambda f: (f / "train.audio.npy").unlink(),
                      r'no train\.audio\.npy for the items marked "audio": true on 84 lines '
                      r"\(lines 4, 5, 6, 7, 8, \.\.\.\)"),
    "not an array": (lambda f: (f / "train.text.npy").write_bytes(b"not numpy"),
                     r"train\.text\.npy: not a readable \.npy array"),
    "not 2-D": (lambda f: edit_array(f, "train.text.npy", lambda x: x[:, 0]),
                r"train\.text\.npy: an array of shape \[120\]"),
    "3-D": (lambda f: edit_array(f, "test.text.npy", lambda x: x[:, :, None]),
            r"test\.text\.npy: an array of shape \[30, 12, 1\]"),
    "rows": (lambda f: edit_array(f, "train.image.npy", lambda x: x[:-1]),
             r"train\.image\.npy: 119 rows for the 120 train items of the manifest"),
    "dimension": (lambda f: edit_array(f, "test.image.npy", lambda x: x[:, :15]),
                  r"test\.image\.npy: dimension 15, but train\.image\.npy has 16"),
    "nan": (lambda f: edit_array(f, "train.text.npy", nan_in_present_and_absent_rows),
            r"manifest\.jsonl: NaN or infinite values \(as float32\) in the train\.text\.npy "
            r"rows of the items on 2 lines \(lines 1, 12\)"),
    "overflow": (lambda f: edit_array(f, "test.audio.npy", beyond_float32),
                 r"NaN or infinite values \(as float32\) in the test\.audio\.npy rows of the "
                 r"items on 1 line \(line 123\)"),
    "not float": (lambda f: edit_array(f, "train.audio.npy", lambda x: x.astype(np.int32)),
                  r"train\.audio\.npy: dtype int32: save the embeddings as float16"),
    "manifest": (lambda f: (f / "manifest.jsonl").open("a").write("[1, 2]\n"),
                 r"a line that is not a JSON object on 1 line \(line 151\)"),
    "no test items": (lambda f: (f / "manifest.jsonl").write_text(
        (f / "manifest.jsonl").read_text().replace('"split": "test"', '"split": "train"')),
        r"no test items"),
    "a modality without training items": (
        drop_audio_flags_of_training_items,
        r"no training item has audio: anybench needs all three modalities"),
}


@pytest.mark.parametrize("kind", BREAKERS)
def test_bad_data_is_one_line_and_caches_nothing(kind: str, example: Path, cache: Path) -> None:
    breaker, message = BREAKERS[kind]
    breaker(example)
    dataset = PrecomputedEmbeddings(path=example)
    with pytest.raises(BadData, match=message) as raised:
        dataset.load(progress=False)
    assert "\n" not in str(raised.value)
    assert not (cache / "datasets").exists()


# ------------------------------------------------------------------------- the writer


def random_split(n: int, seed: int, labels: bool = True) -> FeatureSplit:
    rng = np.random.default_rng(seed)
    present = rng.random((n, 3)) < 0.7
    present[np.arange(n), np.arange(n) % 3] = True
    return FeatureSplit({m: rng.normal(size=(n, WIDTHS[m])).astype(np.float32)
                         * present[:, [j]] for j, m in enumerate(MODALITIES)},
                        present, rng.integers(0, 3, (n, 1)) if labels else np.zeros((n, 0), int),
                        ("colour",) if labels else (), (3,) if labels else ())


def test_written_folders_read_back(tmp_path: Path, cache: Path) -> None:
    splits = {"train": random_split(20, 0), "test": random_split(6, 1)}
    splits["test"].present[:] = True
    ids = {"train": [f"a{i}" for i in range(20)], "test": [f"b{i}" for i in range(6)]}
    write_embeddings_folder(tmp_path / "out", splits, ids, {"colour": ["red", "green", "blue"]})
    loaded = PrecomputedEmbeddings(path=tmp_path / "out").load(progress=False)
    manifest = read_manifest(tmp_path / "out", "flags")
    for name, split in splits.items():
        assert [item.id for item in manifest.split(name)] == ids[name]
        np.testing.assert_array_equal(loaded[name].present, split.present)
        for m in MODALITIES:
            np.testing.assert_array_equal(loaded[name].embeddings[m], split.embeddings[m])
        # values are numbered in sorted order: blue 0, green 1, red 2
        np.testing.assert_array_equal(loaded[name].attributes, 2 - split.attributes)


def test_the_writer_refuses_a_non_empty_folder_and_leaves_nothing_on_failure(
        tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep").write_text("")
    with pytest.raises(UserError, match="not an empty folder"):
        write_embeddings_folder(out, {"train": random_split(4, 0)})
    broken = random_split(4, 0)
    del broken.embeddings["audio"]
    with pytest.raises(KeyError):
        write_embeddings_folder(tmp_path / "new", {"train": broken})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with pytest.raises(ValueError, match="3 ids for 4 train items"):
        write_embeddings_folder(tmp_path / "new", {"train": random_split(4, 0)},
                                {"train": ["a", "b", "c"]})


# ----------------------------------------------------------------------- the importer

FLOWBIND_DIM = 768
PATTERNS = ({"text", "image"}, {"text", "audio"}, {"image", "audio"},
            {"text", "image", "audio"})


def flowbind_folder(folder: Path, n: int, seed: int, dims: dict[str, int] | None = None
                    ) -> dict[str, dict[str, np.ndarray]]:
    """``n`` FlowBind-style files ``0.npz``..; item ``i`` holds the modalities of
    ``PATTERNS[i % 4]`` as random float32 vectors (every third as ``[1, D]``); item 5 also
    holds an unknown key. Returns ``{stem: {modality: vector}}``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    items = {}
    for i in range(n):
        vectors = {m: rng.normal(size=(dims or {}).get(m, FLOWBIND_DIM)).astype(np.float32)
                   for m in sorted(PATTERNS[i % len(PATTERNS)])}
        stored = {m: v[None] if i % 3 == 0 else v for m, v in vectors.items()}
        if i == 5:
            stored["token_ids"] = np.arange(7)
        np.savez(folder / f"{i}.npz", **stored)
        items[str(i)] = vectors
    return items


def check_round_trip(out: Path, items: dict[str, dict[str, np.ndarray]]) -> None:
    """Every present vector loads bit for bit; presence is key presence."""
    splits = PrecomputedEmbeddings(path=out).load(progress=False)
    manifest = read_manifest(out, "flags")
    for name, split in splits.items():
        for row, item in enumerate(manifest.split(name)):
            vectors = items[item.id]
            assert {m for m in MODALITIES if split.present[row, MODALITIES.index(m)]} == set(
                vectors)
            for m, vector in vectors.items():
                assert np.array_equal(split.embeddings[m][row].view(np.uint32),
                                      vector.view(np.uint32))


def test_a_flowbind_folder_round_trips(tmp_path: Path, cache: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    items = flowbind_folder(tmp_path / "feats" / "demo", 24, seed=0)
    counts = import_flowbind_npz(tmp_path / "feats" / "demo", tmp_path / "out",
                                 test_fraction=0.35, progress=False)
    assert counts == {"train": 22, "test": 2}  # round(0.35 * 6 triplets) = 2
    assert "ignored keys other than text, image, audio: token_ids (1 file)" in (
        capsys.readouterr().err)
    manifest = read_manifest(tmp_path / "out", "flags")
    train_ids = [int(item.id) for item in manifest.split("train")]
    assert train_ids == sorted(train_ids) and 10 in train_ids  # numeric order: 9 before 10
    assert all(int(item.id) % 4 == 3 for item in manifest.split("test"))
    check_round_trip(tmp_path / "out", items)
    import_flowbind_npz(tmp_path / "feats" / "demo", tmp_path / "again", test_fraction=0.35,
                        progress=False)
    assert (tmp_path / "again" / "manifest.jsonl").read_bytes() == (
        tmp_path / "out" / "manifest.jsonl").read_bytes()


def test_a_separate_test_folder_gives_the_test_items(tmp_path: Path, cache: Path) -> None:
    items = flowbind_folder(tmp_path / "train", 12, seed=0)
    tests = flowbind_folder(tmp_path / "test", 8, seed=1)
    counts = import_flowbind_npz(tmp_path / "train", tmp_path / "out",
                                 test_source=tmp_path / "test", progress=False)
    assert counts == {"train": 12, "test": 8}
    manifest = read_manifest(tmp_path / "out", "flags")
    assert [item.id for item in manifest.split("test")] == [f"test/{i}" for i in range(8)]
    check_round_trip(tmp_path / "out", {**items, **{f"test/{k}": v for k, v in tests.items()}})


def save_npz(path: Path, **entries: np.ndarray) -> None:
    np.savez(path, **entries)


IMPORT_ERRORS: dict[str, tuple[Callable[[Path], None], str]] = {
    "no known key": (lambda f: save_npz(f / "3.npz", caption=np.ones(4, np.float32)),
                     r"none of the keys text, image, audio in 1 file\(s\) \(3\.npz\)"),
    "other dimension": (lambda f: save_npz(f / "7.npz", image=np.ones(512, np.float32)),
                        r"image vectors whose dimension is not 768 \(as in src/0\.npz\) in "
                        r"1 file\(s\) \(7\.npz\)"),
    "not a vector": (lambda f: save_npz(f / "2.npz", text=np.ones((2, 768), np.float32)),
                     r"text entries that are not float vectors \[D\] or \[1, D\] in 1 "
                     r"file\(s\) \(2\.npz\)"),
    "not float": (lambda f: save_npz(f / "2.npz", text=np.ones(768, np.int64)),
                  r"text entries that are not float vectors"),
    "not finite": (lambda f: save_npz(f / "4.npz", audio=np.full(768, np.nan, np.float32)),
                   r"NaN or infinite values \(as float32\) in audio vectors in 1 file"),
    "not an archive": (lambda f: (f / "5.npz").write_bytes(b"junk"),
                       r"not a readable \.npz archive in 1 file\(s\) \(5\.npz\)"),
    "no triplets": (lambda f: [(f / f"{i}.npz").unlink() for i in (3, 7, 11)],
                    r"no test items: 0 of the 9 items hold text, image and audio"),
    "a modality no item has": (
        lambda f: [save_npz(f / f"{i}.npz", text=np.ones(768, np.float32)) for i in range(12)],
        r"no file has image or audio: anybench needs all three modalities"),
    "a non-empty output": (lambda f: (f.parent / "out").mkdir() or (
        f.parent / "out" / "x").write_text(""), r"out exists and is not an empty folder"),
}


@pytest.mark.parametrize("kind", IMPORT_ERRORS)
def test_importer_errors_name_the_files(kind: str, tmp_path: Path) -> None:
    flowbind_folder(tmp_path / "src", 12, seed=0)
    breaker, message = IMPORT_ERRORS[kind]
    breaker(tmp_path / "src")
    with pytest.raises(UserError, match=message) as raised:
        import_flowbind_npz(tmp_path / "src", tmp_path / "out", progress=False)
    assert "\n" not in str(raised.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["src"] + (["out"] if kind == "a non-empty output" else []))


def test_importer_refuses_what_is_not_a_feature_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is not a folder"):
        import_flowbind_npz(tmp_path / "missing", tmp_path / "out", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"holds no \.npz files"):
        import_flowbind_npz(tmp_path / "empty", tmp_path / "out", progress=False)
    flowbind_folder(tmp_path / "src", 12, seed=0)
    for fraction in (0.0, 1.0, 1.5):
        with pytest.raises(UserError, match="between 0 and 1"):
            import_flowbind_npz(tmp_path / "src", tmp_path / "out", test_fraction=fraction,
                                progress=False)
    flowbind_folder(tmp_path / "narrow", 4, seed=1, dims={"image": 512})
    with pytest.raises(UserError, match=r"narrow: image vectors whose dimension is not 768 "
                                        r"\(as in src/0\.npz\)"):
        import_flowbind_npz(tmp_path / "src", tmp_path / "out", test_source=tmp_path / "narrow",
                            progress=False)
    assert not (tmp_path / "out").exists()
