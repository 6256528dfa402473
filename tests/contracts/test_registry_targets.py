"""Registries by name and target (benchmark/core/registry.py): every built-in entry is a
``"module:attribute"`` string that resolves, and a string target is imported only when its
entry is first used."""

from __future__ import annotations

import sys

import pytest

from benchmark.core.registry import Registry
from benchmark.data import DATASETS
from benchmark.profiles import PROFILES
from methods import METHODS
from metrics import METRICS

STRING_TARGETS = {"method": METHODS, "metric": METRICS, "dataset": DATASETS}
"""The registries whose built-in entries are written ``"module:attribute"``."""


@pytest.mark.parametrize("entry", [entry for registry in STRING_TARGETS.values()
                                   for entry in registry if entry.origin == "built-in"],
                         ids=lambda entry: entry.name)
def test_every_built_in_target_resolves(entry):
    module, _, attribute = entry.target.partition(":")
    loaded = entry.load()
    assert loaded is getattr(sys.modules[module], attribute)
    assert entry.description and "\n" not in entry.description


def test_every_profile_loads():
    assert [PROFILES.get(name).name for name in PROFILES.names()] == PROFILES.names()


def test_a_string_target_is_imported_only_when_used(tmp_path, monkeypatch):
    (tmp_path / "lazy_target_module.py").write_text("THING = object()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry: Registry[object] = Registry("thing")
    registry.add("thing", "lazy_target_module:THING", "a thing")
    assert registry.names() == ["thing"]
    assert registry.entry("thing").description == "a thing"
    assert "lazy_target_module" not in sys.modules
    thing = registry.get("thing")
    assert thing is sys.modules["lazy_target_module"].THING
    monkeypatch.delitem(sys.modules, "lazy_target_module")


def test_a_registry_with_describe_reads_the_description_from_the_object(tmp_path, monkeypatch):
    (tmp_path / "described_module.py").write_text(
        "class Spec:\n    description = 'said once, here'\nSPEC = Spec()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry: Registry[object] = Registry("spec", describe=lambda spec: spec.description)
    registry.add("spec", "described_module:SPEC")
    assert "described_module" not in sys.modules
    assert registry.entry("spec").description == "said once, here"
    monkeypatch.delitem(sys.modules, "described_module")


def test_a_callable_target_still_loads_and_a_bad_target_is_refused():
    registry: Registry[int] = Registry("number")
    registry.add("one", lambda: 1, "the number one")
    assert registry.get("one") == 1
    with pytest.raises(ValueError, match="module:attribute"):
        registry.add("two", "no_attribute_given", "the number two")
    with pytest.raises(ValueError, match="needs a description"):
        registry.add("three", "numbers:THREE")
