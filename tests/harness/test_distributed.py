"""Training on several processes through Lightning (benchmark/run/distributed.py): one record,
a global budget, the data sharded without overlap, and single-process run keys unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import BatchSampler, RandomSampler

from benchmark.core.config import RunConfig
from benchmark.core.errors import UserError
from benchmark.core.ranks import is_secondary_rank
from benchmark.results.training_log import read_training_log
from benchmark.run.embeddings import ShardedBatchSampler
from benchmark.sweep.local import run_command

BUDGET = 40960
"""Samples: 80 global steps of 2 x 256 rows, 160 steps of one process's 256."""


def _run(tmp_path: Path, env: dict[str, str], *extra: str) -> dict:
    results = tmp_path / "results"
    command = [sys.executable, "-m", "benchmark", "run", "--method", "flowbind",
               "--task", "text2image", "--profile", "smoke", "--budget", f"samples={BUDGET}",
               "--results", str(results), "--no-progress", *extra]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    records = sorted(results.glob("*.json"))
    assert len(records) == 1, [path.name for path in records]
    record = json.loads(records[0].read_text())
    record["_log"] = read_training_log(results / record["training_log"])
    record["_stderr"] = done.stderr
    return record


def test_a_two_process_ddp_run_writes_one_record_with_a_global_budget(tmp_path, smoke_env):
    ddp = _run(tmp_path / "ddp", smoke_env, "--accelerator", "cpu", "--devices", "2",
               "--strategy", "ddp")
    single = _run(tmp_path / "single", smoke_env)

    assert ddp["distributed"]["world_size"] == 2
    assert ddp["distributed"]["strategy"] == "DDPStrategy"
    assert len(ddp["distributed"]["devices"]) == 2
    assert single["distributed"]["world_size"] == 1
    global_batch = ddp["budget"]["global_batch"]
    assert global_batch == 2 * ddp["budget"]["batch_size"] == 2 * single["budget"]["batch_size"]
    assert abs(ddp["budget"]["samples"] - single["budget"]["samples"]) <= global_batch
    assert ddp["budget"]["steps"] * global_batch == ddp["budget"]["samples"]
    # FLOPs are summed over both processes: the same total for the same samples
    assert ddp["flops"] == pytest.approx(single["flops"], rel=global_batch / BUDGET)
    loss = ddp["_log"]["loss_mean"].dropna()
    tenth = max(1, len(loss) // 10)
    assert loss.tail(tenth).mean() < 0.8 * loss.head(tenth).mean()
    assert ddp["run_key"] != single["run_key"]  # another world size, another run
    assert ddp["_stderr"].count("training flowbind") == 1  # rank 1 prints no stages
    assert ddp["metrics"]["image.fid[judge:scenes-v1]"]["value"] > 0


def test_ranks_see_disjoint_shares_of_each_global_batch():
    def batches(rank: int, world: int) -> list[list[int]]:
        sampler = RandomSampler(range(100), generator=torch.Generator().manual_seed(3))
        return list(ShardedBatchSampler(sampler, 8, rank, world))

    single = list(BatchSampler(RandomSampler(range(100), generator=torch.Generator()
                                             .manual_seed(3)), 8, drop_last=True))
    assert batches(0, 1) == single
    ranks = [batches(rank, 3) for rank in range(3)]
    assert {len(share) for share in ranks} == {100 // 24}
    for step in range(100 // 24):
        rows = [row for share in ranks for row in share[step]]
        assert len(rows) == len(set(rows)) == 24
        assert rows == single[3 * step] + single[3 * step + 1] + single[3 * step + 2]


def test_single_process_run_keys_are_unchanged_and_distributed_settings_enter_them():
    plain = RunConfig(method="flowbind", task="text2image")
    assert not {"accelerator", "devices", "num_nodes", "strategy",
                "precision"} & plain.identity().keys()
    two = RunConfig(method="flowbind", task="text2image", devices=2, precision="bf16-mixed")
    assert two.identity()["devices"] == 2 and two.world_size == 2
    assert two.run_key() != plain.run_key()
    assert RunConfig(method="flowbind", task="text2image", devices=2, num_nodes=3).world_size == 6


@pytest.mark.parametrize("settings, message", [
    ({"devices": 0}, "--devices must be a positive integer"),
    ({"strategy": "fsdp"}, "shards a model over several processes"),
    ({"precision": "fp8"}, "unknown precision"),
    ({"accelerator": "tpu"}, "unknown accelerator"),
])
def test_bad_distributed_settings_are_refused(settings, message):
    with pytest.raises(UserError, match=message):
        RunConfig(method="flowbind", task="text2image", **settings)


def test_the_cli_refuses_a_bad_device_count_at_parse_time(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmark", "run", "--method", "flowbind",
                           "--task", "text2image", "--devices", "0", "--results",
                           str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--devices" in done.stderr and "Traceback" not in done.stderr


def test_a_sweep_passes_the_distributed_settings_to_its_runs(tmp_path):
    config = RunConfig(method="flowbind", task="text2image", devices=2, strategy="ddp",
                       precision="bf16-mixed", results_dir=tmp_path)
    command = run_command([config])
    for flag, value in (("--devices", "2"), ("--strategy", "ddp"),
                        ("--precision", "bf16-mixed")):
        assert command[command.index(flag) + 1] == value
    assert "--num-nodes" not in run_command([RunConfig(method="flowbind", task="text2image")])


@pytest.mark.parametrize("variables, secondary", [
    ({}, False), ({"LOCAL_RANK": "0", "NODE_RANK": "0"}, False), ({"LOCAL_RANK": "1"}, True),
    ({"NODE_RANK": "1", "LOCAL_RANK": "0"}, True), ({"SLURM_PROCID": "3"}, True),
    ({"RANK": "0"}, False),
])
def test_secondary_ranks_are_told_by_their_launcher_variables(monkeypatch, variables,
                                                              secondary):
    for name in ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert is_secondary_rank() is secondary


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without a GPU")
@pytest.mark.parametrize("settings, message", [
    ({"accelerator": "gpu"}, "needs 1 GPU"),
    ({"precision": "16-mixed"}, "16-mixed needs a GPU"),
])
def test_asking_for_a_gpu_on_a_cpu_machine_is_refused_before_any_work(settings, message):
    from benchmark.run.resolution import resolve

    with pytest.raises(UserError, match=message):
        resolve(RunConfig(method="flowbind", task="text2image", profile="smoke", **settings))
