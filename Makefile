# Two entry points do all the set-up on a fresh machine:
#   make demo   -> virtualenv + install from the lock file + the main job on the embedded default
#   make test   -> virtualenv + install from the lock file + the default (fast) test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
LOCK    = requirements.lock
CACHE  ?= $(or $(ANYBENCH_CACHE),.cache/anybench)

.PHONY: demo test test-slow lint check clean-cache lock readme demo-record

# Every pinned package is checked against the hash in the lock file; anybench itself is then
# installed without resolving anything (pyproject.toml's ranges are for library users).
$(STAMP): $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Two torch threads: the count the README's demo record was made with (a plain `run` takes
# every usable CPU; the thread count decides the last digits).
demo: $(STAMP)
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=2 $(BIN)/python -m benchmark run --method flowbind --task audio2image

# The test files spread over one pytest-xdist worker per usable CPU (each test file stays on
# one worker, so a module's fixtures are built once); TEST_JOBS=1 runs them in one process.
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
test: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -n $(TEST_JOBS) --dist loadfile --durations=15

test-slow: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m slow

# The drift checks CI runs (exit 1 on drift): the small smoke sweep, and the demo's own run.
check: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmark check --baseline results/baselines/ci-smoke.json --jobs 2 --no-progress
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmark check --baseline results/baselines/demo.json --no-progress

lint: $(STAMP)
	$(BIN)/ruff check .

# Everything anybench cached (dataset, backbones, judges, embeddings, reference rows).
clean-cache:
	rm -rf -- "$(CACHE)"

# Re-make the lock file from pyproject.toml's ranges, keeping the pinned versions that still
# satisfy them; `make lock UPGRADE=--upgrade` takes the newest allowed (docs/development.md
# "Dependencies").
# LOCK_EXCLUDES are left out although a dependency names them: wandb (laion-clap names it for
# its training scripts, which anybench never imports; timm imports it whenever it is
# installed, 0.3 s of every run's start-up) and the 16 packages only it needs.
LOCK_EXCLUDES = wandb
lock:
	test -x .venv-lock/bin/uv || ($(PYTHON) -m venv .venv-lock && .venv-lock/bin/python -m pip install --quiet uv)
	printf '%s\n' $(LOCK_EXCLUDES) > .venv-lock/excludes.txt
	.venv-lock/bin/uv pip compile pyproject.toml --quiet $(UPGRADE) --extra dev --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" --excludes .venv-lock/excludes.txt -o $(LOCK)

# Re-render the measured tables of README.md and docs/*.md from the records committed under
# results/ (`python -m benchmark readme --file PATH` renders one file).
readme: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmark readme

# Re-make the demo's committed record and baseline (after a change that moves its numbers),
# then the README's demo table made from it.
demo-record: $(STAMP)
	rm -rf results/demo
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmark check --baseline results/baselines/demo.json --update --methods flowbind --tasks audio2image --seeds 0 --profile default --results results/demo --no-progress
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmark readme
