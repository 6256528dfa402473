"""The CLI's defaults are the defaults of the dataclasses its flags configure, read from
them (benchmark/cli/arguments.py, benchmark/cli/sweep.py), never written a second time."""

from __future__ import annotations

from dataclasses import asdict, fields

import pytest

from benchmark.cli import build_parser
from benchmark.cli.arguments import SETTINGS, distributed_settings, run_settings
from benchmark.core.config import DISTRIBUTED_SETTINGS, RUN_DEFAULTS, RunConfig
from benchmark.sweep.settings import SlurmResources

SLURM_FLAGS = {"partition": "slurm_partition", "time_min": "slurm_time",
               "gpus_per_node": "slurm_gpus_per_node", "cpus_per_task": "slurm_cpus_per_task",
               "mem_gb": "slurm_mem", "array_parallelism": "slurm_array_parallelism"}
"""Each SlurmResources field and the ``sweep`` option that sets it."""


def _parsed(*argv: str):
    return build_parser().parse_args(list(argv))


@pytest.mark.parametrize("argv", [("run", "--method", "flowbind", "--task", "audio2image"),
                                  ("sweep",)])
def test_an_unset_flag_leaves_the_run_config_default(argv):
    args = _parsed(*argv)
    settings = {**run_settings(args), **distributed_settings(args), "logger": args.logger}
    if argv[0] == "run":
        settings["seed"] = args.seed
    else:
        assert args.seeds == [RUN_DEFAULTS["seed"]]
    assert set(SETTINGS) | set(DISTRIBUTED_SETTINGS) <= set(settings)
    assert settings == {name: RUN_DEFAULTS[name] for name in settings}
    assert args.results == RUN_DEFAULTS["results_dir"]


def test_a_config_from_the_default_flags_is_the_default_config():
    args = _parsed("run", "--method", "flowbind", "--task", "audio2image")
    config = RunConfig(method=args.method, task=args.task, seed=args.seed,
                       results_dir=args.results, logger=args.logger, **run_settings(args),
                       **distributed_settings(args))
    assert config == RunConfig(method="flowbind", task="audio2image")


def test_check_update_leaves_every_run_setting_unset():
    args = _parsed("check", "--baseline", "results/baselines/demo.json", "--update")
    assert all(getattr(args, name) is None for name in SETTINGS if name != "metrics")


def test_the_slurm_flags_default_to_the_slurm_resources_defaults():
    args = _parsed("sweep")
    assert set(SLURM_FLAGS) == {field.name for field in fields(SlurmResources)}
    assert {field: getattr(args, flag) for field, flag in SLURM_FLAGS.items()} \
        == asdict(SlurmResources())
