# Two entry points (README "Quick start"): `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup ffmpeg demo test lint bench clean-data

setup: ffmpeg $(STAMP)

ffmpeg:
	@if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then :; else \
	  echo "installing Debian's ffmpeg"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq ffmpeg; fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

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

clean-data:
	rm -rf models/audio checkpoints/audio metrics/audio_train.json plots/audio
	rm -rf models/stylegan3 models/inversion checkpoints/inversion metrics/inversion_train.json plots/inversion
	rm -rf data/vggsound/raw data/vggsound/clips data/vggsound/shards data/vggsound/card.json data/vggsound/card.md metrics/data_vggsound.json
	rm -rf data/landscape/raw data/landscape/clips data/landscape/shards data/landscape/card.json data/landscape/card.md metrics/data_landscape.json
