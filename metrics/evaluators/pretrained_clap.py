"""laion-clap CLAP from a local checkpoint, built without any download.

    e_audio(x) = g_a(A(R(x))) / ||g_a(A(R(x)))||,   e_text(t) = g_t(T(t)) / ||g_t(T(t))||

``R`` resamples to the model's rate (48 kHz) with ``librosa.resample``; ``A`` is the library's
own audio input path (``get_audio_embedding_from_data``: int16 quantization, repeat-padding
to 10 s, log-mel; clips over 10 s get a random 10 s crop there); ``T`` is the RoBERTa BPE
tokenizer padded to 77 tokens; ``g_a`` / ``g_t`` are the audio (HTSAT) and text (RoBERTa)
branches with their projections. A CLAP score is ``100 * e_audio . e_text``.

Building ``laion_clap.CLAP_Module`` asks the hub for ``roberta-base`` twice (the text model
and its tokenizer). Only while it is built, both look-ups are answered from a local folder:
the text branch is made from that folder's ``config.json`` (its weights then come from the
CLAP checkpoint) and the tokenizer from its ``vocab.json`` and ``merges.txt``.

The offline tokenizer trap: when the real files are absent, ``from_pretrained`` can quietly
return a tokenizer of a handful of special tokens, every caption becomes the same few ids and
the text embeddings are garbage without any error. A tokenizer with fewer than 50,000 tokens
(roberta-base has 50,265) is therefore refused.

The checkpoint is read here rather than by ``CLAP_Module.load_ckpt`` (which deletes
``text_branch.embeddings.position_ids`` unconditionally, a KeyError when a file lacks it):
``module.`` prefixes are stripped, that key is dropped only when the model has none (recent
transformers keep it out of the state dict), and the load is strict, so a checkpoint that does
not fit the model is refused instead of half-loaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import numpy as np

from benchmark.core.errors import UserError
from metrics.evaluators.weights import CLAP, CLAP_AUDIO_MODEL, ROBERTA_FILES, WeightsConfig

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before laion_clap pulls in transformers

import laion_clap
import librosa
import torch
from torch import Tensor, nn
from transformers import RobertaConfig, RobertaModel, RobertaTokenizer

MIN_TOKENIZER_SIZE = 50_000
HUB_TEXT_MODEL = "roberta-base"
POSITION_IDS_KEY = "text_branch.embeddings.position_ids"


def load_roberta_tokenizer(folder: Path) -> RobertaTokenizer:
    """The RoBERTa tokenizer in ``folder``, refused if it is the near-empty offline stand-in."""
    missing = [name for name in ROBERTA_FILES.members if not (folder / name).is_file()]
    if missing:
        raise UserError(f"RoBERTa folder {folder} lacks {', '.join(missing)}; "
                        "`python -m benchmark prepare --check-weights` shows how to get them")
    tokenizer = RobertaTokenizer.from_pretrained(str(folder))
    if len(tokenizer) < MIN_TOKENIZER_SIZE:
        raise UserError(
            f"the RoBERTa tokenizer in {folder} has only {len(tokenizer)} tokens (roberta-base "
            f"has 50,265; at least {MIN_TOKENIZER_SIZE:,} are required): offline, transformers "
            "can quietly build such a near-empty tokenizer and every caption then gets the "
            f"same CLAP text embedding; put roberta-base's {', '.join(ROBERTA_FILES.members)} "
            f"in {folder}"
        )
    return tokenizer


@contextmanager
def _local_roberta(tokenizer: RobertaTokenizer, config: RobertaConfig) -> Iterator[None]:
    """While active, laion-clap's ``roberta-base`` look-ups get local objects instead."""

    def expect_hub_id(name: str) -> None:
        if name != HUB_TEXT_MODEL:
            raise RuntimeError(f"laion-clap asked for '{name}', not '{HUB_TEXT_MODEL}': "
                               "metrics/evaluators/pretrained_clap.py needs updating for this "
                               "version")

    def model_from_config(name: str, *args, **kwargs) -> RobertaModel:
        expect_hub_id(name)
        return RobertaModel(config)

    def local_tokenizer(name: str, *args, **kwargs) -> RobertaTokenizer:
        expect_hub_id(name)
        return tokenizer

    with mock.patch.object(RobertaModel, "from_pretrained", model_from_config), \
            mock.patch.object(RobertaTokenizer, "from_pretrained", local_tokenizer):
        yield


