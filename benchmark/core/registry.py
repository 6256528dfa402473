"""Name -> object registries with did-you-mean errors, and plug-ins from outside the repository.

An entry comes from one of three places, and ``ls`` says which (its ``origin``):

    built-in       ``REGISTRY.add(name, "module:attribute", description)`` in this
                   repository (or a callable returning the object instead of the string)
    entry point    an installed package's ``[project.entry-points."anybench.<kind>s"]``
                   table (``name = "module:attribute"``), found when the registry is
                   first listed or searched
    file           a name written ``path/to/file.py:Attribute``: the file is imported as
                   a module and the attribute taken from it, when that name is asked for

Entries load lazily: a target's module, and heavy modules it imports (torch), is imported
only when the entry is used. A registry made with ``describe`` (metrics: a spec's own
``description``) reads an entry's description from its loaded object, so an entry
registered without one is described in one place only.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Generic, TypeVar

from benchmark.core.errors import UserError

T = TypeVar("T")

BUILT_IN = "built-in"
PLUGIN_SEPARATOR = ".py:"
"""What marks a name as ``path/to/file.py:Attribute``."""


def did_you_mean(name: str, choices: list[str]) -> str:
    """A short hint naming the closest valid choice, or listing all of them."""
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    if close:
        return f"did you mean '{close[0]}'?"
    return "choose one of: " + ", ".join(choices)


def is_plugin_path(name: str) -> bool:
    """Whether ``name`` is written ``path/to/file.py:Attribute``."""
    return PLUGIN_SEPARATOR in name


def short_name(name: str) -> str:
    """A name fit for file names: ``linear_map.LinearMap`` for
    ``path/to/linear_map.py:LinearMap``, a registered name unchanged."""
    if not is_plugin_path(name):
        return name
    file_name, _, attribute = name.rpartition(":")
    return f"{Path(file_name).stem}.{attribute}"


def load_from_file(spec: str, kind: str) -> object:
    """The attribute named after the last ``:`` of ``spec`` in the Python file before it.

    The file is imported once per path under a module name derived from its resolved
    path (registered in ``sys.modules``, so classes defined there pickle and introspect
    like any other). A missing file or attribute is a :class:`UserError` naming it.
    """
    file_name, _, attribute = spec.rpartition(":")
    path = Path(file_name).expanduser().resolve()
    if not path.is_file():
        raise UserError(f"no {kind} file at {path} (from '{spec}'): give "
                        f"path/to/file.py:Name of an existing file")
    module_name = "anybench_plugin_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    module = sys.modules.get(module_name)
    if module is None:
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise UserError(f"cannot import {path} as a Python module")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module
        try:
            loader_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
    if not hasattr(module, attribute):
        public = [n for n in vars(module) if not n.startswith("_")]
        raise UserError(f"{path} has no {kind} '{attribute}': {did_you_mean(attribute, public)}")
    return getattr(module, attribute)


def _split_target(target: str) -> tuple[str, str]:
    """``(module, attribute)`` of ``"module:attribute"``; a ValueError for anything else."""
    module, separator, attribute = target.partition(":")
    if not separator or not module or not attribute or ":" in attribute:
        raise ValueError(f"a registry target reads 'module:attribute', got '{target}'")
    return module, attribute


def load_target(target: str) -> object:
    """The attribute named after the ``:`` of ``"module:attribute"``, its module imported."""
    module, attribute = _split_target(target)
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered object: its ``target`` (``"module:attribute"``, or a callable returning
    the object), the one-line description ``ls`` shows (``None``: ``describe`` of the loaded
    object) and its origin."""

    name: str
    target: str | Callable[[], T]
    summary: str | None = None
    origin: str = BUILT_IN
    describe: Callable[[T], str] | None = None

    def load(self) -> T:
        """The registered object, its module imported now if it was not yet."""
        if callable(self.target):
            return self.target()
        return load_target(self.target)

    @property
    def description(self) -> str:
        """The one-line description: ``summary``, else the loaded object's own."""
        if self.summary is not None:
            return self.summary
        if self.describe is None:
            raise ValueError(f"entry '{self.name}' has neither a description nor a describe")
        return self.describe(self.load())


class Registry(Generic[T]):
    """Named entries of one kind (methods, metrics, datasets, ...), loaded lazily on lookup.

    ``entry_point_group`` is the package metadata group scanned for entries installed by
    other packages (``anybench.methods``, ...). A name written ``path/to/file.py:Name``
    loads ``Name`` from that file. ``describe`` gives the description of an entry added
    without one, from its loaded object.
    """

    def __init__(self, kind: str, entry_point_group: str | None = None,
                 describe: Callable[[T], str] | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self.describe = describe
        self._entries: dict[str, Entry[T]] = {}
        self._scanned = entry_point_group is None

    def add(self, name: str, target: str | Callable[[], T], description: str | None = None,
            origin: str = BUILT_IN) -> None:
        """Register ``target`` (``"module:attribute"``, imported when first used, or a
        callable returning the object) as ``name``. ``description`` may be left out only in
        a registry that has ``describe``."""
        if name in self._entries:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        if description is None and self.describe is None:
            raise ValueError(f"{self.kind} '{name}' needs a description")
        if isinstance(target, str):
            _split_target(target)
        self._entries[name] = Entry(name, target, description, origin, self.describe)

    def _scan_entry_points(self) -> None:
        """Add the entries installed packages declare, once (a built-in name wins)."""
        if self._scanned:
            return
        self._scanned = True
        for point in metadata.entry_points(group=self.entry_point_group):
            if point.name in self._entries:
                continue
            package = point.dist.name if point.dist is not None else "an installed package"
            self.add(point.name, point.load, f"{point.value} (from {package})",
                     origin=f"entry point of {package}")

    def names(self) -> list[str]:
        self._scan_entry_points()
        return list(self._entries)

    def entry(self, name: str) -> Entry[T]:
        """The entry called ``name``; a ``file.py:Name`` loads from that file."""
        if is_plugin_path(name):
            return Entry(name, lambda: load_from_file(name, self.kind),
                         f"loaded from {name}", origin=f"file {name}")
        self._scan_entry_points()
        if name not in self._entries:
            raise UserError(f"unknown {self.kind} '{name}': {did_you_mean(name, self.names())} "
                            f"(or give path/to/file.py:Name)")
        return self._entries[name]

    def get(self, name: str) -> T:
        return self.entry(name).load()

    def __iter__(self) -> Iterator[Entry[T]]:
        self._scan_entry_points()
        return iter(list(self._entries.values()))
