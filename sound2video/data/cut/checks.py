"""Per-clip quality checks: scene cuts (PySceneDetect), frozen pictures, silent audio, exact output sizes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sound2video.data.cut.params import CutParams, SceneParams
from sound2video.media.probe import probe


def scene_cuts(frames: np.ndarray, fps: float, scene: SceneParams) -> list[int]:
    """Frame indices where PySceneDetect's detector finds a cut, fed the clip's own (small) frames."""
    from fractions import Fraction

    from scenedetect import AdaptiveDetector, ContentDetector, FrameTimecode

    rate = Fraction(fps).limit_denominator(1001)
    min_len = max(1, int(round(scene.min_scene_len_seconds * fps)))
    if scene.detector == "content":
        detector = ContentDetector(threshold=scene.threshold, min_scene_len=min_len)
    else:
        detector = AdaptiveDetector(adaptive_threshold=scene.threshold, min_scene_len=min_len)
    cuts: list[int] = []
    for i, frame in enumerate(frames):
        cuts += [int(tc.frame_num) for tc in detector.process_frame(FrameTimecode(i, fps=rate), frame)]
    if len(frames):
        cuts += [int(tc.frame_num) for tc in detector.post_process(FrameTimecode(len(frames) - 1, fps=rate))]
    return sorted(c for c in set(cuts) if 0 < c < len(frames))


def motion(frames: np.ndarray) -> float:
    """Mean absolute difference between consecutive frames, in 8-bit levels (0 for a frozen picture)."""
    if len(frames) < 2:
        return 0.0
    a = frames[:-1].astype(np.int16)
    b = frames[1:].astype(np.int16)
    return float(np.abs(b - a).mean())


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS level of float samples in dB relative to full scale (-inf for digital silence)."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
    return 20 * np.log10(rms) if rms > 0 else float("-inf")


@dataclass
class OutputCheck:
    width: int | None
    height: int | None
    frames: int | None
    audio_samples: int
    rms_dbfs: float
    problems: list[str]


def verify_outputs(mp4: Path, flac: Path, params: CutParams, name: str | None = None) -> OutputCheck:
    """Check the written clip against the params: size, frame count, sample count; measure loudness. A probe error
    names the clip as ``name`` (its final file name when ``mp4`` is a temporary file)."""
    import soundfile as sf

    info = probe(mp4, name=name)
    audio, sr = sf.read(str(flac), dtype="float32", always_2d=True)
    problems = []
    if (info.width, info.height) != (params.width, params.height):
        problems.append(f"size {info.width}x{info.height} != {params.width}x{params.height}")
    if info.nb_frames != params.frames_per_clip:
        problems.append(f"got {info.nb_frames} of {params.frames_per_clip} video frames (source ended early?)")
    if sr != params.audio.sample_rate or len(audio) != params.samples_per_clip:
        problems.append(
            f"audio {len(audio)} samples at {sr} Hz != {params.samples_per_clip} at {params.audio.sample_rate} Hz"
        )
    if audio.shape[1] != params.audio.channels:
        problems.append(f"audio has {audio.shape[1]} channels, expected {params.audio.channels}")
    return OutputCheck(info.width, info.height, info.nb_frames, len(audio), rms_dbfs(audio), problems)
