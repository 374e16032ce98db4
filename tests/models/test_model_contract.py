"""The model contract: one folder layout for every model, read by one helper, loaded by its format tag."""

from __future__ import annotations

import json

import pytest
import torch

from sound2video.models import FORMATS, load
from sound2video.models.contract import ModelFormatError, read_config, read_model_folder, write_model_folder


def test_round_trip_and_single_file(tmp_path):
    state = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    out = write_model_folder(tmp_path / "m", "inversion", 1, {"num_ws": 4}, state)
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    config, loaded = read_model_folder(out, expected_format="inversion")
    assert config == {"format": "inversion", "format_version": 1, "num_ws": 4} and torch.equal(loaded["w"], state["w"])
    alone = tmp_path / "alone.safetensors"  # the config travels in the metadata
    alone.write_bytes((out / "model.safetensors").read_bytes())
    assert read_model_folder(alone)[0] == config
    with pytest.raises(ModelFormatError, match="a 'inversion' model, expected 'audio'"):
        read_model_folder(out, expected_format="audio")


def test_folders_of_earlier_versions_are_recognised_or_refused_clearly(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / "config.json").write_text(json.dumps({"mel": {}, "encoder": {}, "prompt_templates": [], "embed_dim": 8}))
    assert read_config(old)["format"] == "audio" and read_config(old)["format_version"] == 0
    (old / "config.json").write_text(json.dumps({"something": 1}))
    with pytest.raises(ModelFormatError, match="no 'format' tag.*dvc repro"):
        read_config(old)
    with pytest.raises(FileNotFoundError, match="not a model folder"):
        load(tmp_path / "missing")


def test_every_format_names_an_importable_loader():
    import importlib

    for fmt, target in FORMATS.items():
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), fmt
