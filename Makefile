# Two entry points do all the set-up on a fresh machine:
#   make demo   -> virtualenv + install + the main job on the embedded default
#   make test   -> virtualenv + install + the default (fast) test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test test-slow lint check clean-cache

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmark run --method flowbind --task audio2image

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

test-slow: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m slow

# The drift check CI runs: re-run the committed baseline's small smoke sweep, exit 1 on drift.
check: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmark check --baseline results/baselines/ci-smoke.json --jobs 2 --no-progress

lint: $(STAMP)
	$(BIN)/ruff check .
