"""AV-Align (Yariv et al.): how well the picture's motion peaks line up with the sound's onsets.

Semantics of the reference implementation (``av_align.py`` in guyyariv/TempoTokens), followed step by step:

- audio peaks: the sound at librosa's default rate (22,050 Hz mono), ``onset_strength`` then ``onset_detect`` with
  their defaults, as times in seconds;
- video peaks: OpenCV Farneback optical flow between consecutive grey frames (pyr_scale 0.5, levels 3, winsize 15,
  iterations 3, poly_n 5, poly_sigma 1.2, flags 0); per frame the mean flow magnitude, the first frame repeating
  the first pair's value; peaks are strict local maxima (neighbours on both sides, so never the first or last
  frame) whose magnitude is at least 0.1, at time ``i / fps``;
- matching: audio peaks in order; each takes the first unused video peak lying strictly within ``1 / fps`` of it;
  score = hits / (|A| + |V| - hits), an intersection over union.

The paper describes a symmetric 3-frame window; the code computes the above, and we follow the code.

The one departure: the reference divides by zero when neither the sound nor the picture has a peak. That case is
*undefined* here (``None``): such a video is left out of the mean and counted, because any number would be a
choice about silence (1 would reward a frozen picture on a quiet sound, 0 would punish a still picture that is the
right answer to it). A sound with onsets and a picture without peaks (or the reverse) scores 0, as in the reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

AUDIO_SAMPLE_RATE = 22050  # librosa.load's default rate, which the reference relies on
PEAK_THRESHOLD = 0.1  # minimum mean flow magnitude (pixels) of a video peak
FARNEBACK = {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5, "poly_sigma": 1.2, "flags": 0}


@dataclass(frozen=True)
class AVAlignResult:
    """One video's score (None: neither side has a peak) with the peaks it came from."""

    score: Optional[float]
    audio_peaks: list[float]
    video_peaks: list[float]
    hits: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "audio_peaks": self.audio_peaks,
            "video_peaks": self.video_peaks,
            "hits": self.hits,
        }


def resample_for_onsets(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float32 audio at 22,050 Hz with librosa's default resampler (what ``librosa.load`` does)."""
    import librosa

    wave = np.asarray(wave, np.float32).reshape(-1)
    if int(sample_rate) == AUDIO_SAMPLE_RATE:
        return wave
    return librosa.resample(wave, orig_sr=int(sample_rate), target_sr=AUDIO_SAMPLE_RATE).astype(np.float32)


def audio_peaks(wave: np.ndarray, sample_rate: int) -> list[float]:
    """Onset times (s) of mono audio: librosa's onset detector with its defaults, at 22,050 Hz."""
    import librosa

    y = resample_for_onsets(wave, sample_rate)
    envelope = librosa.onset.onset_strength(y=y, sr=AUDIO_SAMPLE_RATE)
    onsets = librosa.onset.onset_detect(onset_envelope=envelope, sr=AUDIO_SAMPLE_RATE)
    return [float(t) for t in librosa.frames_to_time(onsets, sr=AUDIO_SAMPLE_RATE)]


def flow_magnitudes(frames: np.ndarray) -> np.ndarray:
    """Per frame, the mean Farneback flow magnitude from the previous frame (frame 0 repeats the first pair's).

    ``frames``: uint8 RGB [T, H, W, 3] with T >= 2. Returns float64 [T].
    """
    import cv2

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) < 2:
        raise ValueError(f"flow_magnitudes: need uint8 RGB frames [T >= 2, H, W, 3], got {list(frames.shape)}")
    grey = [cv2.cvtColor(np.ascontiguousarray(f, dtype=np.uint8), cv2.COLOR_RGB2GRAY) for f in frames]
    mags = np.empty(len(frames) - 1, np.float64)
    for i in range(1, len(grey)):
        flow = cv2.calcOpticalFlowFarneback(
            grey[i - 1],
            grey[i],
            None,
            FARNEBACK["pyr_scale"],
            FARNEBACK["levels"],
            FARNEBACK["winsize"],
            FARNEBACK["iterations"],
            FARNEBACK["poly_n"],
            FARNEBACK["poly_sigma"],
            FARNEBACK["flags"],
        )
        magnitude, _ = cv2.cartToPolar(flow[..., 0], flow[..., 1])
        mags[i - 1] = float(np.mean(magnitude))
    return np.concatenate([mags[:1], mags])


def video_peaks(magnitudes: Sequence[float], fps: float) -> list[float]:
    """Times (s) of strict local maxima of ``magnitudes`` that reach ``PEAK_THRESHOLD``: frame i at i / fps."""
    m = np.asarray(magnitudes, np.float64)
    if len(m) < 3:
        return []
    inner = m[1:-1]
    is_peak = (m[:-2] < inner) & (inner > m[2:]) & (inner >= PEAK_THRESHOLD)
    return [float(i / fps) for i in np.flatnonzero(is_peak) + 1]


def match_peaks(audio: Sequence[float], video: Sequence[float], fps: float) -> int:
    """Greedy hits: each audio peak in order takes the first unused video peak strictly within 1 / fps."""
    used = [False] * len(video)
    hits = 0
    tolerance = 1.0 / fps
    for a in audio:
        for j, v in enumerate(video):
            if not used[j] and v - tolerance < a < v + tolerance:
                used[j] = True
                hits += 1
                break
    return hits


def av_align_score(audio: Sequence[float], video: Sequence[float], fps: float) -> AVAlignResult:
    """The intersection over union of matched peaks; ``score`` None when neither side has a peak."""
    hits = match_peaks(audio, video, fps)
    union = len(audio) + len(video) - hits
    return AVAlignResult(
        None if union == 0 else hits / union, [float(a) for a in audio], [float(v) for v in video], hits
    )


def av_align(frames: np.ndarray, fps: float, wave: np.ndarray, sample_rate: int) -> AVAlignResult:
    """AV-Align of one video: uint8 RGB frames [T, H, W, 3] at ``fps`` and its mono sound."""
    return av_align_score(audio_peaks(wave, sample_rate), video_peaks(flow_magnitudes(frames), fps), fps)


def mean_score(results: Sequence[AVAlignResult]) -> tuple[Optional[float], int]:
    """(mean over the defined scores or None, how many videos were undefined)."""
    defined = [r.score for r in results if r.score is not None]
    return (float(np.mean(defined)) if defined else None), len(results) - len(defined)
