"""Declared hooks (benchmark/core/hooks.py): every template declares its hooks as
``@abstractmethod``s, a subclass missing some fails when built naming all of them, every
built-in class defines them all, and docs/methods.md lists exactly the method hooks."""

from __future__ import annotations

import re
from typing import ClassVar

import pytest

from benchmark.backbones import AudioBackbone, Backbone, ImageBackbone, TextBackbone
from benchmark.cli import COMMANDS
from benchmark.core.errors import UserError
from benchmark.core.hooks import Hooked, missing_hooks
from benchmark.core.media.tokenizer import WordTokenizer
from benchmark.data import DATASETS
from benchmark.data.dataset import Dataset
from methods import METHODS
from methods.base import AnyToAnyMethod, MethodConfig
from methods.pairwise import PairwiseMethod
from methods.sampling import SOLVER_NAMES, Solver, solver_named
from support.paths import ROOT

DOCS = ROOT / "docs" / "methods.md"
DIMS = {"text": 8, "image": 8, "audio": 8}


class Partial(AnyToAnyMethod):
    """Defines every method hook but ``sample`` and ``velocity_networks``."""

    name = "partial"
    presets: ClassVar[dict] = {"tiny": MethodConfig(max_steps=1)}

    def build(self, tasks):
        pass

    def objective(self, batch):
        raise AssertionError("never trained")

    def serving_parts(self, tasks):
        return []


def test_a_method_missing_two_hooks_fails_when_built_naming_both():
    with pytest.raises(UserError) as raised:
        Partial(DIMS)
    message = str(raised.value)
    assert message.startswith("Partial does not define the hooks sample, velocity_networks: ")
    assert "AnyToAnyMethod" in message and "docs/methods.md" in message


@pytest.mark.parametrize("template", [AnyToAnyMethod, PairwiseMethod, Backbone, Dataset, Solver])
def test_each_template_names_every_hook_it_lacks(template):
    bare = type(f"Bare{template.__name__}", (template,), {})
    with pytest.raises(UserError, match=rf"^Bare{template.__name__} does not define the hooks? "
                                        + re.escape(", ".join(missing_hooks(bare)))):
        bare()


def test_the_hooks_are_abstract_methods_of_each_template():
    assert set(missing_hooks(PairwiseMethod)) == {"build_pair", "pair_loss", "initial_state",
                                                  "velocity"}
    assert set(missing_hooks(Backbone)) == {"from_split", "prepare", "embed", "reconstruct",
                                            "render"}
    assert set(missing_hooks(Dataset)) == {"kind", "name", "version", "settings", "key", "load"}
    assert missing_hooks(Solver) == ["integrate"]
    for template in (AnyToAnyMethod, PairwiseMethod, Backbone, Dataset, Solver):
        assert issubclass(template, Hooked)


@pytest.mark.parametrize("name", METHODS.names())
def test_every_built_in_method_defines_its_hooks_and_builds(name):
    cls = METHODS.get(name)
    assert missing_hooks(cls) == []
    assert cls(DIMS, preset="tiny").velocity_networks()


def test_every_built_in_backbone_defines_its_hooks_and_builds():
    tokenizer = WordTokenizer.from_texts(["a red circle", "a blue square"])
    built = [TextBackbone(8, tokenizer.vocabulary, tokenizer.max_len), ImageBackbone(8, 32, 32),
             AudioBackbone(8, num_samples=6_000, sample_rate=8_000)]
    assert all(isinstance(backbone, Backbone) for backbone in built)


@pytest.mark.parametrize("name", DATASETS.names())
def test_every_built_in_dataset_defines_its_hooks_and_builds(name, tmp_path):
    factory = DATASETS.get(name)
    assert issubclass(factory, Dataset) and missing_hooks(factory) == []
    settings = (factory.small_example(tmp_path) if hasattr(factory, "small_example")
                else dict(getattr(factory, "small_settings", {})))
    assert factory(**settings).name == name


def test_every_solver_and_command_defines_its_hooks():
    assert all(isinstance(solver_named(name), Solver) for name in SOLVER_NAMES)
    assert all(missing_hooks(type(command)) == [] for command in COMMANDS)


def test_docs_list_exactly_the_method_hooks():
    section = DOCS.read_text().split("## Add your own method", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `(\w+)\(", section, re.MULTILINE)
    assert listed and len(listed) == len(set(listed))
    assert set(listed) == set(missing_hooks(AnyToAnyMethod))
