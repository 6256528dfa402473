"""Text backbone: a GRU sequence autoencoder over word tokens.

Encoder: token embedding -> GRU; the hidden state at the ``<eos>`` position -> Linear(D).
Decoder: a GRU started from ``h0 = tanh(W u)`` that reads the previous token's embedding
concatenated with ``u`` at every step, then Linear -> vocabulary logits. Training uses
teacher forcing with cross-entropy over non-padding targets; decoding is greedy, from
``<bos>`` until every caption has emitted ``<eos>`` or ``max_len`` tokens.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchmark.backbones.base import Backbone
from benchmark.core.media.tokenizer import WordTokenizer
from benchmark.core.media_split import MediaSplit

EMBEDDING = 64
HIDDEN = 128


class TextBackbone(Backbone):
    """Captions ``list[str]`` <-> ``[B, D]`` embeddings, over a fixed word vocabulary."""

    modality = "text"

    def __init__(self, dim: int, vocabulary: list[str], max_len: int) -> None:
        super().__init__(dim)
        self.tokenizer = WordTokenizer(vocabulary, max_len=max_len)
        pad = self.tokenizer.pad_id
        self.embedding = nn.Embedding(len(vocabulary), EMBEDDING, padding_idx=pad)
        self.encoder = nn.GRU(EMBEDDING, HIDDEN, batch_first=True)
        self.to_latent = nn.Linear(HIDDEN, dim)
        self.from_latent = nn.Linear(dim, HIDDEN)
        self.decoder = nn.GRU(EMBEDDING + dim, HIDDEN, batch_first=True)
        self.to_logits = nn.Linear(HIDDEN, len(vocabulary))

    @classmethod
    def from_split(cls, train: MediaSplit, dim: int) -> TextBackbone:
        tokenizer = WordTokenizer.from_texts(train.captions)
        return cls(dim, tokenizer.vocabulary, tokenizer.max_len)

    @property
    def hparams(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "vocabulary": list(self.tokenizer.vocabulary),
            "max_len": self.tokenizer.max_len,
        }

    def prepare(self, media: list[str]) -> Tensor:
        """Captions -> ids ``long [B, max_len]``."""
        return self.tokenizer.encode(list(media))

    def _trim(self, ids: Tensor) -> Tensor:
        """Drop the padding columns that every row of the batch has."""
        longest = int((ids != self.tokenizer.pad_id).sum(1).max()) if len(ids) else 1
        return ids[:, :longest]

    def embed(self, x: Tensor) -> Tensor:
        ids = self._trim(x)
        states, _ = self.encoder(self.embedding(ids))
        eos_position = (ids != self.tokenizer.pad_id).sum(1) - 1
        return self.to_latent(states[torch.arange(len(ids)), eos_position])

    def _step(self, tokens: Tensor, u: Tensor, hidden: Tensor) -> tuple[Tensor, Tensor]:
        """Decoder over ``tokens [B, T]`` from ``hidden`` -> logits ``[B, T, V]``, last hidden."""
        latent = u[:, None].expand(-1, tokens.shape[1], -1)
        states, hidden = self.decoder(torch.cat([self.embedding(tokens), latent], -1), hidden)
        return self.to_logits(states), hidden

    def _initial_hidden(self, u: Tensor) -> Tensor:
        return torch.tanh(self.from_latent(u))[None]

    def reconstruction_loss(self, x: Tensor, u: Tensor) -> Tensor:
        ids = self._trim(x)
        logits, _ = self._step(ids[:, :-1], u, self._initial_hidden(u))
        return F.cross_entropy(
            logits.flatten(0, 1), ids[:, 1:].flatten(), ignore_index=self.tokenizer.pad_id
        )

    def reconstruct(self, u: Tensor) -> Tensor:
        """Greedy decoding -> ids ``long [B, max_len]``: ``<bos>``, words, ``<eos>``, padding."""
        tok = self.tokenizer
        ids = torch.full((len(u), tok.max_len), tok.pad_id, dtype=torch.long)
        ids[:, 0] = tok.bos_id
        hidden = self._initial_hidden(u)
        finished = torch.zeros(len(u), dtype=torch.bool)
        for position in range(1, tok.max_len):
            logits, hidden = self._step(ids[:, position - 1 : position], u, hidden)
            ids[:, position] = logits[:, -1].argmax(-1).masked_fill(finished, tok.pad_id)
            finished |= ids[:, position] == tok.eos_id
            if finished.all():
                break
        return ids

    def render(self, output: Tensor) -> list[str]:
        return self.tokenizer.decode(output)
