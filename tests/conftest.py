"""Fixtures shared by the test modules, one section per concern.

- threads: ``single_thread`` for modules that train tiny networks on a busy 2-core machine
  (opt in with ``pytestmark = pytest.mark.usefixtures("single_thread")``)
- methods: partially paired embedding batches, Lightning training, linear-Gaussian
  known answers
- datasets and caches: smoke caches built once per test session

Under pytest-xdist (``make test`` runs one worker per usable CPU) each worker computes
with its share of the usable CPUs: ``OMP_NUM_THREADS`` is set before numpy and torch start
their thread pools, so the workers never run more threads than there are cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.core.threads import usable_cpus

if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(
        1, usable_cpus() // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))

# Imported after the thread count is set: numpy and torch read it when they load.
import pytest
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from benchmark.core.modalities import MODALITIES

if TYPE_CHECKING:
    import pytorch_lightning as pl

# ------------------------------------------------------------------------------ threads


@pytest.fixture(scope="module")
def single_thread() -> Iterator[None]:
    """One torch thread for the module: tiny matrices gain nothing from two, and the
    machine is shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------------------ methods

#: Presence flags (in ``MODALITIES`` order) of the three pair groups: text-image,
#: text-audio, image-audio.
PAIR_GROUPS = ((True, True, False), (True, False, True), (False, True, True))


def presence(n: int, patterns: Sequence[tuple[bool, ...]] = PAIR_GROUPS) -> dict[str, Tensor]:
    """``present`` flags of ``n`` rows that cycle through ``patterns``."""
    mask = torch.tensor([patterns[i % len(patterns)] for i in range(n)], dtype=torch.bool)
    return {m: mask[:, i] for i, m in enumerate(MODALITIES)}


def partially_paired_batch(
    n: int = 24, dim: int = 8, seed: int = 0, patterns: Sequence[tuple[bool, ...]] = PAIR_GROUPS
) -> dict:
    """Random ``dim``-wide embeddings of every modality, rows cycling through ``patterns``
    (pair groups by default); an absent modality's entries are zero."""
    g = torch.Generator().manual_seed(seed)
    present = presence(n, patterns)
    batch: dict = {m: torch.randn(n, dim, generator=g) * present[m][:, None] for m in MODALITIES}
    batch["present"] = present
    return batch


def fit(model: pl.LightningModule, batches: list[dict]) -> pl.Trainer:
    """Train ``model`` with Lightning on the CPU, one optimiser step per batch, quietly."""
    import pytorch_lightning as pl

    trainer = pl.Trainer(
        max_steps=len(batches),
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, DataLoader(batches, batch_size=None))
    return trainer


@dataclass(frozen=True)
class LinearGaussian:
    """A known answer: text ``s ~ N(0, I)`` and image ``y = A s + b + sigma e``, ``e ~ N(0, I)``.

    Given ``s``, ``y ~ N(A s + b, sigma^2 I)``; the marginal is ``N(b, A A^T + sigma^2 I)``
    and ``Cov(y, s) = A``. ``bounds`` maps names of :meth:`errors` to the open interval a
    trained model's error must fall in; ``samples`` is how many texts it is measured on.
    """

    a: Tensor
    b: Tensor
    sigma: float
    bounds: dict[str, tuple[float, float]]
    samples: int

    def pairs(self, n: int, seed: int) -> tuple[Tensor, Tensor]:
        g = torch.Generator().manual_seed(seed)
        s = torch.randn(n, self.a.shape[1], generator=g)
        return s, s @ self.a.T + self.b + self.sigma * torch.randn(n, self.a.shape[0], generator=g)

    def batches(self, count: int, size: int = 256) -> list[dict]:
        """``count`` freshly drawn batches (seeds 1000, 1001, ...) of text-image pairs only."""
        every = torch.ones(size, dtype=torch.bool)
        batches = []
        for i in range(count):
            s, y = self.pairs(size, seed=1000 + i)
            batches.append({"text": s, "image": y, "present": {"text": every, "image": every}})
        return batches

    def errors(self, model: pl.LightningModule) -> dict[str, float]:
        """How far ``model``'s text2image samples (20 Euler steps, seeded) are from the truth.

        ``mean``: largest error of the mean; ``covariance``: largest entry error and
        ``relative_covariance``: Frobenius error relative to the truth's, of the
        marginal covariance; ``cross``: largest entry error of ``Cov(y, s)``;
        ``residual_mean``, ``residual_std``: largest mean and average standard deviation
        of the residual ``y - (A s + b)`` (the truth: 0 and ``sigma``);
        ``conditional_mse``: mean squared residual (the truth: ``sigma^2``).
        """
        s, _ = self.pairs(self.samples, seed=7)
        generator = torch.Generator().manual_seed(0)
        y = model.generate({"text": s}, ["image"], steps=20, generator=generator)["image"]
        k = s.shape[1]
        joint = torch.cov(torch.cat([s, y], dim=1).T)
        truth = self.a @ self.a.T + self.sigma**2 * torch.eye(self.a.shape[0])
        residual = y - (s @ self.a.T + self.b)
        return {
            "mean": (y.mean(dim=0) - self.b).abs().max().item(),
            "covariance": (joint[k:, k:] - truth).abs().max().item(),
            "relative_covariance": (
                torch.linalg.norm(joint[k:, k:] - truth) / torch.linalg.norm(truth)
            ).item(),
            "cross": (joint[k:, :k] - self.a).abs().max().item(),
            "residual_mean": residual.mean(dim=0).abs().max().item(),
            "residual_std": residual.std(dim=0).mean().item(),
            "conditional_mse": residual.pow(2).mean().item(),
        }

    def check_learned_by(self, model: pl.LightningModule, steps: int) -> None:
        """Train ``model`` for ``steps`` Lightning steps on fresh batches; every bounded
        error of its samples must fall inside its bounds."""
        fit(model, self.batches(steps))
        errors = self.errors(model)
        outside = {k: errors[k] for k, (lo, hi) in self.bounds.items() if not lo < errors[k] < hi}
        assert not outside, f"outside {self.bounds}: {outside} (all errors: {errors})"


