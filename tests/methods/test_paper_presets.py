"""The published-size presets train through the same interface (issue 17): FlowBind's and
CrossFlow's ``paper`` presets on 768-d embeddings take two optimizer steps on the CPU.

Slow: CrossFlow's pair model has 0.96B parameters, about 15 GB with its gradients and
Adam's moments (FlowBind's 568M about 9 GB); each step takes seconds on two cores.
"""

from __future__ import annotations

import gc

import pytest
import torch

from benchmark.core.tasks import parse_task
from methods import METHODS
from support.batches import fit, partially_paired_batch

PAPER_WIDTH = 768


@pytest.mark.slow
@pytest.mark.parametrize("name, task, parameters", [
    ("flowbind", None, 567_972_864),
    ("crossflow", "text2image", 957_570_817),
])
def test_a_paper_preset_takes_two_optimizer_steps_on_768_d_embeddings(name, task, parameters):
    method_cls = METHODS.get(name)
    tasks = None if task is None else [parse_task(task)]
    torch.manual_seed(0)
    method = method_cls(dict(method_cls.paper_embedding_dims), preset="paper", tasks=tasks)
    assert set(method.dims.values()) == {PAPER_WIDTH}
    assert sum(p.numel() for p in method.parameters() if p.requires_grad) == parameters
    before = _fingerprint(method)
    batches = [partially_paired_batch(n=8, dim=PAPER_WIDTH, seed=seed) for seed in (0, 1)]
    with torch.no_grad():
        assert torch.isfinite(method.loss(batches[0]))
    steps = fit(method, batches).global_step
    moved = (_fingerprint(method) != before).double().mean().item()
    del method, batches
    gc.collect()  # the next preset needs the memory
    assert steps == 2
    assert moved > 0.5, f"only {moved:.0%} of the parameter tensors changed"


def _fingerprint(method: torch.nn.Module) -> torch.Tensor:
    """One float64 sum per trainable parameter tensor: cheap to keep beside a 1B model."""
    return torch.stack([p.detach().double().sum() for p in method.parameters()
                        if p.requires_grad])


@pytest.mark.parametrize("name", METHODS.names())
def test_every_method_trains_under_bf16_autocast(name):
    """``--precision bf16-mixed``: Lightning runs the objective under bf16 autocast, where
    layers return bf16 while the data stays float32 (FlowBind once mixed the two in one
    ``index_add`` and failed)."""
    method_cls = METHODS.get(name)
    method = method_cls({"text": 16, "image": 16, "audio": 16},
                        tasks=None if name not in ("crossflow", "cfm")
                        else [parse_task("text2image")])
    batch = partially_paired_batch(n=32, dim=16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = method.loss(batch)
    loss.backward()
    assert torch.isfinite(loss)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in method.parameters())
