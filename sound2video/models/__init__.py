"""Trained models: ``load(path)`` reads any model folder and returns it ready to use.

``FORMATS`` maps each ``format`` tag of the contract (``models/contract.py``) to the function that builds the model
from ``(config, state_dict, device)``, as a lazy "module:function" string (so reading this registry imports no
network code): adding a model is one line here.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from sound2video.models.contract import ModelFormatError, read_model_folder

FORMATS: dict[str, str] = {
    "audio": "sound2video.models.audio.modeling_audio:from_contract",
    "inversion": "sound2video.models.inversion.modeling_inversion:from_contract",
    "stylegan3": "sound2video.models.stylegan3.checkpoint:from_contract",
    "video": "sound2video.models.video.modeling_video:from_contract",
}


def load(path: str | Path, device: str = "cpu", expected_format: str | None = None) -> Any:
    """The model in folder ``path`` (or a lone ``.safetensors`` file), built by its format's loader, in eval mode
    on ``device``."""
    config, state = read_model_folder(path, expected_format)
    target = FORMATS.get(config["format"])
    if target is None:
        raise ModelFormatError(f"{path}: unknown model format {config['format']!r}; known: {sorted(FORMATS)}")
    module, _, function = target.partition(":")
    config["loaded_from"] = str(path)  # so a model that names other model folders can find them beside it
    return getattr(importlib.import_module(module), function)(config, state, device)


_default_tower: Any = None


def audio_clip_encoder(wave: Any, sample_rate: int) -> Any:
    """(waveform, sample rate) -> CLIP-space vector with the audio tower at ``$SOUND2VIDEO_AUDIO_CLIP`` (default
    ``models/audio``), loaded once: ``sound2video metrics clipsim ... --audio sound2video.models:audio_clip_encoder``."""
    global _default_tower
    if _default_tower is None:
        _default_tower = load(os.environ.get("SOUND2VIDEO_AUDIO_CLIP", "models/audio"), expected_format="audio")
    return _default_tower(wave, sample_rate)