def load_clap_state(model: nn.Module, checkpoint: Path) -> None:
    """Strictly load a laion-clap checkpoint (``{"state_dict": ...}`` or a bare state dict).

    Keys and shapes are compared first so that a mismatch is one readable UserError (torch's
    own strict-load error spans many lines).
    """
    # Released checkpoints pickle numpy scalars beside the weights, which torch's weights-only
    # unpickler refuses; only load files from the sources listed in metrics/evaluators/weights.py.
    raw = torch.load(checkpoint, map_location="cpu", weights_only=False)
    state = raw["state_dict"] if isinstance(raw, dict) and "state_dict" in raw else raw
    state = {key.removeprefix("module."): value for key, value in state.items()}
    expected = model.state_dict()
    if POSITION_IDS_KEY not in expected:
        state.pop(POSITION_IDS_KEY, None)
    missing = sorted(expected.keys() - state.keys())
    unexpected = sorted(state.keys() - expected.keys())
    reshaped = sorted(key for key in expected.keys() & state.keys()
                      if tuple(expected[key].shape) != tuple(state[key].shape))
    problems = [f"{len(keys)} {what} (e.g. {keys[0]})" for keys, what in
                ((missing, "missing keys"), (unexpected, "unexpected keys"),
                 (reshaped, "keys with other shapes")) if keys]
    if problems:
        raise UserError(f"CLAP checkpoint {checkpoint} does not fit laion-clap "
                        f"{CLAP_AUDIO_MODEL} without fusion: {'; '.join(problems)}")
    model.load_state_dict(state, strict=True)


class PretrainedClap:
    """A frozen laion-clap model (no fusion) from a local checkpoint and RoBERTa folder."""

    def __init__(self, checkpoint: Path, roberta_dir: Path, *,
                 audio_model: str = CLAP_AUDIO_MODEL, device: str | torch.device = "cpu",
                 batch_size: int = 16) -> None:
        checkpoint, roberta_dir = Path(checkpoint), Path(roberta_dir)
        if not checkpoint.is_file():
            raise UserError(f"CLAP checkpoint {checkpoint} not found; "
                            "`python -m benchmark prepare --check-weights` shows how to get it")
        tokenizer = load_roberta_tokenizer(roberta_dir)
        text_config = RobertaConfig.from_pretrained(str(roberta_dir))
        self.batch_size = batch_size
        with torch.random.fork_rng(devices=[]), _local_roberta(tokenizer, text_config):
            # fork_rng: building draws (discarded) initial weights from the global generator
            self.clap = laion_clap.CLAP_Module(enable_fusion=False, amodel=audio_model,
                                               device=str(device))
        load_clap_state(self.clap.model, checkpoint)
        self.clap.model.eval()
        self.sample_rate = int(self.clap.model_cfg["audio_cfg"]["sample_rate"])

    @classmethod
    def from_weights(cls, weights: WeightsConfig, device: str | torch.device = "cpu",
                     ) -> PretrainedClap:
        """The ``laion-clap:630k-audioset`` evaluator from the configured local files."""
        weights.require(CLAP)
        return cls(weights.path(CLAP, "clap"), weights.path(CLAP, "roberta"), device=device)

    @torch.no_grad()
    def encode_audio(self, audio: np.ndarray, sample_rate: int) -> Tensor:
        """Mono clips ``[N, T]`` at ``sample_rate`` -> L2-normalized embeddings ``[N, E]``."""
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 2:
            raise ValueError(f"expected mono audio [N, T], got shape {audio.shape}")
        audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=self.sample_rate, axis=-1)
        batches = [
            torch.from_numpy(self.clap.get_audio_embedding_from_data(
                audio[start:start + self.batch_size], use_tensor=False))
            for start in range(0, len(audio), self.batch_size)
        ]
        return _concat(batches, "audio")

    @torch.no_grad()
    def encode_texts(self, texts: Sequence[str]) -> Tensor:
        """Captions -> L2-normalized embeddings ``[N, E]`` (on the CPU)."""
        texts = list(texts)
        batches = [self.clap.get_text_embedding(texts[start:start + self.batch_size],
                                                use_tensor=True).cpu()
                   for start in range(0, len(texts), self.batch_size)]
        return _concat(batches, "texts")


def _concat(batches: list[Tensor], what: str) -> Tensor:
    if not batches:
        raise ValueError(f"no {what} to encode")
    return torch.cat(batches)
