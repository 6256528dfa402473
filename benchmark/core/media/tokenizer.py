"""A word-level tokenizer for the embedded dataset's captions.

Words are lower-cased runs of letters/digits; each punctuation mark is its own token.
The vocabulary is sorted, so the same captions always give the same ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import torch

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
_TOKEN = re.compile(r"\w+|[^\w\s]")


def split_words(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _join(words: list[str]) -> str:
    """Undo :func:`split_words`' spacing: no space before punctuation, none after a
    hyphen or an apostrophe inside a word (``top-left``, ``there's``)."""
    text = re.sub(r" ([^\w\s])", r"\1", " ".join(words))
    return re.sub(r"(\w)([-']) (\w)", r"\1\2\3", text)


class WordTokenizer:
    """Captions <-> id tensors ``[B, max_len]`` framed as ``<bos> words <eos> <pad>...``."""

    def __init__(self, vocabulary: Sequence[str], max_len: int = 24) -> None:
        self.vocabulary = list(vocabulary)
        if tuple(self.vocabulary[: len(SPECIALS)]) != SPECIALS:
            raise ValueError("a vocabulary must start with the special tokens")
        self.max_len = max_len
        self._ids = {word: i for i, word in enumerate(self.vocabulary)}

    @classmethod
    def from_texts(cls, texts: Iterable[str], max_len: int = 24) -> WordTokenizer:
        words = sorted({w for text in texts for w in split_words(text)})
        return cls([*SPECIALS, *words], max_len=max_len)

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def bos_id(self) -> int:
        return 1

    @property
    def eos_id(self) -> int:
        return 2

    def __len__(self) -> int:
        return len(self.vocabulary)

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """Ids ``long [B, max_len]``; captions longer than ``max_len - 2`` words are cut."""
        ids = torch.zeros(len(texts), self.max_len, dtype=torch.long)
        unk = self._ids[UNK]
        for row, text in enumerate(texts):
            words = [self._ids.get(w, unk) for w in split_words(text)][: self.max_len - 2]
            framed = [self.bos_id, *words, self.eos_id]
            ids[row, : len(framed)] = torch.tensor(framed)
        return ids

    def decode(self, ids: torch.Tensor) -> list[str]:
        """Ids ``[B, L]`` -> captions, stopping at the first ``<eos>``; specials are dropped."""
        captions = []
        for row in ids.tolist():
            words: list[str] = []
            for i in row:
                if i == self.eos_id:
                    break
                if i >= len(SPECIALS):
                    words.append(self.vocabulary[i])
            captions.append(_join(words))
        return captions
