"""``generate``: a sound file in, an mp4 out (``models/video/generate.py``).

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
from media import ffmpeg, probe_json
from video_fixtures import MEL, SR, best_lag, make_media_dir, one_line_naming, tone, write_wav

from sound2video.models.audio.mel import MelParams
from sound2video.models.video.audio_windows import decode_audio, frame_count
from sound2video.models.video.generate import (
    GenerateError,
    GenerateFailure,
    GenerateResult,
    VideoModel,
    generate,
    generate_folder,
)


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


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    """The same 2 s chirp as wav, flac, mp3 (44.1 kHz stereo), m4a (48 kHz) and an mp4's audio track."""
    return make_media_dir(tmp_path_factory.mktemp("media"))


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
    from test_video_generate import FakeModel
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
