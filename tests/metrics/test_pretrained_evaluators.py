"""Pretrained evaluators load local files exactly: small random-weight models are saved the
way the released files are and must give the original model's embeddings, bit for bit."""

import inspect
import itertools
import json
from pathlib import Path
from unittest import mock

import laion_clap
import librosa
import numpy as np
import open_clip
import pytest
import torch
from PIL import Image
from torch import nn
from transformers import RobertaConfig, RobertaModel, RobertaTokenizer

from benchmark.core.errors import UserError
from metrics.evaluators.pretrained_clap import PretrainedClap, load_clap_state
from metrics.evaluators.pretrained_clip import PretrainedClip, tag_options
from metrics.evaluators.weights import (
    CLAP_FILE,
    CLIP_FILE,
    CLIP_MODEL_NAME,
    CLIP_PRETRAINED_TAG,
    INCEPTION_FILE,
    ROBERTA_FILES,
    WeightsConfig,
)

TINY_CLIP = "anybench-test-tiny-vit"
TEXTS = ["a small red circle on the left", "a large blue square", "green"]


# ---- weight sources: the URLs in metrics/evaluators/weights.py are the libraries' own -----

def test_weight_sources_are_the_ones_the_libraries_download():
    from cleanfid.downloads_helper import inception_url
    from open_clip.constants import HF_WEIGHTS_NAME

    assert INCEPTION_FILE.url == inception_url
    hub = open_clip.get_pretrained_cfg(CLIP_MODEL_NAME, CLIP_PRETRAINED_TAG)["hf_hub"]
    assert CLIP_FILE.url == f"https://huggingface.co/{hub.rstrip('/')}/resolve/main/" \
                            f"{HF_WEIGHTS_NAME}"
    load_ckpt = inspect.getsource(laion_clap.CLAP_Module.load_ckpt)
    base, name = CLAP_FILE.url.rsplit("/", 1)
    assert f"'{base}/'" in load_ckpt and f"'{name}'" in load_ckpt
    import clap_module.model

    assert "RobertaModel.from_pretrained('roberta-base')" in inspect.getsource(
        clap_module.model.CLAP.__init__)
    assert ROBERTA_FILES.url == "https://huggingface.co/roberta-base/resolve/main"


# ---- CLIP -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """A tiny ViT + text tower registered with open_clip, its random weights saved to a file."""
    folder = tmp_path_factory.mktemp("clip")
    config = {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 8},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2,
                     "layers": 1},
    }
    (folder / f"{TINY_CLIP}.json").write_text(json.dumps(config))
    open_clip.add_model_config(folder / f"{TINY_CLIP}.json")
    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms(TINY_CLIP, pretrained=None)
    torch.save(model.state_dict(), folder / "tiny.bin")
    return model.eval(), preprocess, folder / "tiny.bin"


def _reference_clip(model, preprocess, images, texts):
    tokenizer = open_clip.get_tokenizer(TINY_CLIP)
    with torch.no_grad():
        pixels = torch.stack([preprocess(Image.fromarray(image)) for image in images])
        image_emb = model.encode_image(pixels)
        text_emb = model.encode_text(tokenizer(texts))
    return (image_emb / image_emb.norm(dim=-1, keepdim=True),
            text_emb / text_emb.norm(dim=-1, keepdim=True))


def test_clip_from_a_local_file_reproduces_the_original_embeddings(tiny_clip):
    model, preprocess, checkpoint = tiny_clip
    images = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    clip = PretrainedClip(TINY_CLIP, checkpoint)
    want_images, want_texts = _reference_clip(model, preprocess, images, TEXTS)
    got_images, got_texts = clip.encode_images(images), clip.encode_texts(TEXTS)
    assert got_images.shape == (5, 32) and got_texts.shape == (3, 32)
    assert torch.equal(got_images, want_images) and torch.equal(got_texts, want_texts)
    clip.batch_size = 2  # several batches: same values up to float reassociation
    assert torch.allclose(clip.encode_images(images), want_images, rtol=0, atol=1e-6)
    assert torch.allclose(clip.encode_texts(TEXTS), want_texts, rtol=0, atol=1e-6)
    other, _, _ = open_clip.create_model_and_transforms(TINY_CLIP, pretrained=None)
    random_images, _ = _reference_clip(other.eval(), preprocess, images, TEXTS)
    assert not torch.allclose(got_images, random_images, atol=1e-3)  # the weights did load


