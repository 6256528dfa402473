"""Every run keeps a training log: what it holds, that it changes no trained number, how it
is read, which runs it flags as still falling, and the report's loss curves."""

import importlib.util
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from benchmark.core.budget import Budget
from benchmark.core.config import RunConfig
from benchmark.core.errors import UserError
from benchmark.report import write_report
from benchmark.report.loss_curves import (
    collect_loss_curves,
    end_of_budget_change,
    is_still_falling,
)
from benchmark.results.records import read_record, write_record
from benchmark.results.training_log import read_training_log
from benchmark.run.budget import BudgetCallback, training_flops_per_step
from benchmark.run.training_log import (
    SECONDS_BUDGET_INTERVAL,
    TrainingLogCallback,
    log_file,
    logging_interval,
    training_loggers,
)
from benchmark.sweep.local import run_command
from support.batches import partially_paired_batch

LOGGED = {"loss", "loss_mean", "lr", "grad_norm", "samples", "flops", "samples_per_s"}
TENSORBOARD = any(importlib.util.find_spec(name) for name in ("tensorboard", "tensorboardX"))

pytestmark = pytest.mark.usefixtures("single_thread")


# ----------------------------------------------------------------------- what is logged


def test_the_logging_interval_gives_a_hundred_rows_or_more_and_every_step_of_a_short_run():
    assert logging_interval(Budget("steps", 1000), 256, 10) == 10
    assert logging_interval(Budget("steps", 199), 256, 10) == 1
    assert logging_interval(Budget("steps", 30), 256, 10) == 1
    assert logging_interval(Budget("samples", 128_000), 256, 10) == 5  # 500 steps
    assert logging_interval(Budget("flops", 1e6), 256, 1000) == 10  # 1000 steps
    assert logging_interval(Budget("seconds", 60), 256, 10) == SECONDS_BUDGET_INTERVAL


def _fit(log_dir: Path | None, steps: int = 12
         ) -> tuple[torch.nn.Module, BudgetCallback, dict[int, float]]:
    """Train CoDi (a method with loss terms) as the runner does, with the training log
    written into ``log_dir`` or, for None, no logger and no log callback; also returns the
    gradient norm before each optimizer step, by step."""
    import pytorch_lightning as pl

    from methods import METHODS

    norms: dict[int, float] = {}

    class GradientNorms(pl.Callback):
        def on_before_optimizer_step(self, trainer, pl_module, optimizer):
            gradients = [p.grad for p in pl_module.parameters() if p.grad is not None]
            norms[trainer.global_step] = torch.nn.utils.get_total_norm(gradients).item()

    batches = [partially_paired_batch(48, 8, seed=i) for i in range(5)]
    pl.seed_everything(0, verbose=False)
    method = METHODS.get("codi")({"text": 8, "image": 8, "audio": 8}, preset="tiny")
    meter = BudgetCallback(Budget("steps", steps), training_flops_per_step(method, batches[0]))
    logging = ({"logger": False} if log_dir is None else
               {"logger": training_loggers("csv", log_dir), "log_every_n_steps": 5})
    callbacks = [meter] if log_dir is None else [meter, TrainingLogCallback(meter),
                                                 GradientNorms()]
    # max_steps is the budget's step count, as in the harness (benchmark/run/training.py)
    trainer = pl.Trainer(max_steps=steps, max_epochs=-1, accelerator="cpu", devices=1,
                         enable_checkpointing=False, enable_model_summary=False,
                         enable_progress_bar=False, deterministic=True, callbacks=callbacks,
                         **logging)
    loader = DataLoader(batches, batch_size=None, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    trainer.fit(method, loader)
    return method, meter, norms


def test_logging_changes_no_trained_weight_and_logs_every_column(tmp_path):
    plain, _, _ = _fit(None)
    logged, meter, norms = _fit(tmp_path)
    assert plain.state_dict().keys() == logged.state_dict().keys()
    for name, weight in plain.state_dict().items():
        assert torch.equal(weight, logged.state_dict()[name]), name  # bit-identical

    log = read_training_log(log_file(tmp_path))
    assert set(log.columns) >= LOGGED | {"step", "flow_loss", "align_loss"}
    assert "epoch" not in log.columns and sorted(p.name for p in tmp_path.iterdir()) == [
        "metrics.csv"]  # no hparams.yaml: the record holds the settings
    assert log["step"].tolist() == [4, 9, 11]  # every 5th step and the last (0-based)
    assert log["samples"].tolist() == [240, 480, 576]
    assert log["flops"].iloc[-1] == meter.flops and log["flops"].dtype == np.int64
    assert log[list(LOGGED)].notna().all().all()
    assert log["grad_norm"].tolist() == pytest.approx([norms[step] for step in log["step"]])
    assert (log["samples_per_s"] > 0).all()
    assert log["lr"].is_monotonic_increasing  # the warm-up


def test_the_method_logs_its_loss_on_the_first_step_the_logged_rows_and_the_last(
        tmp_path, monkeypatch):
    from methods.base import AnyToAnyMethod

    logged_at: list[int] = []
    log = AnyToAnyMethod.log

    def recording_log(self, name, value, *args, **kwargs):
        if name == "train/loss":
            logged_at.append(self.global_step)
        return log(self, name, value, *args, **kwargs)

    monkeypatch.setattr(AnyToAnyMethod, "log", recording_log)
    _fit(tmp_path)  # a row every 5th step and at the last (0-based 4, 9, 11)
    assert logged_at == [0, 4, 9, 11]
    logged_at.clear()
    method, _, _ = _fit(None)  # no logger: Lightning's default interval of 50 steps
    assert logged_at == [0, 11]
    assert torch.isfinite(method.trainer.callback_metrics["train/loss"])


def test_the_logger_is_a_run_setting_outside_the_run_key(monkeypatch):
    config = RunConfig(method="flowbind", task="text2image")
    assert config.logger == "csv" and "logger" not in config.identity()
    command = run_command([config])
    assert command[command.index("--logger") + 1] == "csv"
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: object() if name == "tensorboard" else None)
    tensorboard = replace(config, logger="tensorboard")
    assert tensorboard.run_key() == config.run_key()
    command = run_command([tensorboard])
    assert command[command.index("--logger") + 1] == "tensorboard"
    with pytest.raises(UserError, match="unknown logger 'csvv'"):
        replace(config, logger="csvv")


