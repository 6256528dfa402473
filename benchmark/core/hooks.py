"""Declared hooks: what a subclass of a template must define, checked when it is built.

A template (a method, a backbone, a dataset, an ODE solver) derives from :class:`Hooked`,
declares each hook its subclasses fill in with ``@abstractmethod`` (re-exported here) and
names in ``hooks_doc`` the page that describes them. Building an instance of a class that
leaves hooks undefined is then one :class:`~benchmark.core.errors.UserError` naming the
class and every missing hook:

    MyMethod does not define the hooks sample, velocity_networks: a subclass of
    AnyToAnyMethod defines every hook it declares (see docs/methods.md#add-your-own-method)

instead of Python's ``TypeError`` or a ``NotImplementedError`` half-way through a run.
``Hooked`` mixes with any base whose metaclass is ``type`` (``torch.nn.Module``,
``pl.LightningModule``) and with dataclasses.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any, ClassVar

from benchmark.core.errors import UserError

__all__ = ["Hooked", "abstractmethod", "missing_hooks"]


def missing_hooks(cls: type) -> list[str]:
    """The hooks ``cls`` leaves undefined, sorted by name (empty for a complete class)."""
    return sorted(getattr(cls, "__abstractmethods__", ()))


class HookedMeta(ABCMeta):
    """:class:`abc.ABCMeta` whose classes refuse to build an instance while hooks are
    undefined, with one :class:`UserError` naming them all."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        missing = missing_hooks(cls)
        if missing:
            template = next(base for base in cls.__mro__ if "hooks_doc" in vars(base))
            hooks = "hook" if len(missing) == 1 else "hooks"
            raise UserError(f"{cls.__name__} does not define the {hooks} {', '.join(missing)}: "
                            f"a subclass of {template.__name__} defines every hook it declares "
                            f"(see {template.hooks_doc})")
        return super().__call__(*args, **kwargs)


class Hooked(metaclass=HookedMeta):
    """Base of every template whose hooks are ``@abstractmethod``s (module docstring)."""

    hooks_doc: ClassVar[str] = "benchmark/core/hooks.py"
    """Where the template's hooks are described; each template sets its own."""
