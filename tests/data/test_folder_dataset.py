"""The paired media folder dataset (``folder``) and the export that writes one.

Round trip: scenes exported and loaded back is bit-identical. Formats: images of any mode
and size, audio of any rate, channel count and length, at the set shapes. Key: content, not
place. Cache: a second load decodes nothing. Bad data: one BadData line naming the problem
and its lines, and no cache left behind.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from PIL import Image

from benchmark.core.errors import UserError
from benchmark.data import export as export_module
from benchmark.data.dataset import SPLITS
from benchmark.data.export import export_media_folder
from benchmark.data.folder import MediaFolder, decoding
from benchmark.data.folder import dataset as folder_dataset
from benchmark.data.manifest import MANIFEST, BadData
from benchmark.data.scenes import Scenes


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ANYBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def cached_folders(cache: Path) -> list[Path]:
    return sorted((cache / "datasets").glob("folder-*"))


def write_folder(folder: Path, records: list[dict[str, Any] | str]) -> Path:
    """``manifest.jsonl`` of ``records`` (a string is written as the line itself), with a
    small valid PNG or WAV written for every ``img/<n>.png`` or ``wav/<n>.wav`` not already
    there."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for record in records:
        lines.append(record if isinstance(record, str) else json.dumps(record))
        if isinstance(record, str):
            continue
        for field in ("image", "audio"):
            value = record.get(field)
            if not isinstance(value, str) or not Path(value).stem.isdigit():
                continue
            path = folder / value
            if path.exists():
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if field == "image":
                Image.new("RGB", (8, 8), (200, 30, 30)).save(path)
            else:
                soundfile.write(path, np.full(800, 0.25), 8_000, subtype="PCM_16")
    (folder / MANIFEST).write_text("\n".join(lines) + "\n")
    return folder


def item(index: int, split: str = "train", **fields: Any) -> dict[str, Any]:
    """A full triplet with a label, overridden by ``fields`` (``None`` drops a field)."""
    record = {"id": f"{split}-{index}", "split": split, "text": f"item {index}",
              "image": f"img/{index}.png", "audio": f"wav/{index}.wav",
              "labels": {"kind": "a" if index % 2 else "b"}}
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


def valid_records() -> list[dict[str, Any]]:
    """Lines 1-4 train, 5-6 test."""
    return [item(i) for i in range(4)] + [item(i, "test") for i in range(4, 6)]


# ------------------------------------------------------------------------------ round trip


def test_exported_scenes_load_back_bit_identical(tmp_path: Path) -> None:
    scenes = Scenes(n_train=60, n_test=20)
    original = scenes.load(progress=False)
    count = export_media_folder(original, tmp_path / "scenes", progress=False)
    assert count == 80
    config = scenes.config
    loaded = MediaFolder(path=tmp_path / "scenes", image_size=config.image_size,
                         sample_rate=config.sample_rate, duration_s=config.duration_s
                         ).load(progress=False)
    assert tuple(loaded) == SPLITS
    for split in SPLITS:
        a, b = original[split], loaded[split]
        for field in ("attributes", "present", "images", "audio"):
            x, y = getattr(a, field), getattr(b, field)
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(x, y)
        assert a.captions == b.captions
        assert (a.attribute_names, a.attribute_sizes, a.sample_rate) == (
            b.attribute_names, b.attribute_sizes, b.sample_rate)
    assert loaded["test"].item_lines.tolist() == list(range(61, 81))


def test_export_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    split = Scenes(n_train=3, n_test=3).load(progress=False)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep me")
    with pytest.raises(UserError, match="not an empty folder"):
        export_media_folder(split, tmp_path / "full", progress=False)
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["mine.txt"]
    (tmp_path / "empty").mkdir()
    assert export_media_folder(split, tmp_path / "empty", progress=False) == 6


def test_a_failed_export_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    split = Scenes(n_train=3, n_test=3).load(progress=False)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(export_module.soundfile, "write", broken)
    with pytest.raises(OSError, match="disk full"):
        export_media_folder(split, tmp_path / "exports" / "out", progress=False)
    assert list((tmp_path / "exports").iterdir()) == []


# ------------------------------------------------------------------------------ formats


