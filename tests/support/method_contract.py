"""The checks every registered method passes, as one function a test can call on any class.

``check_method_contract(cls)`` builds the class's ``tiny`` preset over 16-d embeddings of
the three modalities and checks, in order: the class-level settings the harness reads;
that bad settings are :class:`UserError` s with a hint; one Lightning training step that
logs a finite ``train/loss``; that the loss is finite and falls under Adam on a fixed
batch; ``generate`` for every task the instance supports (shapes, repeatability under a
seeded generator, eval mode restored, the velocity networks run, an adaptive solver,
guidance where the method has it) and its input checks; that an instance built for
some tasks serves them; that a two-modality instance refuses a task needing the third
with a reason naming it; and parameter counts on the meta device (the ``paper`` preset
where there is one).
"""

from __future__ import annotations

import pytest
import torch

from benchmark.core.errors import UserError
from benchmark.core.modalities import MODALITIES
from benchmark.core.tasks import Task, all_tasks, parse_task
from methods.base import AnyToAnyMethod
from support.batches import fit, partially_paired_batch

DIM = 16
ROWS = 6
STEPS = 10


def check_method_contract(method_cls: type) -> None:
    """Run every contract check on ``method_cls`` (an :class:`AnyToAnyMethod` subclass)."""
    check_class_settings(method_cls)
    torch.manual_seed(0)
    model = method_cls({m: DIM for m in MODALITIES}, preset="tiny")
    check_training(model)
    check_generate(model)
    check_tasks_given_at_construction(method_cls)
    check_refusal(method_cls)
    check_meta_parameter_count(method_cls)


def check_class_settings(method_cls: type) -> None:
    """What the harness reads before building anything, and errors for bad settings."""
    assert issubclass(method_cls, AnyToAnyMethod)
    assert isinstance(method_cls.name, str) and method_cls.name
    assert "tiny" in method_cls.presets
    assert isinstance(method_cls.single_stage, bool)
    assert set(method_cls.paper_embedding_dims) <= set(MODALITIES)
    dims = {m: DIM for m in MODALITIES}
    with pytest.raises(UserError, match="did you mean 'tiny'"):
        method_cls(dims, preset="tine")
    with pytest.raises(UserError, match=r"unknown .* setting 'no_such_setting'"):
        method_cls(dims, preset="tiny", no_such_setting=1)
    with pytest.raises(ValueError, match="at least two modalities"):
        method_cls({"text": DIM}, preset="tiny")


def check_training(model: AnyToAnyMethod) -> None:
    """One Lightning step logs a finite loss; Adam on one fixed batch makes it fall.

    Adam runs at the preset's own learning rate (1e-3 for every built-in ``tiny``). Each
    loss is evaluated under the same seed, so the optimiser sees one fixed objective: the
    mean of the last three of ``STEPS`` losses must be below 90% of the mean of the first
    three (the five methods here reach 7-30%).
    """
    c = model.config
    assert min(c.batch_size, c.max_steps, c.sampling_steps, model.default_sampling_steps) >= 1
    assert model.hparams["preset"] == "tiny"
    batch = partially_paired_batch(n=48, dim=DIM, seed=0)
    trainer = fit(model, [batch])
    assert torch.isfinite(trainer.callback_metrics["train/loss"])

    optimizer = torch.optim.Adam(model.parameters(), lr=c.lr, fused=True)
    losses = []
    for _ in range(STEPS):
        torch.manual_seed(1)
        loss = model.loss(batch)
        assert loss.ndim == 0 and torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-3:]) < 0.9 * sum(losses[:3]), losses


