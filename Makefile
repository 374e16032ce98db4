# Two entry points (README "Quick start"): `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The locked environment: exact versions and hashes of every dependency (torch and torchvision as the matched pair the
# registry resolves for Linux x86_64, CPython 3.11). `make setup` installs from it; `make lock` re-resolves it.
LOCK   := requirements.lock
UV_VERSION ?= 0.13.9
LOCK_PY    ?= 3.11
LOCK_PLATFORM ?= x86_64-manylinux_2_28

.PHONY: setup ffmpeg chromium demo test lint bench clean-data lock lock-add plan

setup: ffmpeg chromium $(STAMP)

ffmpeg:
	@if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then :; else \
	  echo "installing Debian's ffmpeg"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq ffmpeg; fi

# Headless Chromium + its driver: the evaluation report's browser test (tests/evaluation/test_report_browser.py).
chromium:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; else \
	  echo "installing Debian's chromium and chromium-driver"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; fi

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

# Re-resolve the lock to the newest versions pyproject.toml allows (a deliberate upgrade: review the diff, run the
# tests, commit). uv runs from a throw-away tool venv, never from the project's.
LOCK_TOOL := /tmp/sound2video-lock-tool
LOCK_ARGS  = pyproject.toml --extra test --generate-hashes --python-version $(LOCK_PY) \
  --python-platform $(LOCK_PLATFORM) --no-header --annotation-style line -o $(LOCK)

$(LOCK_TOOL)/bin/uv:
	$(PYTHON) -m venv $(LOCK_TOOL)
	$(LOCK_TOOL)/bin/python -m pip install -q uv==$(UV_VERSION)

lock: $(LOCK_TOOL)/bin/uv
	$(LOCK_TOOL)/bin/uv pip compile --upgrade $(LOCK_ARGS)

# After adding a dependency to pyproject.toml: resolve it into the lock while every other pin stays as it is.
lock-add: $(LOCK_TOOL)/bin/uv
	$(LOCK_TOOL)/bin/uv pip compile $(LOCK_ARGS)

# What a profile will do and cost before anything runs: `make plan PROFILE=paper`.
PROFILE ?= paper
plan: setup
	$(BIN)/sound2video plan $(PROFILE)

# Builds the offline demo data set with DVC (stage commands call `python`, so the venv goes first on PATH).
demo: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro

# Guard rails first (seconds): lint + format check, the import-layering contracts, the typed core; then the tests.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python benchmarks/cut_throughput.py

# Every output and working folder of dvc.yaml's stages (read from dvc.yaml itself: a new stage is covered as soon as
# it is declared); committed sources, DVC's cache and curation folders' own files stay. `--dry-run` lists them.
clean-data: setup
	$(BIN)/python -m sound2video.project.outputs $(CLEAN_ARGS)