#: Two-dimensional text and image, ``sigma = 0.1`` (the joint and CoDi known answers).
#: Truth: mean ``b``, covariance ``A A^T + 0.01 I`` (entries up to 1.26), cross-covariance
#: ``A``. With 4000 samples the sampling error of a mean is ~0.02 and of a covariance
#: entry ~0.03, so the 0.15 tolerance is ~5 standard errors and leaves room for a
#: 400-step model (observed errors <= 0.08), while a model that ignores the source
#: (cross-covariance 0) or outputs N(0, I) fails it. The conditional error must be near
#: ``sigma^2 = 0.01``, far below the ~1.1 of the marginal.
GAUSSIAN_2D = LinearGaussian(
    a=torch.tensor([[1.0, 0.5], [-0.5, 0.8]]),
    b=torch.tensor([0.5, -1.0]),
    sigma=0.1,
    bounds={"mean": (0, 0.15), "covariance": (0, 0.15), "cross": (0, 0.15),
            "conditional_mse": (0, 0.1)},
    samples=4000,
)
#: Four-dimensional text, six-dimensional image, ``sigma = 0.3`` (CFM and CrossFlow).
#: The residual ``y - (A s + b)`` must have mean below 0.1 per dimension (the marginal
#: std per dimension is ~1) and std in [0.2, 0.55] around the true 0.3 - a model that
#: ignored the source would have ~1; the marginal mean must be within 0.1 of ``b`` and
#: the covariance within 15% (Frobenius, relative) of ``A A^T + 0.09 I``.
GAUSSIAN_4_TO_6 = LinearGaussian(
    a=torch.randn(6, 4, generator=torch.Generator().manual_seed(0)) / 2,
    b=torch.randn(6, generator=torch.Generator().manual_seed(1)),
    sigma=0.3,
    bounds={"residual_mean": (0, 0.1), "residual_std": (0.2, 0.55), "mean": (0, 0.1),
            "relative_covariance": (0, 0.15)},
    samples=2000,
)


# ------------------------------------------------------------------- datasets and caches


@pytest.fixture
def no_cache_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """For sweeps whose runs are stand-in commands that read no cache: skip building the
    configs' caches first (``sweep.build_caches``). On a fresh clone that build is the
    default profile's whole pipeline (minutes), and on a busy machine it can outlast a
    claim a test holds in another process."""
    from benchmark.sweep import planning as sweep

    monkeypatch.setattr(sweep, "build_caches", lambda configs, progress: None)


@pytest.fixture(scope="session")
def smoke_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment for ``python -m benchmark`` subprocesses on the smoke profile: its
    ``ANYBENCH_CACHE`` is a folder that ``prepare --profile smoke`` filled once (dataset,
    backbones, judges, embeddings), so every run and sweep finds them cached. The folder is
    ``ANYBENCH_TEST_CACHE`` when set (CI passes its cache, so its drift check finds the
    smoke caches built), else one shared by this session's xdist workers; a file lock lets
    one worker build while the other waits. ``OMP_NUM_THREADS`` fixes a ``run``'s thread
    count (it would otherwise follow the load at its start: benchmark/core/threads.py), so
    runs compared with each other compute alike."""
    cache = _smoke_cache_folder(tmp_path_factory)
    env = {"OMP_NUM_THREADS": str(usable_cpus()), **os.environ, "ANYBENCH_CACHE": str(cache)}
    from filelock import FileLock

    with FileLock(f"{cache}.lock"):
        prepared = subprocess.run(
            [sys.executable, "-m", "benchmark", "prepare", "--profile", "smoke", "--preview",
             str(tmp_path_factory.mktemp("smoke-preview"))],
            capture_output=True, text=True, env=env, timeout=900,
        )
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    return env


def _smoke_cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``ANYBENCH_TEST_CACHE``, else a folder of this session (under xdist: the workers'
    common base folder)."""
    if os.environ.get("ANYBENCH_TEST_CACHE"):
        return Path(os.environ["ANYBENCH_TEST_CACHE"]).resolve()
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return tmp_path_factory.mktemp("smoke-cache")
    folder = tmp_path_factory.getbasetemp().parent / "smoke-cache"
    folder.mkdir(exist_ok=True)
    return folder
