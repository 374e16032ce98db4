"""Trained models, loadable with one call each."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_audio_clip(path: str | Path = "models/audio_clip") -> Any:
    """The audio tower trained by the ``train_audio_clip`` stage (an ``AudioClip``)."""
    from ..audio.model import load

    return load(path)


_default_tower: Any = None


def audio_clip_encoder(wave: Any, sample_rate: int) -> Any:
    """(waveform, sample rate) -> CLIP-space vector with the tower at ``$SOUND2VIDEO_AUDIO_CLIP`` (default
    ``models/audio_clip``), loaded once: ``sound2video metrics clipsim ... --audio sound2video.models:audio_clip_encoder``."""
    import os

    global _default_tower
    if _default_tower is None:
        _default_tower = load_audio_clip(os.environ.get("SOUND2VIDEO_AUDIO_CLIP", "models/audio_clip"))
    return _default_tower(wave, sample_rate)
