"""Registered any-to-any methods; each lives in its own module and is imported lazily."""

from __future__ import annotations

from benchmark.registry import Registry

METHODS: Registry[type] = Registry("method")


def _flowbind() -> type:
    from methods.flowbind import FlowBind

    return FlowBind


METHODS.add(
    "flowbind",
    "shared latent anchor + one invertible flow per modality, one flow-matching loss (FlowBind)",
    _flowbind,
)
