"""Known answers for what only any-to-any models do: joint coherence of one-to-many
outputs, round trips, and the gain of a many-to-one task over its best single source.

The stand-in methods know the test items of the synthetic world (tests/support/metric_world.py):
each finds its source rows among the true test embeddings and answers with an item's true
target embeddings, so what it should score is known.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.core.feature_split import FeatureSplit
from benchmark.core.modalities import MODALITIES, Modality
from benchmark.core.tasks import Task
from benchmark.data.embeddings.folder import write_embeddings_folder
from benchmark.scoring.evaluation import RealReference, evaluator_ceilings, score_outputs
from benchmark.scoring.sampling import Sampling
from metrics import spec_of
from metrics.evaluators.evaluator_set import Evaluators
from metrics.source_gain import NoGain, source_gain
from metrics.value import MetricValue
from support.metric_world import N, fake_evaluators, pair_encoding, reference

ONE_TO_MANY = Task(("text",), ("image", "audio"))
PAIR = "image~audio"


class ItemLookup:
    """Answers ``generate`` with the true target embeddings of the test item each source
    row is nearest to; ``shuffled`` targets get another item's (a fixed permutation)."""

    def __init__(self, true: dict[Modality, np.ndarray], shuffled: Modality | None = None):
        self.true = true
        self.shuffled = shuffled
        self.order = np.random.default_rng(5).permutation(len(next(iter(true.values()))))
        self.calls: list[tuple[tuple[str, ...], tuple[str, ...]]] = []

    def items(self, modality: Modality, rows: torch.Tensor) -> np.ndarray:
        distances = ((rows.numpy()[:, None, :] - self.true[modality][None]) ** 2).sum(axis=2)
        return distances.argmin(axis=1)

    def generate(self, sources, targets, *, steps, guidance, generator):
        self.calls.append((tuple(sources), tuple(targets)))
        modality, rows = next(iter(sources.items()))
        items = self.items(modality, rows)
        return {t: torch.as_tensor(self.true[t][self.order[items] if t == self.shuffled
                                                 else items]) for t in targets}


def _sampling(task: Task, real: RealReference) -> Sampling:
    return Sampling(sources={m: torch.as_tensor(real.embeddings[m]) for m in task.sources},
                    targets=task.targets, steps=1, guidance=None, seed=0, via=task.via)


def _scores(method: ItemLookup, task: Task, real: RealReference) -> dict[str, MetricValue]:
    """The method's outputs, "decoded" to the real media of the items they are, scored."""
    generated = _sampling(task, real).generate(method)
    media = {}
    for target, z in generated.items():
        items = method.items(target, z)
        real_media = real.test.media(target)
        media[target] = ([real_media[i] for i in items] if target == "text"
                         else real_media[items])
    embeddings = {target: z.numpy() for target, z in generated.items()}
    return score_outputs(task, media, embeddings, real).values


def test_true_targets_score_the_real_pairs_coherence_and_shuffled_ones_chance():
    real = reference()
    perfect = _scores(ItemLookup(real.embeddings), ONE_TO_MANY, real)
    shuffled = _scores(ItemLookup(real.embeddings, shuffled="audio"), ONE_TO_MANY, real)
    ceilings = evaluator_ceilings(ONE_TO_MANY, real).values
    pair_id = f"{PAIR}.coherence[fake-pair:image-audio]"
    for metric in (pair_id, f"{PAIR}.coherence_rank[fake-pair:image-audio]",
                   f"{PAIR}.attr_agree[fake-judge]"):
        assert perfect[metric].value == pytest.approx(ceilings[metric].value)
        assert perfect[metric].per_sample is not None and perfect[metric].n == N
    assert perfect[f"{PAIR}.attr_agree[fake-judge]"].value == 1.0
    # chance: the rank of a random other item's audio (50 but for the fake encoder's ties),
    # a quarter of the labels agree (4 values), the two cosine profiles do not correlate
    assert shuffled[f"{PAIR}.coherence_rank[fake-pair:image-audio]"].value == pytest.approx(
        _rank_of_a_random_partner(real), abs=12)
    assert shuffled[f"{PAIR}.attr_agree[fake-judge]"].value == pytest.approx(0.25, abs=0.12)
    emb = f"{PAIR}.emb_coherence[fake-backbone]"
    assert shuffled[emb].value == pytest.approx(0, abs=0.15)
    assert perfect[emb].value > 0.4 > shuffled[emb].value + 0.2
    # the targets' own metrics are those of the directed tasks: against the truth, perfect
    assert perfect["audio.emb_cos[fake-backbone]"].value == pytest.approx(1.0)
    assert shuffled["image.emb_cos[fake-backbone]"].value == pytest.approx(1.0)


