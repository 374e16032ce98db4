"""Trained models, loadable with one call each."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_audio_clip(path: str | Path = "models/audio_clip") -> Any:
    """The audio tower trained by the ``train_audio_clip`` stage (an ``AudioClip``)."""
    from ..audio.model import load

    return load(path)
