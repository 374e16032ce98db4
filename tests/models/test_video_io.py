"""Video I/O: audio decoding, per-frame mel windows, the mp4 writer, `generate` and the training data cache.

A FakeModel stands in for the trained network: its frames follow the loudness of each window and a counter
carried in its recurrent state, with a seeded pattern, so streaming, state carrying and seeding are all visible
in the output file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from media import ffmpeg, probe_json

from sound2video.models.audio.mel import MelParams, log_mel
from sound2video.models.video.audio_windows import (
    AudioInputError,
    decode_audio,
    frame_count,
    frame_windows,
    log_mel_rows,
    window_params,
    window_shape,
)
from sound2video.models.video.generate import (
    GenerateError,
    GenerateFailure,
    GenerateResult,
    VideoModel,
    generate,
    generate_folder,
)
from sound2video.models.video.writer import VideoWriter, VideoWriterError

SR = 16000
MEL = MelParams(sample_rate=SR, clip_seconds=1.0, n_fft=512, hop_length=160, n_mels=32, fmin=50, fmax=8000)


class FakeModel:
    """Deterministic stand-in for the video network (see the module docstring)."""

    def __init__(
        self,
        resolution: int = 16,
        fps: float = 10.0,
        window_seconds: float = 0.5,
        mel: MelParams = MEL,
        fail_after: int | None = None,
    ) -> None:
        self.resolution, self.fps, self.window_seconds, self.mel = resolution, fps, window_seconds, mel
        self.fail_after = fail_after
        self.started_with: dict = {}

    def start(self, seed: int, psi: float | None = None, image: np.ndarray | None = None) -> dict:
        self.started_with = {"seed": seed, "psi": psi, "image": image}
        rng = np.random.default_rng(seed)
        pattern = rng.integers(0, 60, size=(self.resolution, self.resolution, 3)).astype(np.float32)
        return {"pattern": pattern, "t": 0}

    def frames(self, state: dict, windows: np.ndarray) -> tuple[np.ndarray, dict]:
        if self.fail_after is not None and state["t"] >= self.fail_after:
            raise RuntimeError("model failure in the middle of a video")
        loud = windows.max(axis=1).mean(axis=1)  # the loudest band over time; the log-mel is 0 for silence
        t = state["t"] + np.arange(len(windows))
        img = state["pattern"][None] + 190.0 * loud[:, None, None, None]
        img[:, :2, :2, :] = (t % 50)[:, None, None, None] * 5.0  # the carried counter, visible in a corner
        frames = np.clip(np.round(img), 0, 255).astype(np.uint8)
        return frames, {"pattern": state["pattern"], "t": int(state["t"] + len(windows))}


def tone(seconds: float, sr: int = SR, silent_until: float = 0.0) -> np.ndarray:
    """A chirp with a slow amplitude wobble (unambiguous to align), optionally silent at the start."""
    t = np.arange(int(round(seconds * sr))) / sr
    wave = 0.5 * np.sin(2 * np.pi * (200 * t + 450 * t**2 / max(seconds, 1e-9))) * (0.6 + 0.4 * np.sin(2.6 * t))
    wave[t < silent_until] = 0
    return wave.astype(np.float32)


def write_wav(path: Path, wave: np.ndarray, sr: int = SR) -> Path:
    sf.write(str(path), wave, sr, subtype="FLOAT")
    return path


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    """The same 2 s chirp as wav, flac, mp3 (44.1 kHz stereo), m4a (48 kHz) and an mp4's audio track."""
    d = tmp_path_factory.mktemp("media")
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


def test_batched_log_mel_equals_the_audio_towers_front_end():
    for mel in (MEL, MelParams()):  # the test's small params and the project's defaults
        p = window_params(mel, 0.5)
        rows = np.random.default_rng(0).standard_normal((5, p.num_samples)).astype(np.float32) * 0.3
        rows[1] = 0  # silence
        batched = log_mel_rows(rows, p)
        assert batched.shape == (5, *window_shape(mel, 0.5))
        for r, b in zip(rows, batched):
            np.testing.assert_array_equal(b, log_mel(r, p))


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


