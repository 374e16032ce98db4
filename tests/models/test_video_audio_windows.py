"""Audio decoding and the per-frame mel windows of the video model (``models/video/audio_windows.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from video_fixtures import MEL, SR, best_lag, make_media_dir, one_line_naming, tone

from sound2video.models.audio.mel import MelParams, log_mel
from sound2video.models.video.audio_windows import (
    AudioInputError,
    decode_audio,
    frame_count,
    frame_windows,
    window_params,
    window_shape,
    window_starts,
)


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    """The same 2 s chirp as wav, flac, mp3 (44.1 kHz stereo), m4a (48 kHz) and an mp4's audio track."""
    return make_media_dir(tmp_path_factory.mktemp("media"))


# ------------------------------------------------------------------------------------------ decode_audio ----


@pytest.mark.parametrize(
    "name, lossless",
    [("tone.wav", True), ("tone.flac", True), ("tone.mp3", False), ("tone.m4a", False), ("tone.mp4", False)],
)
def test_decode_audio_reads_every_format(media_dir, name, lossless):
    src = tone(2.0)
    wave = decode_audio(media_dir / name, SR)
    assert wave.dtype == np.float32 and wave.ndim == 1
    if lossless:
        assert len(wave) == len(src)
        np.testing.assert_allclose(wave, src, atol=1e-4)
        return
    # Lossy: mp3 (LAME header) and AAC in mp4 (edit list) drop the encoder's priming, so there is no delay;
    # AAC keeps its end padding (under one 1024-sample frame of its own rate), so the sound may run a bit long.
    assert 0 <= len(wave) - len(src) <= 1024, len(wave)
    assert best_lag(wave, src) == 0
    n = len(src)
    assert np.corrcoef(wave[:n], src)[0, 1] > 0.99


def test_decode_audio_averages_channels(tmp_path):
    left, right = tone(0.5), -0.5 * tone(0.5)
    path = tmp_path / "stereo.wav"
    sf.write(str(path), np.stack([left, right], axis=1), SR, subtype="FLOAT")
    np.testing.assert_allclose(decode_audio(path, SR), (left + right) / 2, atol=1e-6)


def test_decode_audio_resamples(media_dir):
    wave = decode_audio(media_dir / "tone.wav", 8000)
    assert len(wave) == 16000
    assert np.corrcoef(wave, tone(2.0)[::2])[0, 1] > 0.99  # the chirp stays below 4 kHz


@pytest.mark.parametrize(
    "name, problem",
    [
        ("missing.wav", "not found"),
        ("notes.txt", "not a readable"),
        ("silent_video.mp4", "no audio stream"),
        ("empty.wav", "empty"),
    ],
)
def test_decode_audio_bad_inputs(media_dir, name, problem):
    path = media_dir / name
    with pytest.raises(AudioInputError) as e:
        decode_audio(path, SR)
    assert isinstance(e.value, ValueError)
    one_line_naming(e.value, path)
    assert problem in str(e.value)


# ---------------------------------------------------------------------------------------- frame windows ----


def test_frame_count_rounds_to_the_nearest_frame():
    assert frame_count(2 * SR, SR, 10) == 20
    assert frame_count(int(2.04 * SR), SR, 10) == 20
    assert frame_count(int(2.06 * SR), SR, 10) == 21
    assert frame_count(SR, SR, 30000 / 1001) == 30


def test_each_frame_window_is_the_audio_towers_log_mel_of_its_samples():
    for mel in (MEL, MelParams()):  # the test's small params and the project's defaults
        p = window_params(mel, 0.5)
        wave = np.random.default_rng(0).standard_normal(int(1.3 * SR)).astype(np.float32) * 0.3
        wave[SR // 2 : SR] = 0  # silence
        windows = frame_windows(wave, mel, 10, 0.5)
        assert windows.shape == (13, *window_shape(mel, 0.5))
        n = p.num_samples
        padded = np.pad(wave, (n, n))  # zeros past either end, as the windows see them
        for k, start in enumerate(window_starts(0, 13, SR, 10, n)):
            np.testing.assert_array_equal(windows[k], log_mel(padded[start + n : start + 2 * n], p))


def test_frame_windows_streaming_gives_the_same_rows():
    wave = np.random.default_rng(1).standard_normal(int(3.3 * SR)).astype(np.float32) * 0.2
    full = frame_windows(wave, MEL, 10, 0.5)
    assert full.shape == (33, 32, 51) and full.dtype == np.float32
    for chunk in (1, 7, 32):
        parts = [frame_windows(wave, MEL, 10, 0.5, first=f, count=min(chunk, 33 - f)) for f in range(0, 33, chunk)]
        np.testing.assert_array_equal(np.concatenate(parts), full)
    np.testing.assert_array_equal(frame_windows(wave, MEL, 10, 0.5, first=30), full[30:])


def test_window_is_centred_on_the_frame_and_zero_padded():
    fps, ws = 10.0, 0.5
    click_frame = 12
    t0 = (click_frame + 0.5) / fps  # the centre of frame 12
    wave = np.zeros(3 * SR, np.float32)
    wave[int(round(t0 * SR))] = 1.0
    win = frame_windows(wave, MEL, fps, ws)
    energy = win.sum(axis=1)  # [frames, W]
    W = win.shape[2]
    # The click sits in the middle column of its own frame's window...
    assert abs(int(np.argmax(energy[click_frame])) - W // 2) <= 1
    # ... and moves by fps^-1 seconds (10 mel hops) per frame in the neighbours' windows.
    hops_per_frame = SR / fps / MEL.hop_length
    for k in (-2, -1, 1, 2):
        assert abs(int(np.argmax(energy[click_frame + k])) - (W // 2 - k * hops_per_frame)) <= 1
    # Frames whose window (0.5 s around their centre) misses the click see digital silence: exactly zero.
    covered = [i for i in range(len(win)) if abs((i + 0.5) / fps - t0) <= ws / 2]
    silent = [i for i in range(len(win)) if i not in covered]
    assert click_frame in covered and silent
    assert np.all(win[silent] == 0)
    # Zero-padding beyond the ends: the first frame's window starts before t = 0 and still has full width.
    assert win[0].shape == (MEL.n_mels, W)
