# crnngan: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
UI_PORT ?= 5000
TUNE_UI_PORT ?= 8080
WORKERS ?= 1
ARGS ?=
SEEDS ?= 1 2 3
export DVC_NO_ANALYTICS := 1
export PYTHONUNBUFFERED := 1
# Stage commands in dvc.yaml call `python`: make it the project venv's.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help setup repro paper paper-data seeds seeds-show compare test test-fast lint format bench tune tune-apply tune-ui ui screenshots clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# requirements.lock pins every package; torch==2.13.0 resolves to the local CPU wheel here.
	$(PY) -m pip install --quiet -c requirements.lock -e '.[test]'
	@touch $(STAMP)

setup: $(STAMP)  ## create .venv and install the pinned dependencies (idempotent)

repro: setup  ## run the whole pipeline (dvc repro) on params.yaml and the embedded corpus
	$(VENV)/bin/dvc repro

paper: setup  ## train the paper's configuration (configs/paper.yaml) as DVC experiment "paper" (GPU)
	eval "$(VENV)/bin/dvc exp run -n paper $$($(PY) -m crnngan.tools.overlay configs/paper.yaml)"

paper-data: setup  ## fetch the paper's classical MIDI (original repo, pinned commit, checksums) into data/paper/classical
	$(PY) pipelines/paper_data.py --out data/paper

seeds: setup  ## the pipeline for SEEDS (default 1 2 3) as queued DVC experiments, then their spread
	$(PY) pipelines/seeds.py run $(SEEDS)

seeds-show: setup  ## each seed experiment's figures per model, with mean and std
	$(PY) pipelines/seeds.py show

compare: setup  ## this commit's experiments side by side: key figures per model, one line each (120 columns)
	$(PY) pipelines/seeds.py compare

test: setup  ## run the whole test suite, slow tests included (what CI runs); the 15 slowest listed
	$(PY) -m pytest --durations=15

test-fast: setup  ## the test suite without the tests marked slow
	$(PY) -m pytest -m "not slow"

tune: setup  ## Optuna search over params.yaml's tune section (WORKERS=N processes); writes tune/
	$(PY) pipelines/tune.py run --workers $(WORKERS)

tune-apply: setup  ## copy tune/best_params.yaml into params.yaml (then: make repro)
	$(PY) pipelines/tune.py apply

tune-ui: setup  ## optuna-dashboard on the study's storage, on http://127.0.0.1:8080 (TUNE_UI_PORT=N)
	$(PY) pipelines/tune.py ui --port $(TUNE_UI_PORT)

lint: setup  ## ruff: lint and format check of the package, stages, benchmarks and tests (CI runs it)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup  ## ruff: fix what lint can fix and format the code
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup  ## measure throughput; writes bench/results.json (ARGS="--quick", "--variants compile,bf16", ...)
	$(PY) -m benchmarks.bench --out bench/results.json $(ARGS)

ui: setup  ## MLflow UI over mlruns/ on http://127.0.0.1:5000 (UI_PORT=N for another port)
	@mkdir -p mlruns
	$(PY) -m crnngan.tools.ui --store $(CURDIR)/mlruns --port $(UI_PORT)

screenshots: setup  ## the README's MLflow screenshots and piano rolls from this machine's runs (needs chromium)
	$(PY) -m crnngan.tools.screenshots --store $(CURDIR)/mlruns --out docs/images

clean:  ## remove pipeline outputs, runs and caches (keeps .venv)
	rm -rf data/corpus data/processed models samples reports mlruns dvc_plots optuna tune generated .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
