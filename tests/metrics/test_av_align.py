"""AV-Align: peak finding and matching against hand computations, videos with known onsets (clicks in the sound,
jumps in the picture at chosen frames), and agreement with a straightforward re-implementation of the reference's
steps (OpenCV's own video reader, librosa.load) on synthetic landscape clips."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from sound2video.metrics.av_align import (
    AUDIO_SAMPLE_RATE,
    audio_peaks,
    av_align,
    av_align_score,
    flow_magnitudes,
    match_peaks,
    mean_score,
    video_peaks,
)

FPS = 10


# --- pure functions against hand computations ------------------------------------------------------------------


def test_video_peaks_are_strict_local_maxima_at_or_above_the_threshold():
    m = [0.5, 0.0, 0.3, 0.0, 0.2, 0.2, 0.0, 0.09, 0.0, 0.1, 0.05, 0.7]
    # index 0 and the last index are never peaks; 4-5 is a plateau (not strict); 7 is below 0.1; 9 is exactly 0.1
    assert video_peaks(m, FPS) == [0.2, 0.9]
    assert video_peaks([1.0, 2.0], FPS) == []


def test_matching_is_greedy_strict_and_uses_each_video_peak_once():
    # strict: at 4 fps (tolerance 0.25 s, exact in binary) a gap of exactly 0.25 s is not a hit
    assert match_peaks([0.5], [0.45], FPS) == 1
    assert match_peaks([0.5], [0.25], 4.0) == 0 and match_peaks([0.5], [0.75], 4.0) == 0
    assert match_peaks([0.5], [0.2578125], 4.0) == 1
    # two audio peaks near one video peak: only the first one hits
    assert match_peaks([1.0, 1.05], [1.02], FPS) == 1
    # greedy in audio order, taking the FIRST unused video peak in range (not the nearest)
    assert match_peaks([1.0, 1.12], [0.95, 1.05], FPS) == 2
    assert match_peaks([1.04, 0.96], [0.95, 1.05], FPS) == 2


def test_score_is_intersection_over_union_and_the_empty_case_is_undefined():
    r = av_align_score([0.5, 1.5, 2.5], [0.5, 1.5, 2.0], FPS)
    assert r.hits == 2 and r.score == pytest.approx(2 / (3 + 3 - 2))
    assert av_align_score([1.0], [], FPS).score == 0.0
    assert av_align_score([], [1.0], FPS).score == 0.0
    empty = av_align_score([], [], FPS)
    assert empty.score is None and empty.hits == 0
    assert mean_score([r, empty, av_align_score([1.0], [1.0], FPS)]) == (pytest.approx((0.5 + 1.0) / 2), 1)
    assert mean_score([empty]) == (None, 1)


# --- synthetic videos with known onsets -------------------------------------------------------------------------


def textured_frames(n: int, jumps: list[int], size: int = 64, shift: int = 6, seed: int = 0) -> np.ndarray:
    """A smooth random texture that stands still except for a horizontal jump of ``shift`` px at each frame in
    ``jumps`` (so the flow between frame j-1 and j is large exactly there)."""
    rng = np.random.default_rng(seed)
    big = rng.random((size // 4 + 8, size // 4 + 40, 3))
    big = np.kron(big, np.ones((4, 4, 1)))  # blocky texture, then blurred by averaging shifts
    big = sum(np.roll(np.roll(big, dy, 0), dx, 1) for dy in range(3) for dx in range(3)) / 9.0
    frames, offset = [], 0
    for i in range(n):
        if i in jumps:
            offset += shift
        frames.append(big[:size, offset : offset + size])
    return (np.stack(frames) * 255).round().astype(np.uint8)


def clicks(times: list[float], seconds: float, sr: int = 44100) -> np.ndarray:
    """Short decaying noise bursts at ``times`` over near silence."""
    rng = np.random.default_rng(1)
    wave = rng.normal(0, 1e-4, int(seconds * sr)).astype(np.float32)
    burst = rng.normal(0, 0.8, int(0.03 * sr)) * np.exp(-np.arange(int(0.03 * sr)) / (0.005 * sr))
    for t in times:
        s = int(t * sr)
        wave[s : s + len(burst)] += burst.astype(np.float32)
    return wave


def test_known_onsets_give_the_hand_computed_score():
    # video: jumps at frames 5, 15, 20 (0.5 s, 1.5 s, 2.0 s); sound: clicks at 0.5, 1.5, 2.5 s
    frames = textured_frames(30, jumps=[5, 15, 20])
    mags = flow_magnitudes(frames)
    assert mags[0] == mags[1]  # the first frame repeats the first pair
    assert set(np.flatnonzero(mags > 1.0)) == {5, 15, 20}  # motion only at the jumps
    assert video_peaks(mags, FPS) == pytest.approx([0.5, 1.5, 2.0])
    wave = clicks([0.5, 1.5, 2.5], 3.0)
    a = audio_peaks(wave, 44100)
    assert len(a) == 3 and np.allclose(a, [0.5, 1.5, 2.5], atol=0.05)
    result = av_align(frames, FPS, wave, 44100)
    # hand computation: 0.5 and 1.5 match, 2.5 has no video peak within 0.1 s, 2.0 has no click: 2 / (3 + 3 - 2)
    assert result.hits == 2 and result.score == pytest.approx(0.5)
    # in sync everywhere: 1; a frozen picture: 0; clicks shifted by 3 frames: 0
    assert av_align(textured_frames(30, [5, 15, 25]), FPS, wave, 44100).score == pytest.approx(1.0)
    assert av_align(textured_frames(30, []), FPS, wave, 44100).score == 0.0
    assert av_align(textured_frames(30, [8, 18, 28]), FPS, wave, 44100).score == 0.0


def test_silence_and_a_frozen_picture_are_undefined_not_a_crash():
    r = av_align(textured_frames(20, []), FPS, np.zeros(44100 * 2, np.float32), 44100)
    assert r.score is None and r.audio_peaks == [] and r.video_peaks == []


def test_flow_needs_two_rgb_frames():
    with pytest.raises(ValueError, match="T >= 2"):
        flow_magnitudes(np.zeros((1, 8, 8, 3), np.uint8))


# --- agreement with a re-implementation of the reference's steps on real-looking clips ----------------------------


def reference_av_align(video: Path, audio_wav: Path) -> tuple[float | None, list[float], list[float]]:
    """The reference's steps written out plainly: OpenCV reads the mp4 (BGR), librosa.load reads the sound."""
    import cv2
    import librosa

    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()

    def flow(a, b):
        g1, g2 = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY), cv2.cvtColor(b, cv2.COLOR_BGR2GRAY)
        f = cv2.calcOpticalFlowFarneback(g1, g2, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        mag, _ = cv2.cartToPolar(f[..., 0], f[..., 1])
        return np.mean(mag)

    traj = [flow(frames[0], frames[1])] + [flow(frames[i - 1], frames[i]) for i in range(1, len(frames))]
    vpeaks = [i / fps for i in range(1, len(traj) - 1) if traj[i - 1] < traj[i] > traj[i + 1] and traj[i] >= 0.1]
    y, sr = librosa.load(str(audio_wav))
    env = librosa.onset.onset_strength(y=y, sr=sr)
    apeaks = list(librosa.frames_to_time(librosa.onset.onset_detect(onset_envelope=env, sr=sr), sr=sr))
    hits, used = 0, [False] * len(vpeaks)
    for ap in apeaks:
        for j, vp in enumerate(vpeaks):
            if not used[j] and vp - 1 / fps < ap < vp + 1 / fps:
                hits += 1
                used[j] = True
                break
    union = len(apeaks) + len(vpeaks) - hits
    return (hits / union if union else None), apeaks, vpeaks


def decode_rgb(path: Path, w: int, h: int) -> np.ndarray:
    r = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
        capture_output=True,
        check=True,
    )
    return np.frombuffer(r.stdout, np.uint8).reshape(-1, h, w, 3)