def check_generate(model: AnyToAnyMethod) -> None:
    """Every supported task: one ``[ROWS, DIM]`` tensor per target, the same twice under
    one seed, training mode restored, and at least one velocity network called."""
    served = [task for task in all_tasks() if model.supports(task)]
    assert served, "the method serves no task over three modalities"
    test = partially_paired_batch(n=ROWS, dim=DIM, seed=1, patterns=[(True, True, True)])
    guidances = [None, model.default_guidance]
    if model.offers_guidance:
        guidances.append(2.0)
    model.train()
    calls = []
    hooks = [
        net.register_forward_hook(lambda *_: calls.append(1)) for net in model.velocity_networks()
    ]
    try:
        for task in served:
            sources = {m: test[m] for m in task.sources}
            for guidance in guidances:
                first, again = (
                    model.generate(
                        sources,
                        task.targets,
                        steps=2,
                        guidance=guidance,
                        generator=torch.Generator().manual_seed(0),
                    )
                    for _ in range(2)
                )
                assert list(first) == list(task.targets), task
                for m in task.targets:
                    assert first[m].shape == (ROWS, DIM), (task, m)
                    assert torch.isfinite(first[m]).all(), (task, m)
                    assert torch.equal(first[m], again[m]), (task, m)
        assert model.training
    finally:
        for hook in hooks:
            hook.remove()
    assert calls, "generate never called velocity_networks()"

    task = served[0]
    sources = {m: test[m] for m in task.sources}
    adaptive = model.generate(sources, task.targets, steps=1, solver="dopri5")
    assert all(adaptive[m].shape == (ROWS, DIM) for m in task.targets)
    with pytest.raises(ValueError, match="steps"):
        model.generate(sources, task.targets, steps=0)
    with pytest.raises(ValueError, match="both a source and a target"):
        model.generate(sources, [*task.targets, task.sources[0]], steps=1)
    with pytest.raises(TypeError, match="no_such_option"):
        model.generate(sources, task.targets, steps=1, no_such_option=1)
    if not model.offers_guidance:
        with pytest.raises(ValueError, match="guidance"):
            model.generate(sources, task.targets, steps=1, guidance=2.0)


def check_tasks_given_at_construction(method_cls: type) -> None:
    """An instance built for some tasks serves them, and counts no more than a full one."""
    dims = {m: DIM for m in MODALITIES}
    tasks = [parse_task("text+audio2image"), parse_task("image2text")]
    model = method_cls(dims, preset="tiny", tasks=tasks)
    assert all(model.supports(task) for task in tasks)
    full = method_cls(dims, preset="tiny")
    assert 0 < model.parameter_count(tasks) <= full.parameter_count(tasks)
    with pytest.raises(ValueError, match="audio"):
        method_cls({"text": DIM, "image": DIM}, preset="tiny", tasks=[parse_task("text2audio")])


def check_refusal(method_cls: type) -> None:
    """Built with text and image only, a task needing audio is refused and named."""
    model = method_cls({"text": DIM, "image": DIM}, preset="tiny")
    assert model.supports(Task(("text",), ("image",)))
    for task in (parse_task("text2audio"), parse_task("audio2image")):
        reason = model.refusal(task)
        assert reason is not None and "audio" in reason, (task, reason)
        assert not model.supports(task)
        sources = {m: torch.zeros(2, DIM) for m in task.sources}
        with pytest.raises(ValueError, match="audio"):
            model.generate(sources, task.targets, steps=1)
        with pytest.raises(ValueError, match="audio"):
            model.parameter_count([task])


def check_meta_parameter_count(method_cls: type) -> None:
    """The ``paper`` preset (else ``tiny``) builds on the meta device and counts parameters:
    each served task needs some, no more than the whole suite, which needs no more than
    the instance holds."""
    preset = "paper" if "paper" in method_cls.presets else "tiny"
    dims = dict(method_cls.paper_embedding_dims)
    with torch.device("meta"):
        model = method_cls(dims, preset=preset)
    assert all(p.is_meta for p in model.parameters())
    suite = [task for task in all_tasks() if model.supports(task)]
    whole = model.parameter_count(suite)
    assert 0 < whole <= sum(p.numel() for p in model.parameters())
    assert all(0 < model.parameter_count([task]) <= whole for task in suite)
    assert model.parameter_count([]) == 0