# ------------------------------------------------------------------------------------------------ writer ----


def test_writer_failure_leaves_nothing(tmp_path):
    out = tmp_path / "w.mp4"
    with pytest.raises(VideoWriterError) as e:
        with VideoWriter(out, 10, 16, 16, audio_path=tmp_path / "no-such-audio.wav") as w:
            for _ in range(50):  # ffmpeg fails on the missing input; writing then hits a closed pipe
                w.write(np.zeros((4, 16, 16, 3), np.uint8))
    assert "no-such-audio.wav" in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_frames_of_the_wrong_shape(tmp_path):
    with pytest.raises(VideoWriterError, match="uint8"):
        with VideoWriter(tmp_path / "w.mp4", 10, 16, 16) as w:
            w.write(np.zeros((2, 16, 8, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------- generate ----


def streams(path: Path) -> tuple[dict, dict, dict]:
    info = probe_json(path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    return video, audio, info["format"]


@pytest.fixture(scope="module")
def long_sound(tmp_path_factory) -> Path:
    return write_wav(tmp_path_factory.mktemp("sound") / "sound.wav", tone(2.37, silent_until=1.0))


def test_fake_model_follows_the_protocol():
    assert isinstance(FakeModel(), VideoModel)


def test_generated_mp4_streams_duration_and_size(long_sound, tmp_path):
    model = FakeModel()
    out = tmp_path / "out.mp4"
    res = generate(long_sound, out, model, seed=3, size=64)
    assert isinstance(res, GenerateResult)
    assert res.out == out and res.frames == frame_count(int(2.37 * SR), SR, 10) == 24
    assert res.fps == 10 and abs(res.audio_seconds - 2.37) < 1e-6 and res.video_seconds == pytest.approx(2.4)
    video, audio, fmt = streams(out)
    assert (video["codec_name"], video["pix_fmt"], video["width"], video["height"]) == ("h264", "yuv420p", 64, 64)
    assert audio["codec_name"] == "aac"
    assert int(video["nb_frames"]) == 24
    from media import counted_video_frames

    assert counted_video_frames(out) == 24
    assert abs(float(video["duration"]) - 2.37) <= 1 / 10
    assert abs(float(audio["duration"]) - 2.37) <= 1 / 10  # AAC end padding < 1024 samples at 48 kHz
    assert "creation_time" not in json.dumps(fmt)
    # Frames follow the sound: silent for the first second, loud afterwards.
    frames = decode_frames(out, 64)
    assert frames[:5].mean() + 40 < frames[-5:].mean()


def decode_frames(path: Path, side: int) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, side, side, 3)


def test_muxed_sound_matches_the_input(long_sound, tmp_path):
    out = tmp_path / "out.mp4"
    generate(long_sound, out, FakeModel(), seed=0)
    src = decode_audio(long_sound, SR)
    back = decode_audio(out, SR)
    # Measured with ffmpeg 5.1: the AAC encoder's 1024-sample priming is recorded in the mp4 edit list and
    # dropped on decoding, so the sound comes back with no delay; only the end carries AAC padding.
    assert best_lag(back, src) == 0
    assert 0 <= len(back) - len(src) <= 1024 * SR // 48000 + 1
    n = len(src)
    assert np.corrcoef(back[:n], src)[0, 1] > 0.98
    assert np.abs(back[:n] - src).max() < 0.1


def test_same_seed_same_bytes_and_chunking_does_not_matter(long_sound, tmp_path):
    a, b, c, d = (tmp_path / f"{k}.mp4" for k in "abcd")
    generate(long_sound, a, FakeModel(), seed=5, chunk_frames=32)
    generate(long_sound, b, FakeModel(), seed=5, chunk_frames=32)
    generate(long_sound, c, FakeModel(), seed=5, chunk_frames=5)  # the state is carried across chunks
    generate(long_sound, d, FakeModel(), seed=6)
    assert a.read_bytes() == b.read_bytes() == c.read_bytes()
    assert a.read_bytes() != d.read_bytes()


def test_fps_default_and_override(long_sound, tmp_path):
    res = generate(long_sound, tmp_path / "o.mp4", FakeModel(fps=10), fps=4)
    assert res.frames == round(2.37 * 4) == 9 and res.fps == 4
    video, _, _ = streams(res.out)
    assert video["avg_frame_rate"] == "4/1" and int(video["nb_frames"]) == 9


def test_model_failure_mid_way_leaves_no_file(long_sound, tmp_path):
    out_dir = tmp_path / "o"
    out_dir.mkdir()
    with pytest.raises(RuntimeError, match="middle of a video"):
        generate(long_sound, out_dir / "x.mp4", FakeModel(fail_after=10), chunk_frames=4)
    assert list(out_dir.iterdir()) == []
    # With --force over an existing video, a failure keeps the old file as it was.
    old = out_dir / "x.mp4"
    old.write_bytes(b"previous video")
    with pytest.raises(RuntimeError):
        generate(long_sound, old, FakeModel(fail_after=10), chunk_frames=4, force=True)
    assert old.read_bytes() == b"previous video" and list(out_dir.iterdir()) == [old]


def test_bad_inputs_are_one_line_errors_naming_the_file(media_dir, long_sound, tmp_path):
    model = FakeModel()
    cases = {
        media_dir / "missing.wav": "not found",
        media_dir / "notes.txt": "not a readable",
        media_dir / "silent_video.mp4": "no audio stream",
        media_dir / "short.wav": "shorter than one frame",
        media_dir / "empty.wav": "empty",
    }
    for path, problem in cases.items():
        with pytest.raises(GenerateError) as e:
            generate(path, tmp_path / "o.mp4", model)
        one_line_naming(e.value, path)
        assert problem in str(e.value)
    existing = tmp_path / "exists.mp4"
    existing.write_bytes(b"keep me")
    with pytest.raises(GenerateError, match="already exists") as e:
        generate(long_sound, existing, model)
    one_line_naming(e.value, existing)
    assert existing.read_bytes() == b"keep me"
    generate(long_sound, existing, model, force=True)
    assert streams(existing)[0]["codec_name"] == "h264"
    with pytest.raises(GenerateError, match="not a readable image") as e:
        generate(long_sound, tmp_path / "o.mp4", model, image=media_dir / "notes.txt")
    one_line_naming(e.value, media_dir / "notes.txt")
    assert not (tmp_path / "o.mp4").exists()


def test_start_image_is_centre_cropped_and_resized(long_sound, tmp_path):
    from PIL import Image

    pic = np.zeros((40, 120, 3), np.uint8)
    pic[:, :40] = (255, 0, 0)
    pic[:, 40:80] = (0, 255, 0)  # the centre square is green
    pic[:, 80:] = (0, 0, 255)
    Image.fromarray(pic).save(tmp_path / "start.png")
    model = FakeModel(resolution=16)
    generate(long_sound, tmp_path / "o.mp4", model, image=tmp_path / "start.png", psi=0.7, seed=9)
    got = model.started_with
    assert got["seed"] == 9 and got["psi"] == 0.7
    img = got["image"]
    assert img.dtype == np.uint8 and img.shape == (16, 16, 3)
    assert np.all(img[..., 1] > 200) and np.all(img[..., 0] < 30) and np.all(img[..., 2] < 30)


def test_generate_folder_reports_bad_files_and_goes_on(media_dir, long_sound, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("tone.flac", "notes.txt", "short.wav", "tone.m4a"):
        (src / name).write_bytes((media_dir / name).read_bytes())
    results = generate_folder(src, tmp_path / "out", FakeModel(), seed=1)
    assert [type(r) for r in results] == [GenerateFailure, GenerateFailure, GenerateResult, GenerateFailure]
    assert "notes.txt" in results[0].reason and "not a readable" in results[0].reason
    assert "short.wav" in results[1].reason and "shorter than one frame" in results[1].reason
    assert "tone.mp4 is already made from tone.flac" in results[3].reason
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["tone.mp4"]


LONG_AUDIO_SCRIPT = textwrap.dedent("""
    import resource, sys
    sys.path.insert(0, sys.argv[3])
    import numpy as np
    from test_video_io import FakeModel
    from sound2video.models.video.audio_windows import frame_windows
    from sound2video.models.video.generate import generate
    model = FakeModel(resolution=32, fps=4.0)
    frame_windows(np.zeros(16000, np.float32), model.mel, 4.0, 0.5)  # librosa's lazy imports in the baseline
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = generate(sys.argv[1], sys.argv[2], model, seed=0, chunk_frames=64)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(res.frames, base, peak)
""")


def test_ten_minutes_of_sound_in_bounded_memory(tmp_path):
    """10 minutes at 4 fps, 32 px: the frames and windows stream, only the 38 MB waveform is held."""
    sound = tmp_path / "ten_minutes.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:sample_rate=16000:duration=600", "-c:a", "pcm_s16le", str(sound))
    out = tmp_path / "long.mp4"
    tests_dir = str(Path(__file__).resolve().parents[1])  # the tests' helpers (media.py)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), tests_dir, os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run(
        [sys.executable, "-c", LONG_AUDIO_SCRIPT, str(sound), str(out), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert r.returncode == 0, r.stderr[-2000:]
    frames, base_kb, peak_kb = map(int, r.stdout.split())
    assert frames == 2400
    assert (peak_kb - base_kb) / 1024 < 300, f"peak RSS grew by {(peak_kb - base_kb) / 1024:.0f} MB"
    video, audio, _ = streams(out)
    assert int(video["nb_frames"]) == 2400 and abs(float(audio["duration"]) - 600) < 0.25


# ------------------------------------------------------------------------------------------------- cache ----


def shard_row(key: str, cls: str, mp4: Path) -> dict:
    """A clips-ledger row as the shard stage reads it (only what ``sample_json`` needs)."""
    return {
        "key": key,
        "class": cls,
        "video_id": f"vid_{key}",
        "source_url": f"file:///{key}.mp4",
        "source_kind": "synthetic",
        "clip_index": 0,
        "start": 0.0,
        "end": 1.0,
        "fps": 10,
        "frames": 10,
        "width": 64,
        "height": 48,
        "sample_rate": 16000,
        "audio_samples": 16000,
        "channels": 1,
        "scene_cut": False,
        "mp4": mp4,
    }


@pytest.fixture(scope="module")
def tiny_shards(tmp_path_factory, classes_table) -> Path:
    """Landscape-layout shards written by the shard stage's own writer: 3 good clips and 1 corrupt one."""
    from media import make_video

    from sound2video.core.fsutil import write_json_atomic
    from sound2video.data.shard.stage import INDEX_NAME, sample_json
    from sound2video.data.shard.write import write_split

    d = tmp_path_factory.mktemp("shards")
    clips = d / "clips"
    clips.mkdir()
    plan = {
        "train": [
            ("a_clip", "raining", "color"),
            ("c_clip", "thunderstorm", "testsrc2"),
            ("d_broken", "raining", "testsrc2"),
        ],
        "val": [("b_clip", "fire_crackling", "testsrc2")],
    }
    out = d / "shards"
    out.mkdir()
    index = []
    for split, items in plan.items():
        samples = []
        for key, cls, picture in sorted(items):
            mp4 = make_video(clips / f"{key}.mp4", size=(64, 48), seconds=1.0, fps=10, layout="mono", picture=picture)
            ffmpeg("-i", str(mp4), "-vn", "-ar", "16000", "-ac", "1", "-c:a", "flac", str(clips / f"{key}.flac"))
            data = mp4.read_bytes()
            if key == "d_broken":
                data = data[: len(data) // 3]  # truncated download: the mp4 does not decode
            samples.append(
                {
                    "__key__": key,
                    "mp4": data,
                    "flac": (clips / f"{key}.flac").read_bytes(),
                    "json": json.dumps(sample_json(shard_row(key, cls, mp4), classes_table, split)).encode(),
                    "cls": str(classes_table.index(cls)).encode(),
                }
            )
        index += write_split(samples, out, split, max_count=2, max_bytes=10_000_000)
    write_json_atomic(out / INDEX_NAME, {"shards": index, "samples": 4})
    return out


@pytest.fixture(scope="module")
def classes_table():
    from sound2video.data.classes import ClassTable

    return ClassTable.read(Path(__file__).resolve().parents[2] / "data" / "classes.csv")


def test_build_cache_shapes_labels_and_skips(tiny_shards, classes_table, tmp_path):
    from sound2video.models.video.cache import VideoCache, build_cache

    mel = MelParams(sample_rate=SR, n_fft=512, hop_length=160, n_mels=32)
    cache = build_cache(tiny_shards, tmp_path / "cache", classes_table.names, 10.0, 32, 0.5, mel)
    assert isinstance(cache, VideoCache)
    assert cache.keys == ["a_clip", "b_clip", "c_clip"]
    assert cache.splits == ["train", "val", "train"]
    assert cache.class_names == ["thunderstorm", "fire_crackling", "raining"]  # table order, present classes
    assert cache.labels.dtype == np.int64 and cache.labels.tolist() == [2, 1, 0]
    assert cache.frames.dtype == np.uint8 and cache.frames.shape == (3, 10, 32, 32, 3)
    assert cache.mels.dtype == np.float16 and cache.mels.shape == (3, 10, 32, 51)
    assert isinstance(cache.frames, np.memmap) and isinstance(cache.mels, np.memmap)
    assert cache.rows("train").tolist() == [0, 2] and cache.rows("test").tolist() == []
    assert [s["key"] for s in cache.skipped] == ["d_broken"] and "decode" in cache.skipped[0]["reason"]
    meta = json.loads((cache.folder / "cache.json").read_text())
    assert meta["skipped"] == cache.skipped and meta["key"] == cache.key
    # The frames are the clip's centre square, resized: the flat colour clip stays that colour (0x406080).
    np.testing.assert_allclose(cache.frames[0].reshape(-1, 3).mean(axis=0), (0x40, 0x60, 0x80), atol=4)
    assert cache.frames[2, 0].std() > 10 and np.abs(cache.frames[2, 0].astype(int) - cache.frames[2, 9]).mean() > 1
    # The mels are the generation front-end's windows of the clip's sound.
    wave = decode_audio(tiny_shards.parent / "clips" / "c_clip.flac", SR)
    np.testing.assert_array_equal(cache.mels[2], frame_windows(wave, mel, 10.0, 0.5).astype(np.float16))
    assert cache.mels[2, 2:8].max() > 0.5  # the 440 Hz tone is there
    reopened = VideoCache.open(cache.folder)
    assert reopened.keys == cache.keys and np.array_equal(reopened.frames, cache.frames)


def test_build_cache_is_reused_and_keyed_by_its_params(tiny_shards, classes_table, tmp_path, monkeypatch):
    from sound2video.models.video import cache as cache_mod

    mel = MelParams(sample_rate=SR, n_fft=512, hop_length=160, n_mels=32)
    root = tmp_path / "cache"
    first = cache_mod.build_cache(tiny_shards, root, classes_table.names, 4.0, 16, 0.5, mel)
    assert first.frames.shape == (3, 4, 16, 16, 3)

    def no_decoding(*args, **kwargs):
        raise AssertionError("the cache was decoded again")

    monkeypatch.setattr(cache_mod, "_decode_clip", no_decoding)
    again = cache_mod.build_cache(tiny_shards, root, classes_table.names, 4.0, 16, 0.5, mel)
    assert again.folder == first.folder and again.key == first.key
    monkeypatch.undo()
    other = cache_mod.build_cache(tiny_shards, root, classes_table.names, 4.0, 24, 0.5, mel)
    assert other.folder != first.folder and other.frames.shape == (3, 4, 24, 24, 3)
    assert sorted(p.name for p in root.iterdir()) == sorted([first.folder.name, other.folder.name])  # no temp
    keys = {
        cache_mod.cache_key([("train-000000.tar", "0" * 64)], classes_table.names, 4.0, 16, 0.5, m, ("train",))
        for m in (mel, MelParams(sample_rate=SR, n_fft=512, hop_length=160, n_mels=40))
    }
    assert len(keys) == 2
