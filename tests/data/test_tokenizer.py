import pytest

from benchmark.core.media.tokenizer import WordTokenizer

CAPTIONS = [
    "A big red circle, bottom-left.",
    "there is a tiny blue square in the upper right",
    "In the top left there's a small disc in red!",
]


@pytest.mark.parametrize("caption", CAPTIONS)
def test_decode_inverts_encode_up_to_case(caption):
    tokenizer = WordTokenizer.from_texts(CAPTIONS)
    assert tokenizer.decode(tokenizer.encode([caption])) == [caption.lower()]


def test_unknown_words_and_long_captions():
    tokenizer = WordTokenizer.from_texts(CAPTIONS, max_len=6)
    ids = tokenizer.encode(["a purple circle is big and red"])
    assert ids.shape == (1, 6)
    assert tokenizer.decode(ids) == ["a circle is"]  # <unk> dropped, cut at max_len - 2 words
