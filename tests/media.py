"""Test media made with ffmpeg's lavfi sources, plus independent ffprobe-based measurements."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_video(
    path: Path,
    size: tuple[int, int] = (1280, 720),
    seconds: float = 3.0,
    fps: int = 10,
    audio: str | None = "sine",
    layout: str = "stereo",
    picture: str = "testsrc2",
) -> Path:
    """A test video: ``picture`` is a lavfi video source name (testsrc2 moves; 'color' is frozen)."""
    w, h = size
    vsrc = (
        f"color=c=0x406080:s={w}x{h}:r={fps}:d={seconds}"
        if picture == "color"
        else f"{picture}=s={w}x{h}:r={fps}:d={seconds}"
    )
    args = ["-f", "lavfi", "-i", vsrc]
    if audio == "sine":
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    elif audio == "silence":
        args += ["-f", "lavfi", "-i", f"anullsrc=channel_layout=stereo:sample_rate=48000:d={seconds}"]
    if audio:
        args += ["-af", f"aformat=channel_layouts={layout}", "-c:a", "aac"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest", str(path)]
    ffmpeg(*args)
    return path


def make_scene_cut(
    path: Path, size: tuple[int, int] = (1280, 720), seconds: float = 3.0, fps: int = 10, cut_at: float = 0.7
) -> Path:
    """testsrc2 until ``cut_at`` seconds, then a mandelbrot zoom: one hard cut."""
    w, h = size
    half = seconds - cut_at
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=s={w}x{h}:r={fps}:d={cut_at}",
        "-f",
        "lavfi",
        "-i",
        f"mandelbrot=s={w}x{h}:r={fps}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=300:sample_rate=48000:duration={seconds}",
        "-filter_complex",
        f"[1:v]trim=duration={half},setpts=PTS-STARTPTS[b];[0:v][b]concat=n=2:v=1:a=0[v]",
        "-map",
        "[v]",
        "-map",
        "2:a",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        str(path),
    )
    return path


def make_vfr(path: Path, size: tuple[int, int] = (1280, 720), seconds: float = 3.0) -> Path:
    """Variable frame rate: 30 fps for the first second, then every third frame only (10 fps)."""
    w, h = size
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=s={w}x{h}:r=30:d={seconds}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=500:sample_rate=44100:duration={seconds}",
        "-vf",
        r"select='lt(n\,30)+not(mod(n\,3))'",
        "-fps_mode",
        "vfr",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        str(path),
    )
    return path


def truncate(path: Path, keep_fraction: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep_fraction)])
    return path


def probe_json(path: Path, *extra: str) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_streams", "-show_format", *extra, str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def counted_video_frames(path: Path) -> int:
    """Frames counted by decoding (ffprobe -count_frames), independent of container headers."""
    data = probe_json(path, "-count_frames", "-select_streams", "v:0")
    return int(data["streams"][0]["nb_read_frames"])


def decoded_audio_samples(path: Path) -> tuple[int, int]:
    """(samples per channel, channels) by decoding the first audio stream to raw PCM."""
    channels = int(probe_json(path, "-select_streams", "a:0")["streams"][0]["channels"])
    raw = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-f",
            "s16le",
            "-acodec",
            "pcm_s16le",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return len(raw) // (2 * channels), channels
