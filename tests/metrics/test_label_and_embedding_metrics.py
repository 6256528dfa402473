"""Judges on any labelled dataset and decoder-free metrics.

Per-label-column attribute accuracy with known predictions, judge training that ignores
unknown (-1) labels, a dataset without label columns (no judges, so the metrics that need
them are skipped with reasons), emb_r_at_1 on planted embeddings, and a real reference
without media that scores only the decoder-free metrics.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import MODALITIES
from benchmark.core.tasks import Task
from benchmark.scoring.evaluation import RealReference, evaluator_ceilings, score_target
from metrics import METRICS
from metrics.attribute_accuracy import attribute_accuracy, column_accuracies
from metrics.embedding_space import embedding_retrieval_at_1
from metrics.evaluators.attribute_judges import JudgeConfig, load_attribute_judges
from metrics.evaluators.contrastive_judges import (
    ContrastiveJudgeConfig,
    load_contrastive_judges,
)
from metrics.evaluators.evaluator_set import Evaluator, Evaluators, embedded_evaluators
from metrics.spec import UNKNOWN, id_part

pytestmark = pytest.mark.usefixtures("single_thread")

BACKBONE = "backbone:toy-v1"
_ID = r"^[a-z0-9]+\.[a-z0-9_]+\[.+\]$"


def _split(labels: np.ndarray, names: tuple[str, ...], sizes: tuple[int, ...],
           present: np.ndarray | None = None) -> MediaSplit:
    """Items whose 8x8 images show two levels 0..2 as red and green, the first two label
    columns where known (random levels elsewhere), with captions naming the levels and
    noise audio."""
    rng = np.random.default_rng(0)
    n = len(labels)
    levels = rng.integers(0, 3, (n, 2))
    shown = labels[:, :2]
    levels[:, : shown.shape[1]] = np.where(shown >= 0, shown, levels[:, : shown.shape[1]])
    images = rng.integers(0, 10, (n, 8, 8, 3), dtype=np.uint8)
    images[..., :2] += (80 * levels + 20).astype(np.uint8)[:, None, None, :]
    return MediaSplit(
        attributes=labels, present=np.ones((n, 3), dtype=bool) if present is None else present,
        captions=[f"red{a} green{b}" for a, b in levels], images=images,
        audio=rng.uniform(-0.1, 0.1, (n, 512)).astype(np.float32), attribute_names=names,
        attribute_sizes=sizes, sample_rate=8_000,
    )


# --------------------------------------------------------------- attribute accuracy


def test_per_column_accuracy_with_known_predictions():
    true = np.array([[0, 1], [1, 1], [2, 0], [1, 0]])
    predicted = np.array([[0, 1], [1, 0], [0, 0], [1, 1]])  # colour 3/4 right, shape 2/4
    by_column = column_accuracies(predicted, true, ("Colour", "shape"))
    assert by_column["Colour"].value == 0.75 and by_column["Colour"].n == 4
    assert by_column["shape"].value == 0.5
    assert by_column["Colour"].ci_low <= 0.75 <= by_column["Colour"].ci_high
    overall = attribute_accuracy(predicted, true)
    assert overall.value == pytest.approx((0.75 + 0.5) / 2)
    np.testing.assert_array_equal(overall.per_sample, [1.0, 0.5, 0.5, 0.5])


def test_complete_labels_score_exactly_the_plain_mean_over_columns():
    rng = np.random.default_rng(6)
    true, predicted = rng.integers(0, 5, (500, 4)), rng.integers(0, 5, (500, 4))
    accuracy = attribute_accuracy(predicted, true, seed=3)
    assert np.array_equal(accuracy.per_sample, (predicted == true).mean(axis=1))
    assert accuracy.value == (predicted == true).mean(axis=1).mean()


def test_unknown_labels_and_unlearned_columns_are_left_out():
    true = np.array([[0, UNKNOWN], [1, 1], [2, 0]])
    predicted = np.array([[0, 1], [0, 1], [2, UNKNOWN]])
    np.testing.assert_array_equal(attribute_accuracy(predicted, true).per_sample,
                                  [1.0, 0.5, 1.0])
    by_column = column_accuracies(predicted, true, ("a", "b"))
    assert by_column["a"].value == pytest.approx(2 / 3) and by_column["a"].n == 3
    assert by_column["b"].value == 1.0 and by_column["b"].n == 1
    never = column_accuracies(np.array([[0, UNKNOWN]]), np.array([[0, 1]]), ("a", "b"))
    assert set(never) == {"a"}


def test_the_loop_scores_one_accuracy_per_column_with_sanitised_ids():
    labels = np.array([[0, 1], [1, 1], [2, 0], [1, 0]])
    test = _split(labels, ("Colour-Hue", "shape 2"), (3, 2))
    predicted = np.array([[0, 1], [1, 0], [0, 0], [1, 1]])
    judge = Evaluator("judge:toy-v1", lambda modality, media: predicted)
    evaluators = Evaluators(kind="toy", attributes={"image": judge}, features={}, pairs={},
                            captions=None)
    real = RealReference(test=test, embeddings={}, evaluators=evaluators,
                         embedding_evaluator=BACKBONE, metrics=[METRICS.get("attr_acc")])
    generated = score_target("image", ("text",), test.images, None, real).values
    ceiling = evaluator_ceilings(Task(("text",), ("image",)), real).values
    assert id_part("Colour-Hue") == "colour_hue"
    for values in (generated, ceiling):
        assert set(values) == {"image.attr_acc[judge:toy-v1]",
                               "image.attr_acc_colour_hue[judge:toy-v1]",
                               "image.attr_acc_shape_2[judge:toy-v1]"}
        assert all(re.match(_ID, metric_id) for metric_id in values)
        assert values["image.attr_acc_colour_hue[judge:toy-v1]"].value == 0.75
        assert values["image.attr_acc_shape_2[judge:toy-v1]"].value == 0.5
        assert values["image.attr_acc[judge:toy-v1]"].value == pytest.approx(0.625)


def test_two_columns_that_read_the_same_in_an_id_are_an_error():
    labels = np.array([[0, 1], [1, 0]])
    test = _split(labels, ("a-b", "a b"), (2, 2))
    judge = Evaluator("judge:toy-v1", lambda modality, media: labels)
    evaluators = Evaluators(kind="toy", attributes={"image": judge}, features={}, pairs={},
                            captions=None)
    real = RealReference(test=test, embeddings={}, evaluators=evaluators,
                         embedding_evaluator=BACKBONE, metrics=[METRICS.get("attr_acc")])
    with pytest.raises(ValueError, match="read differently"):
        score_target("image", ("text",), test.images, None, real)


# ------------------------------------------------------------------------- judges


def test_judges_train_on_labelled_items_and_ignore_unknown_labels(tmp_path):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, (240, 3))
    labels[::3, 0] = UNKNOWN  # a third of column 0 unknown
    labels[1::4, 1] = UNKNOWN
    labels[:, 2] = UNKNOWN  # a column no training item labels
    labels[::10] = UNKNOWN  # items without any label teach nothing
    present = np.ones((240, 3), dtype=bool)
    present[::2, 1] = False  # half the items lack an image
    train = _split(labels, ("red", "green", "blank"), (3, 3, 2), present)
    judges = load_attribute_judges("toy", train, JudgeConfig(steps=60, batch_size=32),
                                   root=tmp_path, progress=False)
    assert set(judges) == set(MODALITIES)
    image = judges["image"]
    assert image.unlearned == [2]
    complete = rng.integers(0, 2, (40, 3))
    test = _split(complete, ("red", "green", "blank"), (3, 3, 2))
    predicted = image.predict(test.images).numpy()
    assert (predicted[:, 2] == UNKNOWN).all() and (predicted[:, :2] >= 0).all()
    assert (predicted[:, 0] == complete[:, 0]).mean() > 0.6
    for judge in judges.values():
        assert all(torch.isfinite(p).all() for p in judge.parameters())
    again = load_attribute_judges("toy", train, JudgeConfig(steps=60, batch_size=32),
                                  root=tmp_path, progress=False)
    assert again["image"].unlearned == [2]
    torch.testing.assert_close(again["image"].predict(test.images), image.predict(test.images))


def test_a_modality_without_labelled_training_items_has_no_judge(tmp_path):
    labels = np.random.default_rng(2).integers(0, 3, (64, 2))
    present = np.ones((64, 3), dtype=bool)
    present[:, 2] = False  # no audio at all
    train = _split(labels, ("red", "green"), (3, 3), present)
    judges = load_attribute_judges("toy", train, JudgeConfig(steps=5, batch_size=16),
                                   root=tmp_path, progress=False)
    assert set(judges) == {"text", "image"}
    evaluators = embedded_evaluators(judges, {}, "toy-v1")
    assert evaluators.lookup("attributes", "audio") is None
    assert "no training audio item has a label" in evaluators.gap("attributes", "audio")


def test_no_label_columns_means_no_judges_and_skipped_metrics_with_reasons(tmp_path):
    train = _split(np.zeros((32, 0), dtype=np.int64), (), ())
    assert load_attribute_judges("toy", train, root=tmp_path, progress=False) == {}
    evaluators = embedded_evaluators({}, {}, "toy-v1")
    for modality in MODALITIES:
        for role in ("attributes", "features", "captions"):
            expected = evaluators.captions if role == "captions" else None
            assert evaluators.lookup(role, modality) is expected
        for other in MODALITIES:
            if other != modality:
                assert evaluators.lookup("pair", modality, other) is None
    test = _split(np.zeros((16, 0), dtype=np.int64), (), ())
    rng = np.random.default_rng(3)
    true = {m: rng.standard_normal((16, 4)) for m in MODALITIES}
    real = RealReference(test=test, embeddings=true, evaluators=evaluators,
                         embedding_evaluator=BACKBONE)
    assert real.labels is None and real.label_names == ()
    scores = score_target("image", ("text",), test.images, true["image"], real)
    assert scores.skipped["image.attr_acc"] == "the test items have no attribute labels"
    assert scores.skipped["image.fid"] == (
        "the embedded evaluators have no features evaluator for the image: its features are "
        "the attribute judge's, and the dataset has no label columns, or labels no training "
        "item, to train an attribute judge on")
    assert "no training item holds both text and image" in scores.skipped["image.clip"]
    assert {"image.emb_fd[backbone:toy-v1]", "image.emb_r_at_1[backbone:toy-v1]"} <= set(
        scores.values)


def test_a_pair_without_training_pairs_gets_no_contrastive_judge(tmp_path):
    present = np.zeros((20, 3), dtype=bool)
    present[:10, 0] = present[10:, 1] = True  # text alone or image alone, never audio
    train = _split(np.zeros((20, 1), dtype=np.int64), ("a",), (1,), present)
    assert load_contrastive_judges("toy", train, ContrastiveJudgeConfig(steps=1),
                                   root=tmp_path, progress=False) == {}


# ---------------------------------------------------------------------- emb_r_at_1


def test_emb_r_at_1_is_one_for_the_truth_and_chance_when_shuffled():
    rng = np.random.default_rng(4)
    n = 400
    true = rng.standard_normal((n, 16))
    assert embedding_retrieval_at_1(true, true).value == 1.0
    assert embedding_retrieval_at_1(3.0 * true + 0.01 * rng.standard_normal((n, 16)),
                                    true).value == 1.0
    shuffled = [embedding_retrieval_at_1(true[rng.permutation(n)], true).value
                for _ in range(20)]
    assert np.mean(shuffled) == pytest.approx(1 / n, abs=2 / n)
    assert embedding_retrieval_at_1(np.zeros((n, 16)), true).value == pytest.approx(1 / n)


# --------------------------------------------------------- a reference without media


def test_a_reference_without_media_scores_only_the_decoder_free_metrics():
    rng = np.random.default_rng(5)
    n = 32
    true = {m: rng.standard_normal((n, 8)) for m in MODALITIES}
    labels = rng.integers(0, 3, (n, 2))
    real = RealReference(test=None, embeddings=true, evaluators=embedded_evaluators({}, {}, "v"),
                         embedding_evaluator=BACKBONE, labels=labels, label_names=("a", "b"))
    assert not any(real.has_media(m) for m in MODALITIES) and real.media("image") is None
    generated = true["image"] + 0.1 * rng.standard_normal((n, 8))
    task = Task(("text", "audio"), ("image",))
    scores = score_target("image", task.sources, None, generated, real)
    assert set(scores.values) == {f"image.{name}[{BACKBONE}]"
                                  for name in ("emb_fd", "emb_cos", "emb_r_at_1")}
    assert scores.values[f"image.emb_r_at_1[{BACKBONE}]"].value == 1.0
    no_decoded = ("no decoded image media: the dataset holds precomputed embeddings, nothing "
                  "decodes them")
    for key in ("image.attr_acc", "image.fid", "image.kid", "image.clip", "image.ais"):
        assert scores.skipped[key] == no_decoded
    ceilings = evaluator_ceilings(task, real)
    assert not ceilings.values
    assert ceilings.skipped["image.attr_acc"] == (
        "no real image media: the dataset holds precomputed embeddings")
    assert ceilings.skipped["text2image.r_at_1"] == ceilings.skipped["image.attr_acc"]
    without_labels = RealReference(test=None, embeddings=true, evaluators=real.evaluators,
                                   embedding_evaluator=BACKBONE)
    assert without_labels.labels is None
    with pytest.raises(ValueError, match="one column per label name"):
        RealReference(test=None, embeddings=true, evaluators=real.evaluators,
                      embedding_evaluator=BACKBONE, labels=labels, label_names=("a",))
