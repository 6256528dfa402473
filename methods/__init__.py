"""Registered any-to-any methods; each lives in its own module and is imported lazily."""

from __future__ import annotations

from importlib import import_module

from benchmark.core.registry import Registry

METHODS: Registry[type] = Registry("method", "anybench.methods")


def _lazy(module: str, name: str):
    """A loader that imports ``module`` (and torch) only when the method is used."""
    return lambda: getattr(import_module(module), name)


METHODS.add(
    "flowbind",
    "shared latent anchor + one invertible flow per modality, one flow-matching loss (FlowBind)",
    _lazy("methods.flowbind", "FlowBind"),
)
METHODS.add(
    "crossflow",
    "variational encoder + direct source-to-target flow, one model per ordered pair (CrossFlow)",
    _lazy("methods.crossflow", "CrossFlow"),
)
METHODS.add(
    "cfm",
    "conditional flow matching from noise, one source-conditioned flow per ordered pair (CFG)",
    _lazy("methods.cfm", "CFM"),
)
METHODS.add(
    "joint",
    "one network over all modalities, one time per modality, rectified flow (UniDiffuser/OmniFlow)",
    _lazy("methods.joint", "Joint"),
)
METHODS.add(
    "codi",
    "one conditional flow per target, conditions mixed in a text-anchored aligned space (CoDi)",
    _lazy("methods.codi", "CoDi"),
)
