"""The audio front-end of the video model: decode any audio with ffmpeg, then one log-mel window per video frame.

The same three functions serve training (the cache), evaluation and generation, so a frame always sees the same
features for the same sound. Frame ``i`` is shown from ``i / fps`` to ``(i + 1) / fps``; its window is centred on
the middle of that interval, ``(i + 0.5) / fps``, and is zero-padded where it reaches past either end of the audio.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sound2video.media.argv import decode_pcm_command, streams_command
from sound2video.media.runner import MediaError, ToolMissing, run_tool
from sound2video.models.audio.mel import MelParams, log_mel


class AudioInputError(ValueError):
    """Audio that cannot be used; the one-line message names the file and the problem."""


def _run(cmd: list[str], path: Path, name: str, problem: str) -> bytes:
    """Run an ffmpeg/ffprobe command on ``path``; a failure is an AudioInputError 'NAME: PROBLEM (reason)'."""
    try:
        return run_tool(cmd, name, aliases={str(path): name}, tail_lines=1)
    except ToolMissing:
        raise
    except MediaError as e:
        raise AudioInputError(f"{name}: {problem} ({e.reason})") from None


def _audio_channels(path: Path, name: str | None = None) -> int:
    """Channels of the first audio stream; raises AudioInputError for non-media files or files without audio."""
    name = name or str(path)
    out = _run(streams_command(path), path, name, "not a readable audio or video file")
    streams = json.loads(out or b"{}").get("streams", [])
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not audio:
        kinds = sorted({s.get("codec_type", "?") for s in streams})
        what = f"only {', '.join(kinds)} streams" if kinds else "no streams"
        raise AudioInputError(f"{name}: has no audio stream ({what})")
    return max(1, int(audio[0].get("channels") or 1))


def decode_audio(path: str | Path, sample_rate: int, name: str | None = None) -> np.ndarray:
    """Mono float32 samples of the first audio stream of ``path`` at ``sample_rate`` (ffmpeg resamples).

    Any format ffmpeg reads works (wav, flac, mp3, m4a, a video's audio track). Channels are averaged, as in
    ``sound2video.models.audio.mel.load_audio``. The samples start at the stream's first decoded sample: a start offset
    in the container is ignored, the same convention the video writer uses when it muxes the sound back.
    Raises AudioInputError (one line, naming the file as ``name``, default its path) when the file is missing, not
    media, has no audio stream or decodes to no samples.
    """
    path = Path(path)
    name = name or str(path)
    if not path.exists():
        raise AudioInputError(f"{name}: file not found")
    if not path.is_file():
        raise AudioInputError(f"{name}: not a file")
    channels = _audio_channels(path, name)
    out = _run(decode_pcm_command(path, sample_rate, channels), path, name, "cannot decode its audio")
    data = np.frombuffer(out, dtype="<f4")
    data = data[: len(data) // channels * channels].reshape(-1, channels)
    if data.shape[0] == 0:
        raise AudioInputError(f"{name}: the audio stream is empty (no samples decoded)")
    wave = data[:, 0].copy() if channels == 1 else data.mean(axis=1, dtype=np.float32)
    if not np.isfinite(wave).all():
        raise AudioInputError(f"{name}: the audio contains NaN or infinite samples")
    return wave.astype(np.float32, copy=False)


def frame_count(num_samples: int, sample_rate: int, fps: float) -> int:
    """Frames whose video duration (frames / fps) equals the audio's within half a frame (rounded)."""
    return int(round(num_samples / float(sample_rate) * float(fps)))


def window_params(mel: MelParams, window_seconds: float) -> MelParams:
    """The mel params of one frame window: the audio tower's front-end with ``clip_seconds = window_seconds``."""
    return MelParams(**{**mel.model_dump(), "clip_seconds": float(window_seconds)})


def window_shape(mel: MelParams, window_seconds: float) -> tuple[int, int]:
    """(n_mels, W) of one frame's window."""
    p = window_params(mel, window_seconds)
    return p.n_mels, p.num_frames


def window_starts(first: int, count: int, sample_rate: int, fps: float, window_samples: int) -> np.ndarray:
    """First sample of each frame's window (may be negative or past the end: those parts are zeros)."""
    centres = np.round((np.arange(first, first + count, dtype=np.float64) + 0.5) / float(fps) * sample_rate)
    return centres.astype(np.int64) - window_samples // 2


def frame_windows(
    wave: np.ndarray, mel: MelParams, fps: float, window_seconds: float, first: int = 0, count: int | None = None
) -> np.ndarray:
    """[count, n_mels, W] float32 log-mels, row k for frame ``first + k`` (see the module docstring).

    ``count`` defaults to the rest of the video (``frame_count`` frames in all). Each row depends only on its own
    frame index, so computing frames [first, first + count) gives exactly those rows of computing all frames:
    callers can stream a long sound chunk by chunk.
    """
    p = window_params(mel, window_seconds)
    wave = np.asarray(wave, np.float32).reshape(-1)
    if count is None:
        count = max(0, frame_count(len(wave), p.sample_rate, fps) - first)
    if first < 0 or count < 0:
        raise ValueError(f"frame_windows: first ({first}) and count ({count}) must not be negative")
    if count == 0:
        return np.zeros((0, p.n_mels, p.num_frames), np.float32)
    out = np.empty((count, p.n_mels, p.num_frames), np.float32)
    for k in range(0, count, _BLOCK):  # blocks bound the gathered samples and librosa's STFT buffers
        out[k : k + _BLOCK] = _windows_block(wave, p, fps, first + k, min(_BLOCK, count - k))
    return out


_BLOCK = 256  # frames per librosa call: amortises its overhead while bounding memory (about 40 MB at 0.5 s windows)


def _windows_block(wave: np.ndarray, p: MelParams, fps: float, first: int, count: int) -> np.ndarray:
    n = p.num_samples
    starts = window_starts(first, count, p.sample_rate, fps, n)
    # Gather the windows from a zero-padded copy of the span they cover (bounded by the block, not the sound).
    lo, hi = int(starts[0]), int(starts[-1]) + n
    span = np.zeros(hi - lo, np.float32)
    a, b = max(lo, 0), min(hi, len(wave))
    if b > a:
        span[a - lo : b - lo] = wave[a:b]
    idx = (starts - lo)[:, None] + np.arange(n)[None, :]
    return log_mel(span[idx], p)  # one batched call: the audio tower's front-end, row by row identical
