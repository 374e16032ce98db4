# Two entry points (README "Quick start"): `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup ffmpeg chromium demo test bench clean-data

setup: ffmpeg chromium $(STAMP)

ffmpeg:
	@if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then :; else \
	  echo "installing Debian's ffmpeg"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq ffmpeg; fi

# Headless Chromium + its driver: the evaluation report's browser test (tests/test_report_browser.py).
chromium:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; else \
	  echo "installing Debian's chromium and chromium-driver"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

# Builds the offline demo data set with DVC (stage commands call `python`, so the venv goes first on PATH).
demo: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro

test: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python benchmarks/clip_throughput.py

clean-data:
	rm -rf models/audio_clip checkpoints/audio_clip metrics/audio_clip.json plots/audio_clip
	rm -rf data/vggsound/raw data/vggsound/clips data/vggsound/shards data/vggsound/card.json data/vggsound/card.md
	rm -rf data/landscape/raw data/landscape/clips data/landscape/shards data/landscape/card.json data/landscape/card.md
