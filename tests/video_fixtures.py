"""Shared helpers of the video model's I/O tests: a test chirp, wav writing, a folder of the same sound in every
container the generator reads, and the checks on alignment and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from media import ffmpeg

from sound2video.models.audio.mel import MelParams

SR = 16000
MEL = MelParams(sample_rate=SR, clip_seconds=1.0, n_fft=512, hop_length=160, n_mels=32, fmin=50, fmax=8000)


def tone(seconds: float, sr: int = SR, silent_until: float = 0.0) -> np.ndarray:
    """A chirp with a slow amplitude wobble (unambiguous to align), optionally silent at the start."""
    t = np.arange(int(round(seconds * sr))) / sr
    wave = 0.5 * np.sin(2 * np.pi * (200 * t + 450 * t**2 / max(seconds, 1e-9))) * (0.6 + 0.4 * np.sin(2.6 * t))
    wave[t < silent_until] = 0
    return wave.astype(np.float32)


def write_wav(path: Path, wave: np.ndarray, sr: int = SR) -> Path:
    sf.write(str(path), wave, sr, subtype="FLOAT")
    return path


def make_media_dir(d: Path) -> Path:
    """Writes into ``d`` the same 2 s chirp as wav, flac, mp3 (44.1 kHz stereo), m4a (48 kHz) and an mp4's audio
    track, plus a video without sound, a text file, a too-short and an empty wav."""
    src = write_wav(d / "tone.wav", tone(2.0))
    ffmpeg("-i", str(src), "-c:a", "flac", str(d / "tone.flac"))
    ffmpeg("-i", str(src), "-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", str(d / "tone.mp3"))
    ffmpeg("-i", str(src), "-ar", "48000", "-c:a", "aac", "-b:a", "128k", str(d / "tone.m4a"))
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=64x48:r=10:d=2",
        "-i",
        str(src),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        str(d / "tone.mp4"),
    )
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=64x48:r=10:d=1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        str(d / "silent_video.mp4"),
    )
    (d / "notes.txt").write_text("this is not a sound\n")
    write_wav(d / "short.wav", tone(0.04))
    sf.write(str(d / "empty.wav"), np.zeros(0, np.float32), SR, subtype="FLOAT")
    return d


def best_lag(a: np.ndarray, b: np.ndarray, max_lag: int = 4000) -> int:
    """The shift L maximising sum a[n + L] * b[n] (L > 0: ``a`` is late)."""
    from scipy.signal import correlate

    xc = correlate(a, b, mode="full", method="fft")
    lags = np.arange(-len(b) + 1, len(a))
    keep = np.abs(lags) <= max_lag
    return int(lags[keep][np.argmax(xc[keep])])


def one_line_naming(err: Exception, path: Path) -> None:
    msg = str(err)
    assert "\n" not in msg, msg
    assert str(path) in msg, msg