def test_clip_takes_the_tags_activation_and_preprocessing_from_open_clip():
    options = tag_options("ViT-B-32", "openai")
    assert options["force_quick_gelu"] is True  # OpenAI's CLIP was trained with QuickGELU
    assert options["image_mean"] == pytest.approx((0.48145466, 0.4578275, 0.40821073))
    assert options["image_interpolation"] == "bicubic"
    assert tag_options("ViT-B-32", None) == {}
    with pytest.raises(ValueError, match="no pretrained tag"):
        tag_options("ViT-B-32", "no-such-tag")


def test_clip_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match=r"CLIP checkpoint .* not found"):
        PretrainedClip(TINY_CLIP, tmp_path / "nope.bin")
    with pytest.raises(UserError, match=r"open_clip_pytorch_model\.bin"):
        PretrainedClip.from_weights(WeightsConfig.defaults(tmp_path))


@pytest.mark.slow
def test_clip_vit_b_32_openai_from_weights_uses_quick_gelu(tmp_path):
    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms(
        "ViT-B-32", pretrained=None, force_quick_gelu=True)
    torch.save(model.state_dict(), tmp_path / "open_clip-ViT-B-32-openai.bin")
    clip = PretrainedClip.from_weights(WeightsConfig.defaults(tmp_path))
    images = np.random.default_rng(1).integers(0, 256, (2, 40, 48, 3), dtype=np.uint8)
    with torch.no_grad():
        want = model.eval().encode_image(
            torch.stack([preprocess(Image.fromarray(i)) for i in images]), normalize=True)
    assert torch.equal(clip.encode_images(images), want)


# ---- CLAP -----------------------------------------------------------------------------------

def _byte_symbols() -> list[str]:
    """The 256 printable stand-ins byte-level BPE uses for the bytes 0..255 (GPT-2 scheme)."""
    kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
            *range(ord("®"), ord("ÿ") + 1)]
    shifted = iter(range(256, 512))
    return [chr(b if b in kept else next(shifted)) for b in range(256)]


