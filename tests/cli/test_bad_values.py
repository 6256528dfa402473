"""Bad values are refused when parsed: seeds outside 0..2**32-1, non-finite or huge guidance,
and a seed, task or method listed twice. The run configuration refuses them too, and the
CLI does so with one line and exit 2 before torch is imported or any data is touched."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmark.cli import build_parser
from benchmark.core.config import MAX_SEED, RunConfig
from benchmark.core.errors import UserError


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 99999999999, 1.5, True, "3"])
def test_the_run_configuration_refuses_a_seed_numpy_and_lightning_cannot_take(seed):
    with pytest.raises(UserError, match=r"seed must be an integer in 0\.\.4294967295"):
        RunConfig(method="flowbind", task="text2image", seed=seed)


@pytest.mark.parametrize("seed", [0, 7, MAX_SEED])
def test_seeds_in_range_are_kept(seed):
    assert RunConfig(method="flowbind", task="text2image", seed=seed).seed == seed


@pytest.mark.parametrize("guidance", [float("nan"), float("inf"), -float("inf"), 1e30, -1001.0,
                                      "7"])
def test_the_run_configuration_refuses_non_finite_or_huge_guidance(guidance):
    with pytest.raises(UserError, match=r"guidance scale must be a finite number with "
                                         r"\|s\| <= 1000"):
        RunConfig(method="codi", task="text2image", guidance=guidance)


@pytest.mark.parametrize("guidance", [None, 1.0, 7.5, -2.0, 1000.0])
def test_usable_guidance_is_kept(guidance):
    assert RunConfig(method="codi", task="text2image", guidance=guidance).guidance == guidance


BAD_COMMAND_LINES = {
    "run --seed -1": (["run", "--method", "flowbind", "--task", "audio2image", "--seed", "-1"],
                      "argument --seed: a seed must be an integer in 0..4294967295"),
    "run --seed 99999999999": (
        ["run", "--method", "flowbind", "--task", "audio2image", "--seed", "99999999999"],
        "got 99999999999"),
    "run --guidance nan": (
        ["run", "--method", "codi", "--task", "audio2image", "--guidance", "nan"],
        "argument --guidance: a guidance scale must be a finite number with |s| <= 1000"),
    "run --guidance 1e30": (
        ["run", "--method", "codi", "--task", "audio2image", "--guidance", "1e30"],
        "got 1e+30"),
    "run --task twice": (["run", "--method", "flowbind", "--task", "text2image,text2image",
                          "--protocol", "suite"],
                         "argument --task: task text2image is listed more than once"),
    "sweep --seeds 0,0": (["sweep", "--seeds", "0,0"],
                          "argument --seeds: seed 0 is listed more than once"),
    "sweep --seeds 1,-1": (["sweep", "--seeds", "1,-1"], "got -1"),
    "sweep --tasks twice": (["sweep", "--tasks", "text2image,text2image"],
                            "argument --tasks: task text2image is listed more than once"),
    "sweep --tasks one task spelt two ways": (
        ["sweep", "--tasks", "text+audio2image,audio+text2image"],
        "task text+audio2image is listed more than once"),
    "sweep --methods twice": (["sweep", "--methods", "flowbind,codi,flowbind"],
                              "argument --methods: method flowbind is listed more than once"),
    "sweep --guidance inf": (["sweep", "--guidance", "inf"], "got inf"),
    "check --update --seeds 0,0": (
        ["check", "--baseline", "b.json", "--update", "--seeds", "0,0"],
        "argument --seeds: seed 0 is listed more than once"),
    "check --update --tasks twice": (
        ["check", "--baseline", "b.json", "--update", "--tasks", "audio2image,audio2image"],
        "argument --tasks: task audio2image is listed more than once"),
}

_PARSE_IN_A_FRESH_PROCESS = """
import json, sys
from benchmark.cli import build_parser
outcomes = {}
for name, argv in json.loads(sys.argv[1]).items():
    try:
        build_parser().parse_args(argv)  # parse only: the command itself never runs
        outcomes[name] = "parsed"
    except SystemExit as exit:
        outcomes[name] = exit.code
print(json.dumps({"outcomes": outcomes, "torch": "torch" in sys.modules}))
"""


def test_the_cli_refuses_bad_values_at_parse_time_before_importing_torch():
    """Every bad command line exits 2 while parsing, in a process that never imports torch
    (before the fix, ``--seed -1`` failed inside Lightning after the data loaded and
    ``--guidance 1e30`` after training and sampling)."""
    argvs = {name: argv for name, (argv, _) in BAD_COMMAND_LINES.items()}
    result = subprocess.run([sys.executable, "-c", _PARSE_IN_A_FRESH_PROCESS, json.dumps(argvs)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["outcomes"] == dict.fromkeys(BAD_COMMAND_LINES, 2)
    assert not answer["torch"]
    lines = result.stderr.splitlines()
    assert len(lines) == len(BAD_COMMAND_LINES)  # one line each
    for (_, expected), line in zip(BAD_COMMAND_LINES.values(), lines, strict=True):
        assert expected in line and line.endswith("(see --help)")


@pytest.mark.parametrize("name", ["run --seed -1", "sweep --seeds 0,0"])
def test_the_error_is_one_line_with_exit_status_2(name):
    argv, expected = BAD_COMMAND_LINES[name]
    # The method is replaced by an unknown one (the last flag wins): were the bad value let
    # through, the command would stop at the method's name (another message) instead of
    # training.
    method = "--method" if argv[0] == "run" else "--methods"
    result = subprocess.run([sys.executable, "-m", "benchmark", *argv, method, "no_such_method"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1
    assert expected in result.stderr


def test_good_lists_parse_into_values():
    parser = build_parser()
    sweep = parser.parse_args(["sweep", "--methods", "flowbind,codi", "--seeds", "0,1,4294967295",
                               "--tasks", "audio+text2image,text2image", "--guidance", "-3"])
    assert sweep.methods == ["flowbind", "codi"]
    assert sweep.seeds == [0, 1, MAX_SEED]
    assert sweep.tasks == ["text+audio2image", "text2image"]
    assert sweep.guidance == -3.0
    defaults = parser.parse_args(["sweep"])
    assert defaults.seeds == [0] and "flowbind" in defaults.methods
    assert len(defaults.tasks) == 6
    run = parser.parse_args(["run", "--method", "flowbind", "--task", "text2image,image2text"])
    assert run.task == "text2image,image2text" and run.seed == 0
    check = parser.parse_args(["check", "--baseline", "b.json"])
    assert check.methods is None and check.tasks is None and check.seeds is None