def _rank_of_a_random_partner(real: RealReference) -> float:
    """coherence_rank's expectation when item i's audio is another item k's, k uniform:
    100 * mean over i, k != i of the share of j != i with cos(a_i, b_j) < cos(a_i, b_k)."""
    similarity = (pair_encoding("image", real.test.media("image"))
                  @ pair_encoding("audio", real.test.media("audio")).T)
    ranks = []
    for i, row in enumerate(similarity):
        others = np.delete(row, i)
        ranks.append((others[:, None] < others[None, :]).mean())
    return 100 * float(np.mean(ranks))


def test_a_round_trip_runs_both_legs_and_a_perfect_one_returns_the_source():
    real = reference()
    method = ItemLookup(real.embeddings)
    cycle = Task(("text",), ("text",), via="image")
    scores = _scores(method, cycle, real)
    assert method.calls == [(("text",), ("image",)), (("image",), ("text",))]
    assert scores["text.emb_cos[fake-backbone]"].value == pytest.approx(1.0)
    assert scores["text.emb_r_at_1[fake-backbone]"].value == 1.0
    assert scores["text.attr_acc[fake-judge]"].value == 1.0
    assert not [key for key in scores if "~" in key or "2" in key.split(".")[0]]


def test_the_round_trip_cosine_of_a_linear_gaussian_toy_matches_its_closed_form():
    """Source x ~ N(0, I_d); there y = Q x + s1 e1, back x' = Q^T y + s2 e2 (Q orthogonal),
    so x' = x + n with n ~ N(0, (s1^2 + s2^2) I): cos(x, x') -> 1 / sqrt(1 + s1^2 + s2^2)
    as d grows (|x|^2 ~ d, <x, n> ~ sqrt(d), |x + n|^2 ~ d (1 + s1^2 + s2^2))."""
    d, n, s1, s2 = 512, 300, 0.6, 0.8
    rng = np.random.default_rng(0)
    q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    true = {"text": rng.standard_normal((n, d)).astype(np.float32)}

    class LinearGaussian:
        def generate(self, sources, targets, *, steps, guidance, generator):
            (source, x), = sources.items()
            there = source == "text"
            mapped = x @ torch.as_tensor(q.T if there else q, dtype=x.dtype)
            noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
            return {targets[0]: mapped + (s1 if there else s2) * noise}

    none = Evaluators(kind="none", attributes={}, features={}, pairs={}, captions=None)
    real = RealReference(test=None, embeddings=true, evaluators=none, embedding_evaluator="toy")
    cycle = Task(("text",), ("text",), via="image")
    returned = _sampling(cycle, real).generate(LinearGaussian())["text"].numpy()
    value = score_outputs(cycle, {}, {"text": returned}, real).values["text.emb_cos[toy]"]
    assert value.value == pytest.approx(1 / np.sqrt(1 + s1**2 + s2**2), abs=0.01)


def test_a_gain_is_the_difference_to_the_best_single_source_signed_by_direction():
    def per_item(scores):
        scores = np.asarray(scores, dtype=float)
        return MetricValue(float(scores.mean()), len(scores), per_sample=scores)

    both, text, audio = per_item([1, 1, 0, 1]), per_item([1, 0, 0, 1]), per_item([0, 0, 0, 1])
    gain = source_gain(spec_of("emb_cos"), both, {"text": text, "audio": audio})
    assert gain.value == pytest.approx(0.25)
    np.testing.assert_array_equal(gain.per_sample, [0, 1, 0, 0])
    assert gain.details == {"best_single": "text", "singles": {"text": 0.5, "audio": 0.25}}

    rng = np.random.default_rng(0)
    real = rng.standard_normal((200, 4))

    def set_value(shift: float) -> MetricValue:
        generated = real + shift + 0.1 * rng.standard_normal(real.shape)
        return spec_of("emb_fd").compute(_inputs(generated, real))

    fd_both, fd_text, fd_audio = set_value(0.0), set_value(1.0), set_value(2.0)
    gain = source_gain(spec_of("emb_fd"), fd_both, {"text": fd_text, "audio": fd_audio})
    assert gain.details["best_single"] == "text"  # lower is better
    assert gain.value == pytest.approx(fd_text.value - fd_both.value) and gain.value > 3
    assert 0 < gain.ci_low < gain.value < gain.ci_high
    assert spec_of("gain_emb_fd").higher_is_better and spec_of("gain_fid").from_features is None

    corpus = MetricValue(0.3, 4, per_sample=np.array([0.1, 0.2, 0.3, 0.9]))
    with pytest.raises(NoGain, match="corpus statistic"):
        source_gain(spec_of("bleu4"), corpus, {"text": corpus, "audio": corpus})


