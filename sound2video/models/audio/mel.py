"""Log-mel front-end (librosa), identical in training, evaluation and inference, for the audio tower and the video
model alike.

The parameters (``MelParams``, in ``configuration_audio.py``) travel with every saved model, so inference recomputes
exactly the features the encoder was trained on.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from sound2video.models.audio.configuration_audio import MelParams

__all__ = ["AudioError", "MelParams", "fit_length", "load_audio", "log_mel"]


class AudioError(ValueError):
    """Audio that cannot be used: the message names the file and the problem."""


def load_audio(source: str | Path | bytes, params: MelParams, name: str | None = None) -> np.ndarray:
    """Mono float32 at ``params.sample_rate``, padded with silence or cut to ``clip_seconds``.

    Raises AudioError for unreadable or empty audio. Other sample rates are resampled (soxr via librosa).
    """
    import soundfile as sf

    label = name or (str(source) if not isinstance(source, bytes) else "audio bytes")
    try:
        data, sr = sf.read(
            io.BytesIO(source) if isinstance(source, bytes) else str(source), dtype="float32", always_2d=True
        )
    except Exception as e:  # noqa: BLE001 - soundfile raises several types for corrupt input
        raise AudioError(f"{label}: cannot decode audio ({e})") from None
    if data.size == 0:
        raise AudioError(f"{label}: no audio samples")
    wave = data.mean(axis=1)
    if not np.isfinite(wave).all():
        raise AudioError(f"{label}: audio contains NaN or infinite samples")
    if sr != params.sample_rate:
        import librosa

        wave = librosa.resample(wave, orig_sr=sr, target_sr=params.sample_rate, res_type="soxr_hq")
    return fit_length(wave.astype(np.float32), params.num_samples)


def fit_length(wave: np.ndarray, n: int) -> np.ndarray:
    """Pad with zeros at the end, or cut, the last axis (samples) to exactly ``n``."""
    if wave.shape[-1] >= n:
        return wave[..., :n]
    return np.pad(wave, [(0, 0)] * (wave.ndim - 1) + [(0, n - wave.shape[-1])])


def log_mel(waves: np.ndarray, params: MelParams) -> np.ndarray:
    """[..., n_mels, num_frames] float32 log-mel in [0, 1] of ``waves`` [..., samples]: one wave or a batch.

    Each wave is padded with silence or cut to ``params.num_samples``; the value is dB relative to full scale,
    clipped to ``top_db`` below it and scaled. Digital silence maps to 0 everywhere (not NaN), a full-scale tone
    to about 1 in its band. The audio tower (one clip) and the video model (one window per frame) both call this,
    so a frame sees the features the tower was trained on. A batch goes through librosa in one call, giving each
    row exactly the numbers it gets alone: row by row, per-call overhead dominates (about 10 ms for a 0.5 s
    window at n_fft 1024, against about 1 ms per window batched).
    """
    import librosa

    waves = fit_length(np.asarray(waves, np.float32), params.num_samples)
    power = librosa.feature.melspectrogram(
        y=waves,
        sr=params.sample_rate,
        n_fft=params.n_fft,
        hop_length=params.hop_length,
        n_mels=params.n_mels,
        fmin=params.fmin,
        fmax=params.fmax,
        power=2.0,
        center=True,
    )
    db = librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=None)
    db = np.maximum(db, -params.top_db)  # absolute floor, so the scale does not depend on the clip's loudness
    return ((db + params.top_db) / params.top_db).astype(np.float32)
