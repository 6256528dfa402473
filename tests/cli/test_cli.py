"""The CLI's user-facing behaviour: fast help, one-line errors with exit status 2."""

import subprocess
import sys

import pytest

from benchmark.cli import main


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "benchmark", *args], capture_output=True, text=True, timeout=60
    )


def test_help_does_not_import_torch():
    code = "import sys; from benchmark.cli import build_parser; build_parser(); " \
           "from methods import METHODS; METHODS.names(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_ls_lists_registered_names(capsys):
    assert main(["ls", "methods"]) == 0
    assert "flowbind" in capsys.readouterr().out
    assert main(["ls", "tasks"]) == 0
    assert "text+audio2image" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ls", "methds"], "did you mean 'methods'?"),
        (["run", "--method", "flowbnd", "--task", "audio2image"], "did you mean 'flowbind'?"),
        (["run", "--method", "flowbind", "--task", "audio2imag"], "did you mean 'image'?"),
        (["run", "--method", "flowbind", "--task", "audio2image", "--steps", "0"],
         "positive integer"),
        (["run", "--method", "flowbind", "--task", "audio2image", "--preset", "tny"],
         "did you mean 'tiny'?"),
        (["run", "--method", "flowbind", "--task", "audio2image", "--profile", "smok"],
         "did you mean 'smoke'?"),
        (["run", "--method", "flowbind", "--task", "audio2image", "--evaluator", "pretrainde"],
         "did you mean 'pretrained'?"),
    ],
)
def test_bad_input_is_one_line_exit_2_no_traceback(args, message):
    result = _cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(_error_lines(result.stderr)) == 1
    assert _stages(result.stderr) in ([], ["run"])


def _stages(stderr: str) -> list[str]:
    """The stage lines printed: ``run`` for the line that names the run, which ``run``
    prints first, before the checks that need the method's code (Lightning, seconds to
    import); the name of any later stage otherwise."""
    stages = [line.removeprefix("[anybench] ") for line in stderr.splitlines()
              if line.startswith("[anybench] ")]
    return ["run" if " into " in stage and "seed" in stage else stage for stage in stages]


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.strip().splitlines() if not line.startswith("[anybench]")]


def test_guidance_for_a_method_without_guidance_is_refused_before_any_work():
    result = _cli("run", "--method", "flowbind", "--task", "audio2image", "--guidance", "3")
    assert result.returncode == 2
    assert "flowbind has no guidance" in result.stderr
    assert _stages(result.stderr) == ["run"]  # refused before the dataset stage


def test_pretrained_evaluator_without_weights_is_refused_before_any_work(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "benchmark", "run", "--method", "flowbind", "--task",
         "text2image", "--evaluator", "pretrained"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "inception-2015-12-05.pt" in result.stderr and "--check-weights" in result.stderr
    assert _stages(result.stderr) == ["run"]  # refused before the dataset stage
    assert len(_error_lines(result.stderr)) == 1


def test_an_unexpected_exception_keeps_its_traceback_and_exits_3_not_drifts_1(capsys,
                                                                               monkeypatch):
    from benchmark.cli.ls import LsCommand
    from benchmark.core import exit_codes

    def broken(self, args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(LsCommand, "__call__", broken)
    assert main(["ls", "methods"]) == exit_codes.RUN_FAILED != exit_codes.DRIFT
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: a bug" in err