def test_any_image_mode_and_size_loads_as_square_rgb(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("L", (50, 30), 90).save(folder / "grey.png")
    rgba = Image.new("RGBA", (20, 20), (0, 0, 255, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 20, 10))  # the top half fully transparent
    rgba.save(folder / "rgba.png")
    Image.new("RGB", (64, 48), (10, 200, 30)).convert("P").save(folder / "palette.png")
    Image.fromarray(np.full((40, 40), 257 * 100, dtype=np.uint16)).save(folder / "deep.png")
    Image.new("RGB", (16, 16), (1, 2, 3)).save(folder / "exact.jpg", quality=95)
    names = ["grey", "rgba", "palette", "deep"]
    write_folder(folder, [item(i, image=f"{name}.png", audio=None, text=None)
                          for i, name in enumerate(names)]
                 + [item(9, "test", image="exact.jpg")])
    loaded = MediaFolder(path=folder, image_size=16).load(progress=False)
    images = loaded["train"].images
    assert images.shape == (4, 16, 16, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[0], 90)  # grey -> R = G = B
    np.testing.assert_array_equal(images[1, :6], 255)  # transparent -> white
    assert (images[1, -6:] == [0, 0, 255]).all()
    assert np.abs(images[2].astype(int) - [10, 200, 30]).max() <= 8  # palette quantisation
    np.testing.assert_array_equal(images[3], 100)  # 16-bit grey / 257
    assert loaded["train"].present[:, 1].all() and not loaded["train"].present[:, 2].any()


def test_any_audio_rate_channels_and_length_loads_as_mono_clips(tmp_path: Path) -> None:
    folder = tmp_path / "audio"
    folder.mkdir()
    t = np.arange(int(16_000 * 1.3)) / 16_000
    tone = 0.6 * np.sin(2 * np.pi * 440 * t)
    # Left: a 440 Hz tone; right: silence, so the mono mix is half the tone.
    soundfile.write(folder / "stereo.wav", np.stack([tone, 0 * tone], axis=1), 16_000,
                    subtype="PCM_16")
    above_nyquist = 0.6 * np.sin(2 * np.pi * 6_000 * t)  # above 4 kHz: filtered out
    soundfile.write(folder / "alias.wav", above_nyquist, 16_000, subtype="FLOAT")
    short = np.full(int(44_100 * 0.2), 0.5)
    soundfile.write(folder / "short.flac", short, 44_100, subtype="PCM_24")
    loud = np.full(400, 1.0)
    soundfile.write(folder / "loud.wav", loud * 1.5, 8_000, subtype="FLOAT")
    names = ["stereo.wav", "alias.wav", "short.flac", "loud.wav"]
    write_folder(folder, [item(i, audio=name, image=None) for i, name in enumerate(names)]
                 + [item(9, "test")])
    audio = MediaFolder(path=folder, sample_rate=8_000, duration_s=0.5
                        ).load(progress=False)["train"].audio
    assert audio.shape == (4, 4_000) and audio.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(audio[0]))
    assert np.argmax(spectrum) * 8_000 / 4_000 == 440
    assert abs(np.abs(audio[0, 500:3500]).max() - 0.3) < 0.01
    assert np.sqrt(np.mean(audio[1, 500:3500] ** 2)) < 0.01
    assert abs(audio[2, 200:1400].mean() - 0.5) < 0.01
    np.testing.assert_array_equal(audio[2, 1700:], 0.0)  # 0.2 s, zero-padded to 0.5 s
    np.testing.assert_array_equal(audio[3, :300], 1.0)  # clipped
    assert np.abs(audio).max() <= 1.0


def test_16_bit_pcm_reads_as_pcm_over_32767(tmp_path: Path) -> None:
    pcm = np.array([32767, -32767, 1, -1, 0, 12345] * 100, dtype=np.int16)
    folder = tmp_path / "pcm"
    (folder / "wav").mkdir(parents=True)
    soundfile.write(folder / "wav" / "9.wav", pcm, 8_000, subtype="PCM_16")
    write_folder(folder, [item(9, "test")])
    test = MediaFolder(path=folder, duration_s=600 / 8_000).load(progress=False)["test"]
    np.testing.assert_array_equal(test.audio[0], pcm.astype(np.float32) / np.float32(32767))