def _inputs(generated: np.ndarray, real: np.ndarray):
    from metrics.spec import MetricInputs

    return MetricInputs(output=generated, reference=real)


def test_a_metric_between_targets_without_its_evaluator_is_skipped_with_the_reason():
    real = reference(evaluators=Evaluators(kind="fake", attributes={}, features={}, pairs={},
                                           captions=None))
    media = {t: real.test.media(t) for t in ONE_TO_MANY.targets}
    scores = score_outputs(ONE_TO_MANY, media, {t: real.embeddings[t] for t in media}, real)
    assert "no pair evaluator for the image-audio pair" in scores.skipped[f"{PAIR}.coherence"]
    assert "no attributes evaluator for the image" in scores.skipped[f"{PAIR}.attr_agree"]
    assert f"{PAIR}.emb_coherence[fake-backbone]" in scores.values
    assert fake_evaluators().lookup("pair", "audio", "image") is not None


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmark", *args], capture_output=True,
                          text=True, timeout=300, env=env)


@pytest.mark.parametrize(("task", "message"), [
    ("text2image2image", "a round trip returns to its source"),
    ("text2text2text", "goes through another modality"),
    ("text+audio2image2text", "one modality at a time"),
])
def test_a_bad_round_trip_is_one_line_exit_2(task, message):
    result = _cli("run", "--method", "flowbind", "--task", task)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_round_trip_through_a_modality_the_test_items_lack_is_refused_before_training(
        tmp_path: Path):
    rng = np.random.default_rng(0)

    def split(n: int, audio: bool) -> FeatureSplit:
        present = np.ones((n, 3), dtype=bool)
        present[:, 2] = audio
        return FeatureSplit({m: rng.normal(size=(n, 6)).astype(np.float32) * present[:, [j]]
                             for j, m in enumerate(MODALITIES)}, present,
                            np.zeros((n, 0), int), (), ())

    write_embeddings_folder(tmp_path / "feats", {"train": split(40, True),
                                                 "test": split(10, False)},
                            {"train": [f"a{i}" for i in range(40)],
                             "test": [f"b{i}" for i in range(10)]}, {})
    result = _cli("run", "--method", "cfm", "--task", "text2audio2text", "--dataset",
                  str(tmp_path / "feats"), "--results", str(tmp_path / "runs"),
                  "--no-progress", env={**os.environ, "ANYBENCH_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 2, result.stderr[-2000:]
    assert "test items without audio, which text2audio2text needs" in result.stderr
    assert "[anybench] training" not in result.stderr
    assert not list((tmp_path / "runs").glob("*.json"))


def test_one_suite_training_scores_a_round_trip_a_joint_pair_and_a_gain(tmp_path, smoke_env):
    tasks = "text2image2text,image2text+audio,text+audio2image"
    result = subprocess.run(
        [sys.executable, "-m", "benchmark", "run", "--method", "cfm", "--task", tasks,
         "--protocol", "suite", "--profile", "smoke", "--results", str(tmp_path),
         "--no-progress"], capture_output=True, text=True, env=smoke_env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    records = {r["task"]: r for r in (json.loads(p.read_text()) for p in tmp_path.glob("*.json"))}
    assert sorted(records) == sorted(tasks.split(","))
    cycle = records["text2image2text"]
    assert "text.emb_cos[backbone:scenes-v1]" in cycle["metrics"]
    assert cycle["references"]["oracle"]["text.emb_cos[backbone:scenes-v1]"]["value"] == 1.0
    joint = records["image2text+audio"]
    for row in (joint["metrics"], joint["references"]["chance"], joint["judges"]):
        assert "text~audio.coherence[contrastive-judge:scenes-v1]" in row
    gain = records["text+audio2image"]["metrics"]["image.gain_attr_acc[judge:scenes-v1]"]
    assert gain["best_single"] in ("text", "audio") and gain["ci_low"] <= gain["value"]