@pytest.mark.parametrize("name,index", [("thunderstorm", 0), ("fire_crackling", 1), ("splashing_water", 0)])
def test_agrees_with_the_reference_steps_on_synthetic_clips(tmp_path, name, index):
    from sound2video.data.sources.params import SyntheticParams
    from sound2video.data.sources.synthetic import render_video
    from sound2video.models.video.audio_windows import decode_audio

    w, h = 192, 108
    params = SyntheticParams(seed=3, duration_seconds=4, resolutions=[(w, h)], fps=FPS, sample_rate=44100, crf=23)
    mp4 = tmp_path / f"{name}.mp4"
    render_video(mp4, name, index, params)
    wav = tmp_path / f"{name}.wav"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(mp4), "-vn", "-c:a", "pcm_f32le", str(wav)], check=True
    )
    want, want_a, want_v = reference_av_align(mp4, wav)
    ours = av_align(decode_rgb(mp4, w, h), FPS, decode_audio(mp4, 44100), 44100)
    assert len(ours.audio_peaks) == len(want_a) and np.allclose(ours.audio_peaks, want_a, atol=1e-6)
    assert ours.video_peaks == pytest.approx(want_v)
    assert want is not None and ours.score == pytest.approx(want)
    assert len(want_a) > 0 and len(want_v) > 0  # the comparison is not vacuous


def test_sample_rate_is_librosas_default():
    import inspect

    import librosa

    assert inspect.signature(librosa.load).parameters["sr"].default == AUDIO_SAMPLE_RATE
