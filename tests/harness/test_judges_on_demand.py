"""Judges are made when first read: a run of one task on cold caches trains only the judges
that scoring its task reads (benchmark/core/on_demand.py, benchmark/run/preparation.py)."""

import numpy as np
import pytest
import torch

from benchmark.core.on_demand import OnDemand
from benchmark.core.tasks import parse_task
from benchmark.run.preparation import judges_read_by
from metrics.evaluators.evaluator_set import embedded_evaluators

MODALITIES = ("text", "image", "audio")
PAIRS = (("text", "image"), ("text", "audio"), ("image", "audio"))


def _recording(keys, made: list) -> OnDemand:
    def maker(key):
        def make():
            made.append(key)
            return f"value of {key}"
        return make

    return OnDemand({key: maker(key) for key in keys})


def test_values_are_made_once_on_first_read_and_listing_keys_makes_none():
    made = []
    values = _recording(["a", "b"], made)
    assert list(values) == ["a", "b"] and len(values) == 2 and "a" in values
    assert made == [] and values.made == []
    assert values["b"] == "value of b" and values["b"] == "value of b"
    assert made == ["b"] and values.made == ["b"]
    values.make(["a", "z"])  # a key it lacks is ignored
    assert made == ["b", "a"]
    with pytest.raises(KeyError):
        values["z"]


def test_making_a_value_leaves_the_global_random_state_as_it_was():
    values = OnDemand({"noisy": lambda: torch.manual_seed(7) and torch.rand(3)})
    torch.manual_seed(0)
    expected = torch.rand(2)
    torch.manual_seed(0)
    values["noisy"]
    torch.testing.assert_close(torch.rand(2), expected)


@pytest.mark.parametrize(("task", "modalities", "pairs"), [
    ("audio2image", ["image"], [("image", "audio")]),
    ("text2image", ["image"], [("text", "image")]),
    ("image+audio2text", ["text"], [("text", "image"), ("text", "audio")]),
    ("text2image+audio", ["image", "audio"], list(PAIRS)),
])
def test_a_task_reads_its_targets_judges_and_the_pairs_with_a_target(task, modalities, pairs):
    assert judges_read_by([parse_task(task)], MODALITIES, PAIRS) == (modalities, pairs)


def test_no_tasks_read_no_judges_and_none_means_every_judge():
    assert judges_read_by([], MODALITIES, PAIRS) == ([], [])
    assert judges_read_by(None, MODALITIES, PAIRS) == (list(MODALITIES), list(PAIRS))
    both = judges_read_by([parse_task("audio2image"), parse_task("image2text")], MODALITIES,
                          PAIRS)
    assert both == (["text", "image"], [("text", "image"), ("image", "audio")])


def test_the_evaluators_read_a_judge_only_when_they_are_applied():
    made = []

    class Judge:
        def __init__(self, key):
            self.key = key

        def predict(self, media):
            return torch.zeros(len(media), 1)

        def encode(self, modality, media):
            return torch.ones(len(media), 2)

    attribute = OnDemand({m: (lambda m=m: made.append(m) or Judge(m)) for m in MODALITIES})
    pairs = OnDemand({p: (lambda p=p: made.append(p) or Judge(p)) for p in PAIRS})
    evaluators = embedded_evaluators(attribute, pairs, "toy-v1")
    assert made == []
    assert set(evaluators.attributes) == set(MODALITIES) and len(evaluators.pairs) == 3
    evaluators.lookup("attributes", "audio").apply("audio", np.zeros((4, 8)))
    evaluators.lookup("pair", "image", "audio").apply("image", np.zeros((4, 2, 2, 3)))
    assert made == ["audio", ("image", "audio")]