def test_missing_modalities_and_labels_load_empty(tmp_path: Path) -> None:
    records = [item(0, text=None), item(1, image=None, labels=None), item(2, audio=None),
               item(3, "test")]
    train = MediaFolder(path=write_folder(tmp_path / "f", records)).load(progress=False)["train"]
    assert train.present.tolist() == [[False, True, True], [True, False, True],
                                      [True, True, False]]
    assert train.captions == ["", "item 1", "item 2"]
    assert not train.images[1].any() and not train.audio[2].any()
    assert train.attributes.tolist() == [[1], [-1], [1]]
    assert (train.attribute_names, train.attribute_sizes) == (("kind",), (2,))


def test_the_small_example_loads(tmp_path: Path) -> None:
    splits = MediaFolder(**MediaFolder.small_example(tmp_path / "example")).load(progress=False)
    train, test = splits["train"], splits["test"]
    assert (len(train), len(test)) == (40, 12)
    assert test.present.all() and not train.present.all()
    assert (train.attributes >= 0).all() and train.attribute_names == ("colour",)
    assert test.audio.any(axis=1).all() and test.images.reshape(12, -1).any(axis=1).all()


# ------------------------------------------------------------------------------ settings


def test_settings_rebuild_the_dataset_and_unknown_ones_are_refused(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "My Pets!", valid_records())
    dataset = MediaFolder(path=folder, image_size=24)
    assert dataset.settings() == {"path": str(folder.resolve()), "image_size": 24,
                                  "sample_rate": 8_000, "duration_s": 0.75}
    assert MediaFolder(**dataset.settings()).key() == dataset.key()
    assert dataset.version == f"my-pets-{dataset.key()[:8]}"
    with pytest.raises(UserError, match="did you mean 'image_size'"):
        MediaFolder(path=folder, imagesize=24)
    with pytest.raises(UserError, match="path"):
        MediaFolder()
    with pytest.raises(UserError, match="sample_rate"):
        MediaFolder(path=folder, sample_rate=0)


# ------------------------------------------------------------------------------ key, cache


def test_the_key_follows_the_content_not_the_place(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "a", valid_records())
    key = MediaFolder(path=folder).key()
    copy = shutil.copytree(folder, tmp_path / "elsewhere" / "b")
    assert MediaFolder(path=copy).key() == key
    assert MediaFolder(path=folder, duration_s=0.5).key() != key

    image = folder / "img" / "2.png"
    pixels = np.asarray(Image.open(image)).copy()
    pixels[0, 0, 0] += 1
    Image.fromarray(pixels).save(image)
    changed_image = MediaFolder(path=folder).key()
    assert changed_image != key

    records = valid_records()
    records[0]["text"] = "another caption"
    write_folder(folder, records)
    assert MediaFolder(path=folder).key() not in (key, changed_image)


