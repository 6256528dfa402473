import math
import shutil

import numpy as np
import pytest
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider

from benchmark.data.scenes import ATTRIBUTE_VALUES
from benchmark.data.scenes.caption import render_captions
from metrics.captioning import (
    bleu4,
    bleu4_from_totals,
    bleu_statistics,
    cider_d,
    tokenize_caption,
)

# Expected tokens are the output of coco-caption's PTBTokenizer (Stanford CoreNLP 3.4.1,
# -lowerCase) after its punctuation filter, recorded by running it.
PTB_CASES = [
    ("In the top-left there's a Tiny disc in CRIMSON!",
     "in the top-left there 's a tiny disc in crimson"),
    ("Upper left: a lemon-coloured plus-shaped mark, big.",
     "upper left a lemon-coloured plus-shaped mark big"),
    ("A picture of a cobalt box; it is huge and sits lower right.",
     "a picture of a cobalt box it is huge and sits lower right"),
    ('He said "hi" (really) {ok} [x] -- yes - no...',
     "he said hi -lrb- really -rrb- -lcb- ok -rcb- -lsb- x -rsb- yes no"),
    ("don't can't it's we're I'm they've you'll he'd dogs' 'quoted' `tick`",
     "do n't ca n't it 's we 're i 'm they 've you 'll he 'd dogs quoted tick"),
    ("5.0 5. a,b;c top--left x'y and/or 50% x\u2014y L\u2019s",
     "5.0 5 a b c top left x y and/or 50 % x y l 's"),
]