@pytest.mark.skipif(TENSORBOARD, reason="TensorBoard is installed here")
def test_asking_for_tensorboard_without_it_is_a_one_line_error_at_once(tmp_path):
    with pytest.raises(UserError, match="pip install tensorboard"):
        RunConfig(method="flowbind", task="text2image", logger="tensorboard")
    result = subprocess.run(
        [sys.executable, "-m", "benchmark", "run", "--method", "flowbind", "--task",
         "text2image", "--logger", "tensorboard", "--results", str(tmp_path)],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "pip install tensorboard" in result.stderr and "Traceback" not in result.stderr
    assert not tmp_path.joinpath("logs").exists()


@pytest.mark.skipif(not TENSORBOARD, reason="TensorBoard is not installed")
def test_tensorboard_writes_its_events_beside_the_csv(tmp_path):
    loggers = training_loggers("tensorboard", tmp_path)
    loggers[1].log_metrics({"train/loss": 1.0}, step=0)
    loggers[1].finalize("success")
    assert list((tmp_path / "tensorboard").glob("events.*"))


# ----------------------------------------------------------------- reading and flagging


def _write_log(path: Path, losses, samples_per_row: int = 256) -> Path:
    """A log as Lightning's CSVLogger writes it, one row per step, ``loss_mean`` given."""
    rows = [{"epoch": 0, "step": i, "train/loss": loss, "train/loss_mean": loss,
             "train/lr": 1e-3, "train/grad_norm": 1.0,
             "train/samples": float((i + 1) * samples_per_row),
             "train/flops": float((i + 1) * 10**9), "train/samples_per_s": 1000.0}
            for i, loss in enumerate(losses)]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_the_reader_gives_a_tidy_frame_and_merges_rows_of_one_step(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,step,train/loss,train/lr,train/samples,train/flops,train/kl\n"
                    "0,1,2.5,,512.0,2000000000.0,0.5\n"
                    "0,1,,0.001,,,\n"
                    "0,3,2.0,0.002,1024.0,4000000000.0,0.25\n")
    log = read_training_log(path)
    assert list(log.columns) == ["step", "samples", "flops", "loss", "lr", "kl"]
    assert log["samples"].tolist() == [512, 1024] and log["lr"].tolist() == [0.001, 0.002]


def test_a_flat_curve_is_not_still_falling_and_a_steep_one_is(tmp_path):
    noise = np.random.default_rng(0).normal(0, 0.03, 50)
    flat = 1.0 + noise
    flat[41] = 1.6  # one bad batch just before the last tenth: a drop, but noise
    steep = 3.0 * np.exp(-np.arange(50) / 40) + noise
    assert not is_still_falling(end_of_budget_change(
        read_training_log(_write_log(tmp_path / "flat.csv", flat))))
    change = end_of_budget_change(read_training_log(_write_log(tmp_path / "steep.csv", steep)))
    assert is_still_falling(change) and -0.2 < change[0] < -0.05  # exp(-5/40) - 1 = -12%, noisy
    too_short = read_training_log(_write_log(tmp_path / "short.csv", steep[:8]))
    assert end_of_budget_change(too_short) is None  # under 3 rows per window: not judged


# ------------------------------------------------------------------------ the report


def test_the_report_draws_loss_curves_flags_falling_runs_and_names_runs_without_a_log(
        tmp_path):
    """Method a's two seeds have logs, one levelled off and one still falling steeply;
    method b's run has none (a record made before logs were kept)."""
    from test_report import _record

    results = tmp_path / "runs"
    noise = np.random.default_rng(1).normal(0, 0.01, 50)
    curves = {("a", 0): 1.0 + np.exp(-np.arange(50) / 5) + noise,
              ("a", 1): 1.0 + 3.0 * np.exp(-np.arange(50) / 40) + noise,
              ("b", 0): None}
    for (method, seed), losses in curves.items():
        record = _record(method, seed, attr=0.8, fid=5.0)
        if losses is not None:
            record = replace(record, training_log=f"logs/{record.run_id}/metrics.csv")
            _write_log(results / record.training_log, losses)
        write_record(record, results)

    report = write_report(results, tmp_path / "report")
    assert (report.folder / "loss_curves.png").stat().st_size > 10_000
    assert report.problems.count(
        "1 run has no training log (made before logs were kept): no loss curve") == 1
    table = (report.folder / "table.md").read_text()
    assert "still falling at the end of its budget: a text2image seed 1 (−" in table
    assert "seed 0 (−" not in table  # the levelled-off seed is not flagged
    page = (report.folder / "index.html").read_text()
    assert "loss_curves.png" in page and "Still falling at the end of the budget" in page

    loss_curves = collect_loss_curves(
        [read_record(p) for p in sorted(results.glob("*.json"))], results)
    assert sorted(loss_curves.frame["seed"].unique()) == [0, 1]
    assert [(r.method, r.seed) for r in loss_curves.without_log] == [("b", 0)]


# --------------------------------------------------------------------- a real smoke run


@pytest.mark.slow
def test_a_smoke_run_writes_the_log_its_records_name(tmp_path, smoke_env):
    """Two records of one suite training (CoDi, 20 steps) name the one log it wrote."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmark", "run", "--method", "codi", "--task",
         "audio2image,text2image", "--protocol", "suite", "--profile", "smoke",
         "--steps", "20", "--results", str(tmp_path), "--no-progress"],
        capture_output=True, text=True, env=smoke_env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [read_record(path) for path in sorted(tmp_path.glob("*.json"))]
    assert len(records) == 2
    first = next(r for r in records if r.task == "audio2image")  # the first task given
    assert {r.training_log for r in records} == {f"logs/{first.run_id}/metrics.csv"}
    log = read_training_log(tmp_path / first.training_log)
    assert set(log.columns) >= LOGGED | {"flow_loss", "align_loss"}
    assert len(log) == 20  # 20 steps: a row for each
    assert log[list(LOGGED)].notna().all().all()
    assert log["samples"].iloc[-1] == first.budget["samples"]
    assert log["flops"].iloc[-1] == first.flops


def test_the_run_path_imports_no_pandas_or_report_code():
    # pandas is the report's and the log reader's: importing it cost every run process
    # 0.3 s of start-up it never used
    code = ("import sys, benchmark.run.pipeline, benchmark.results.summary, "
            "benchmark.run.training_log; "
            "print(sorted(m for m in sys.modules if m == 'pandas' or m == 'benchmark.report'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