def test_a_second_load_reads_the_cache(tmp_path: Path, cache: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_folder(tmp_path / "f", valid_records())
    first = MediaFolder(path=folder).load(progress=False)
    assert [p.name for p in cached_folders(cache)] == [f"folder-{MediaFolder(path=folder).key()}"]

    def no_decoding(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("decoded again")

    monkeypatch.setattr(folder_dataset, "decode_media", no_decoding)
    again = MediaFolder(path=folder).load(progress=False)
    for split in SPLITS:
        for field in ("attributes", "present", "images", "audio", "item_lines"):
            np.testing.assert_array_equal(getattr(first[split], field),
                                          getattr(again[split], field))
        assert first[split].captions == again[split].captions
        assert first[split].attribute_names == again[split].attribute_names


def test_worker_processes_decode_the_same_arrays(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "scenes"
    export_media_folder(Scenes(n_train=60, n_test=20).load(progress=False), folder,
                        progress=False)
    here = MediaFolder(path=folder).load(progress=False)
    monkeypatch.setenv("ANYBENCH_CACHE", str(tmp_path / "another-cache"))
    monkeypatch.setenv("ANYBENCH_WORKERS", "2")
    monkeypatch.setattr(decoding, "CHUNK", 8)
    monkeypatch.setattr(decoding, "POOL_WORTH_S", 0.0)
    pooled = MediaFolder(path=folder).load(progress=False)
    for split in SPLITS:
        np.testing.assert_array_equal(here[split].images, pooled[split].images)
        np.testing.assert_array_equal(here[split].audio, pooled[split].audio)
    (folder / "audio" / "test-000019.wav").write_bytes(b"not audio")
    (folder / "images" / "train-000030.png").write_bytes(b"not an image")
    (folder / "images" / "train-000057.png").write_bytes(b"not an image")
    with pytest.raises(BadData, match=r"image that cannot be decoded on 2 lines \(lines 31, 58\)"):
        MediaFolder(path=folder).load(progress=False)


# ------------------------------------------------------------------------------ bad data


def _garbage(name: str) -> Any:
    """Records whose item 2 (line 3) and test item 5 (line 6) name a file holding junk."""
    def records(folder: Path) -> list[dict[str, Any]]:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"\x00junk" * 10)
        rows = valid_records()
        field = "image" if name.endswith(".png") else "audio"
        rows[2][field] = rows[5][field] = name
        return rows
    return records


def _empty_audio(folder: Path) -> list[dict[str, Any]]:
    folder.mkdir(parents=True, exist_ok=True)
    soundfile.write(folder / "empty.wav", np.zeros(0), 8_000, subtype="PCM_16")
    rows = valid_records()
    rows[2]["audio"] = rows[5]["audio"] = "empty.wav"
    return rows


def _edit(line: int, **fields: Any) -> Any:
    """Valid records with ``fields`` set on 1-based ``line`` (a string: the raw line)."""
    def records(folder: Path) -> list[dict[str, Any] | str]:
        rows: list[dict[str, Any] | str] = list(valid_records())
        if "raw" in fields:
            rows[line - 1] = fields["raw"]
        else:
            rows[line - 1] = {**rows[line - 1], **fields}
        return rows
    return records


def _missing(folder: Path) -> list[dict[str, Any]]:
    rows = valid_records()
    rows[1]["image"], rows[4]["audio"] = "img/nowhere.png", "wav/nowhere.wav"
    return rows


BAD_DATA = {
    "missing file": (_missing, "a media file that does not exist", [2, 5]),
    "unreadable image": (_garbage("junk.png"), "an image that cannot be decoded", [3, 6]),
    "unreadable audio": (_garbage("junk.wav"), "an audio file that cannot be decoded", [3, 6]),
    "audio without samples": (_empty_audio, "an audio file with no samples", [3, 6]),
    "empty caption": (_edit(2, text="  "), "an empty or non-string caption", [2]),
    "non-string caption": (_edit(4, text=7), "an empty or non-string caption", [4]),
    "unknown split": (_edit(3, split="validation"), "an unknown split", [3]),
    "duplicate id": (_edit(4, id="train-0"), "a duplicate id", [4]),
    "float label": (_edit(2, labels={"kind": 1.5}), "a label that is not a string", [2]),
    "list label": (_edit(3, labels={"kind": ["a"]}), "a label that is not a string", [3]),
    "path outside": (_edit(2, image="../secret.png"), "outside the folder", [2]),
    "absolute path": (_edit(3, audio="/etc/passwd"), "outside the folder", [3]),
    "not json": (_edit(2, raw="{not json"), "not a JSON object", [2]),
}


@pytest.mark.parametrize("case", BAD_DATA, ids=list(BAD_DATA))
def test_bad_data_names_the_problem_and_lines_and_caches_nothing(
        case: str, tmp_path: Path, cache: Path) -> None:
    make, problem, lines = BAD_DATA[case]
    folder = tmp_path / "bad"
    write_folder(folder, make(folder))
    with pytest.raises(BadData) as raised:
        MediaFolder(path=folder).load(progress=False)
    message = str(raised.value)
    noun = "line" if len(lines) == 1 else "lines"
    assert problem in message
    assert f"on {len(lines)} {noun} ({noun} {', '.join(map(str, lines))})" in message
    assert cached_folders(cache) == []


def test_no_test_items_is_bad_data(tmp_path: Path, cache: Path) -> None:
    folder = write_folder(tmp_path / "f", [item(i) for i in range(3)])
    with pytest.raises(BadData, match="no test items"):
        MediaFolder(path=folder).load(progress=False)
    assert cached_folders(cache) == []


def test_every_bad_file_is_reported_before_raising(tmp_path: Path, cache: Path) -> None:
    rows = [item(i) for i in range(150)] + [item(150, "test")]
    folder = write_folder(tmp_path / "f", rows)
    for index in (3, 90, 149):
        (folder / "img" / f"{index}.png").write_bytes(b"junk")
    with pytest.raises(BadData, match=r"on 3 lines \(lines 4, 91, 150\)"):
        MediaFolder(path=folder).load(progress=False)
    assert cached_folders(cache) == []
