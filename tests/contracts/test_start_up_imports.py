"""A command says what it is doing before it imports the heavy libraries it needs later.

Each command runs in a fresh process until its first stage line; at that moment none of
the libraries that take seconds to import (Lightning and what it pulls in, open_clip,
transformers, torchvision, scipy.signal, pandas, matplotlib) may be loaded. They are
imported where the stage that uses them starts. Not a timing test: it checks which
modules are loaded, which does not depend on the machine's speed.
"""

import json
import subprocess
import sys

import pytest

HEAVY = ("pytorch_lightning", "lightning_fabric", "torchmetrics", "open_clip", "transformers",
         "torchvision", "scipy.signal", "pandas", "matplotlib")

FIRST_STAGE = """
import json, sys
import benchmark.core.progress as progress

def first_stage(message):
    heavy = sorted(name for name in {heavy!r} if name in sys.modules)
    print(json.dumps({{"stage": message, "heavy": heavy}}))
    sys.stdout.flush()
    raise SystemExit(0)

progress.stage = first_stage
from benchmark.cli import main
main({argv!r})
raise SystemExit("no stage line")
"""


@pytest.mark.parametrize("argv", [
    ["run", "--method", "flowbind", "--task", "audio2image", "--profile", "smoke",
     "--no-progress", "--results", "{tmp}/run"],
    ["check", "--baseline", "results/baselines/demo.json", "--results", "{tmp}/check",
     "--no-progress"],
    ["report", "--results", "results/demo", "--out", "{tmp}/reports"],
], ids=["run", "check", "report"])
def test_the_first_stage_line_comes_before_any_heavy_import(argv, tmp_path):
    argv = [part.replace("{tmp}", str(tmp_path)) for part in argv]
    code = FIRST_STAGE.format(heavy=HEAVY, argv=argv)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["heavy"] == [], seen
