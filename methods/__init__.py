"""Registered any-to-any methods; each lives in its own module and is imported lazily."""

from __future__ import annotations

from benchmark.core.registry import Registry

METHODS: Registry[type] = Registry("method", "anybench.methods")


METHODS.add(
    "flowbind",
    "methods.flowbind:FlowBind",
    "shared latent anchor + one invertible flow per modality, one flow-matching loss (FlowBind)",
)
METHODS.add(
    "crossflow",
    "methods.crossflow:CrossFlow",
    "variational encoder + direct source-to-target flow, one model per ordered pair (CrossFlow)",
)
METHODS.add(
    "cfm",
    "methods.cfm:CFM",
    "conditional flow matching from noise, one source-conditioned flow per ordered pair (CFG)",
)
METHODS.add(
    "joint",
    "methods.joint:Joint",
    "one network over all modalities, one time per modality, rectified flow (UniDiffuser/OmniFlow)",
)
METHODS.add(
    "codi",
    "methods.codi:CoDi",
    "one conditional flow per target, conditions mixed in a text-anchored aligned space (CoDi)",
)