def scene_captions(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    attributes = np.stack([rng.integers(len(v), size=n) for v in ATTRIBUTE_VALUES.values()], 1)
    return render_captions(attributes, ATTRIBUTE_VALUES, rng)


def corrupted(captions: list[str], p: float, seed: int) -> list[str]:
    """Each word replaced by a word of another caption with probability ``p``."""
    rng = np.random.default_rng(seed)
    vocabulary = sorted({w for c in captions for w in c.split()})
    return [" ".join(str(rng.choice(vocabulary)) if rng.random() < p else w for w in c.split())
            for c in captions]


@pytest.mark.parametrize(("raw", "expected"), PTB_CASES)
def test_tokenize_caption_reproduces_ptb_tokenizer_output(raw, expected):
    assert tokenize_caption(raw) == expected


@pytest.mark.skipif(shutil.which("java") is None, reason="coco-caption's PTBTokenizer needs Java")
def test_tokenize_caption_agrees_with_ptb_tokenizer_on_scene_captions():
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    captions = scene_captions(300, seed=1)
    ptb = PTBTokenizer().tokenize({i: [{"caption": c}] for i, c in enumerate(captions)})
    assert [tokenize_caption(c) for c in captions] == [ptb[i][0] for i in range(len(captions))]


CORPUS_GENERATED = [
    "A red circle, top-left.",
    "There's a BIG blue square!",
    "a tiny green triangle at the bottom",
    "Yellow diamond; lower right.",
    "a cross",
    "magenta plus sign in the upper-right corner",
]
CORPUS_REFERENCES = [
    ["a small red circle in the top-left corner.", "Red disc, top-left."],
    "There is a large blue square.",
    ["A tiny green triangle at the bottom left", "little emerald triangle, lower left"],
    "A yellow diamond in the lower right.",
    "A big cyan cross at the top.",
    ["A magenta plus sign, upper right.", "hot pink cross in the top right corner"],
]
# The same corpus tokenized by hand (lower-case, punctuation dropped, clitics split).
HAND_GENERATED = [
    "a red circle top-left",
    "there 's a big blue square",
    "a tiny green triangle at the bottom",
    "yellow diamond lower right",
    "a cross",
    "magenta plus sign in the upper-right corner",
]
HAND_REFERENCES = [
    ["a small red circle in the top-left corner", "red disc top-left"],
    ["there is a large blue square"],
    ["a tiny green triangle at the bottom left", "little emerald triangle lower left"],
    ["a yellow diamond in the lower right"],
    ["a big cyan cross at the top"],
    ["a magenta plus sign upper right", "hot pink cross in the top right corner"],
]


def test_cider_d_equals_coco_caption_on_hand_tokenized_input():
    corpus, per_item = Cider().compute_score(
        dict(enumerate(HAND_REFERENCES)), {i: [g] for i, g in enumerate(HAND_GENERATED)}
    )
    metric = cider_d(CORPUS_GENERATED, CORPUS_REFERENCES)
    assert metric.n == 6
    assert metric.value == pytest.approx(corpus, abs=1e-12)
    np.testing.assert_allclose(metric.per_sample, per_item, atol=1e-12)
    assert 0.0 < metric.value < 10.0


def test_cider_d_equals_a_hand_computation_from_the_definition():
    # Two items, one reference each; every n-gram's idf is log(2 / 1) except "a", which both
    # references contain (idf log(2 / 2) = 0). Item 1 repeats "red" (its count is clipped to
    # the reference's); item 2 is one word shorter than its reference.
    generated = ["A red, red circle.", "a blue square"]
    references = ["a red circle left", "a blue square right"]
    # Item 1 (lengths 4 and 4, no penalty):
    #   n=1: hyp {red: 2L, circle: L}, ref {red, circle, left: L}
    #        -> (min(2L, L) L + L L) / (sqrt(5) L * sqrt(3) L) = 2 / sqrt(15)
    #   n=2: hyp {a red, red red, red circle}, ref {a red, red circle, circle left} -> 2 / 3
    #   n=3, n=4: no shared n-gram -> 0
    item1 = 10 * (2 / math.sqrt(15) + 2 / 3) / 4
    # Item 2 (lengths 3 and 4: penalty exp(-1 / (2 * 6^2))):
    #   n=1: hyp {blue, square}, ref {blue, square, right} -> 2 / (sqrt(2) sqrt(3))
    #   n=2: hyp {a blue, blue square}, ref {a blue, blue square, square right} -> 2 / sqrt(6)
    #   n=3: hyp {a blue square}, ref {a blue square, blue square right} -> 1 / sqrt(2)
    #   n=4: the hypothesis has no 4-gram -> 0
    item2 = 10 * math.exp(-1 / 72) * (4 / math.sqrt(6) + 1 / math.sqrt(2)) / 4
    metric = cider_d(generated, references)
    np.testing.assert_allclose(metric.per_sample, [item1, item2], rtol=1e-12)
    assert metric.value == pytest.approx((item1 + item2) / 2, rel=1e-12)


def test_perfect_captions_score_ten_per_order_present_and_bleu_one():
    references = [*scene_captions(40, seed=2), "a red circle"]
    metric = cider_d(references, references)
    # Captions of four or more words score 10; the three-word one has no 4-gram: 10 * 3/4.
    np.testing.assert_allclose(metric.per_sample, [10.0] * 40 + [7.5], rtol=1e-12)
    assert bleu4(references, references).value == pytest.approx(1.0, abs=1e-9)


def test_bleu4_matches_coco_caption_and_torchmetrics():
    from torchmetrics.text import BLEUScore

    metric = bleu4(CORPUS_GENERATED, CORPUS_REFERENCES)
    corpus, per_caption = Bleu(4).compute_score(
        dict(enumerate(HAND_REFERENCES)), {i: [g] for i, g in enumerate(HAND_GENERATED)},
        verbose=0,
    )
    assert metric.value == pytest.approx(corpus[3], abs=1e-9)
    np.testing.assert_allclose(metric.per_sample, per_caption[3], atol=1e-12)
    assert metric.n == 6
    # torchmetrics counts in float32 (relative error ~1e-7) and has no smoothing constants,
    # whose effect on coco-caption's score is ~1e-9 relative; 1e-6 covers both. (No item has
    # two references equally close in length, where the two break ties differently.)
    reference = BLEUScore(n_gram=4)(HAND_GENERATED, HAND_REFERENCES).item()
    assert metric.value == pytest.approx(reference, rel=1e-6)


def test_bleu_statistics_recombine_to_the_corpus_score():
    references = scene_captions(200, seed=3)
    generated = corrupted(references, p=0.3, seed=4)
    stats = bleu_statistics(generated, references)
    assert stats.shape == (200, 10)
    corpus, _ = Bleu(4).compute_score(
        {i: [tokenize_caption(r)] for i, r in enumerate(references)},
        {i: [tokenize_caption(g)] for i, g in enumerate(generated)}, verbose=0,
    )
    assert bleu4_from_totals(stats.sum(0)) == pytest.approx(corpus[3], abs=1e-9)
    # A shorter corpus is penalized for brevity: recombining must apply the penalty too.
    short = [" ".join(g.split()[:3]) for g in generated]
    short_stats = bleu_statistics(short, references)
    short_corpus, _ = Bleu(4).compute_score(
        {i: [tokenize_caption(r)] for i, r in enumerate(references)},
        {i: [tokenize_caption(g)] for i, g in enumerate(short)}, verbose=0,
    )
    assert short_stats[:, 0].sum() < short_stats[:, 1].sum()
    assert bleu4_from_totals(short_stats.sum(0)) == pytest.approx(short_corpus[3], abs=1e-9)


@pytest.mark.parametrize("metric_fn", [cider_d, bleu4])
def test_interval_brackets_the_value_and_narrows_with_n(metric_fn):
    references = scene_captions(400, seed=5)
    generated = corrupted(references, p=0.3, seed=6)
    small = metric_fn(generated[:40], references[:40])
    large = metric_fn(generated, references)
    for metric in (small, large):
        assert metric.ci_low < metric.value < metric.ci_high
    assert (large.n, small.n) == (400, 40)
    assert large.ci_high - large.ci_low < 0.6 * (small.ci_high - small.ci_low)
    again = metric_fn(generated, references)
    assert (again.value, again.ci_low, again.ci_high) == (large.value, large.ci_low, large.ci_high)


def test_mismatched_or_missing_references_are_rejected():
    with pytest.raises(ValueError, match="one reference list per generated caption"):
        cider_d(["a red circle"], ["a red circle", "a blue square"])
    with pytest.raises(ValueError, match="at least one"):
        bleu4(["a red circle", "a blue square"], [["a red circle"], []])