def _write_roberta_folder(folder: Path, n_merges: int) -> int:
    """A synthetic byte-level BPE vocabulary (bytes, then ``n_merges`` pair merges) and a
    one-layer 768-wide RoBERTa config; returns the vocabulary size."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = _byte_symbols()
    vocab = {token: i for i, token in enumerate(["<s>", "<pad>", "</s>", "<unk>", *symbols])}
    merges = []
    for a, b in itertools.islice(itertools.product(symbols, symbols), n_merges):
        merges.append(f"{a} {b}")
        vocab[a + b] = len(vocab)
    vocab["<mask>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    RobertaConfig(vocab_size=len(vocab), hidden_size=768, num_hidden_layers=1,
                  num_attention_heads=2, intermediate_size=64,
                  max_position_embeddings=80).save_pretrained(folder)
    return len(vocab)


@pytest.fixture(scope="module")
def clap_files(tmp_path_factory):
    """Model A (laion-clap HTSAT-tiny, random weights, small local RoBERTa) and its
    checkpoint, saved like the released files: ``{"state_dict": {"module." + key: ...}}``
    with a ``position_ids`` entry."""
    folder = tmp_path_factory.mktemp("clap")
    roberta = folder / "roberta-base"
    assert _write_roberta_folder(roberta, n_merges=50_000) >= 50_000
    tokenizer = RobertaTokenizer.from_pretrained(str(roberta))
    config = RobertaConfig.from_pretrained(str(roberta))
    torch.manual_seed(0)
    with mock.patch.object(RobertaModel, "from_pretrained", lambda _: RobertaModel(config)), \
            mock.patch.object(RobertaTokenizer, "from_pretrained", lambda _: tokenizer):
        model = laion_clap.CLAP_Module(enable_fusion=False, amodel="HTSAT-tiny", device="cpu")
    model.model.eval()
    state = {f"module.{key}": value for key, value in model.model.state_dict().items()}
    state["module.text_branch.embeddings.position_ids"] = torch.arange(80)[None]
    checkpoint = folder / "630k-audioset-best.pt"
    torch.save({"epoch": 1, "state_dict": state}, checkpoint)
    return model, checkpoint, roberta


def test_clap_from_local_files_reproduces_the_original_embeddings(clap_files):
    model, checkpoint, roberta = clap_files
    clap = PretrainedClap(checkpoint, roberta)
    audio = (0.3 * np.random.default_rng(0).standard_normal((2, 6_000))).astype(np.float32)
    with torch.no_grad():
        want_audio = torch.from_numpy(model.get_audio_embedding_from_data(
            librosa.resample(audio, orig_sr=8_000, target_sr=48_000)))
        want_texts = model.get_text_embedding(TEXTS, use_tensor=True)
    got_audio, got_texts = clap.encode_audio(audio, 8_000), clap.encode_texts(TEXTS)
    assert got_audio.shape == (2, 512) and got_texts.shape == (3, 512)
    assert torch.equal(got_audio, want_audio) and torch.equal(got_texts, want_texts)
    assert torch.allclose(got_texts.norm(dim=1), torch.ones(3))
    assert not torch.allclose(got_texts[0], got_texts[1], atol=1e-3)  # captions differ
    clap.batch_size = 1  # several batches: same values up to float reassociation
    assert torch.allclose(clap.encode_texts(TEXTS), want_texts, rtol=0, atol=1e-6)


def test_clap_refuses_a_tiny_tokenizer(tmp_path):
    size = _write_roberta_folder(tmp_path / "roberta-base", n_merges=20)
    with pytest.raises(UserError, match=f"only {size} tokens") as error:
        PretrainedClap(_placeholder(tmp_path), tmp_path / "roberta-base")
    assert str(tmp_path / "roberta-base") in str(error.value)
    assert "\n" not in str(error.value)


def _placeholder(folder: Path) -> Path:
    path = folder / "ckpt.pt"
    path.write_bytes(b"never read: the tokenizer is checked first")
    return path


def test_clap_missing_files_are_user_errors(tmp_path):
    (tmp_path / "roberta-base").mkdir()
    (tmp_path / "roberta-base" / "config.json").write_text("{}")
    with pytest.raises(UserError, match=r"CLAP checkpoint .* not found"):
        PretrainedClap(tmp_path / "nope.pt", tmp_path / "roberta-base")
    with pytest.raises(UserError, match=r"lacks vocab\.json, merges\.txt"):
        PretrainedClap(_placeholder(tmp_path), tmp_path / "roberta-base")


def _with_position_ids() -> nn.Module:
    """A module whose state dict, like older transformers', holds the position_ids key."""
    model = nn.Module()
    model.text_branch = nn.Module()
    model.text_branch.embeddings = nn.Module()
    model.text_branch.embeddings.register_buffer("position_ids", torch.zeros(1, 4).long())
    return model


def test_load_clap_state_is_strict(tmp_path):
    source = nn.Linear(3, 2)
    state = {f"module.{k}": v for k, v in source.state_dict().items()}
    state["module.text_branch.embeddings.position_ids"] = torch.arange(4)[None]
    torch.save({"state_dict": state}, tmp_path / "ok.pt")
    target = nn.Linear(3, 2)
    load_clap_state(target, tmp_path / "ok.pt")  # prefix stripped, absent position_ids dropped
    assert torch.equal(target.weight, source.weight) and torch.equal(target.bias, source.bias)

    torch.save({"module.weight": source.weight}, tmp_path / "partial.pt")
    with pytest.raises(UserError, match=r"1 missing keys \(e.g. bias\)"):
        load_clap_state(nn.Linear(3, 2), tmp_path / "partial.pt")
    torch.save({"weight": torch.zeros(2, 5), "bias": source.bias}, tmp_path / "shape.pt")
    with pytest.raises(UserError, match="other shapes"):
        load_clap_state(nn.Linear(3, 2), tmp_path / "shape.pt")
    torch.save({**source.state_dict(), "extra": torch.zeros(1)}, tmp_path / "extra.pt")
    with pytest.raises(UserError, match="unexpected keys"):
        load_clap_state(nn.Linear(3, 2), tmp_path / "extra.pt")


def test_load_clap_state_keeps_position_ids_when_the_model_has_them(tmp_path):
    torch.save({"module.text_branch.embeddings.position_ids": torch.arange(4)[None]},
               tmp_path / "with.pt")
    model = _with_position_ids()
    load_clap_state(model, tmp_path / "with.pt")
    assert torch.equal(model.text_branch.embeddings.position_ids, torch.arange(4)[None])
    torch.save({}, tmp_path / "without.pt")
    with pytest.raises(UserError, match="missing keys"):
        load_clap_state(_with_position_ids(), tmp_path / "without.pt")
