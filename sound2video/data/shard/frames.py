"""Still frames for shards: K evenly spaced frames of a clip as JPEG bytes (ffmpeg, deterministic)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path


def frame_indices(total: int, k: int) -> list[int]:
    """K frame indices spread evenly over ``total`` frames (the centre of each of K equal parts)."""
    return [min(total - 1, int((i + 0.5) * total / k)) for i in range(k)]


def jpeg_frames(mp4: Path, total_frames: int, k: int, qscale: int = 3) -> list[bytes]:
    """JPEG bytes of ``k`` evenly spaced frames of ``mp4``; raises RuntimeError with ffmpeg's reason on failure."""
    picks = frame_indices(total_frames, k)
    select = "+".join(f"eq(n\\,{i})" for i in picks)
    with tempfile.TemporaryDirectory(prefix="s2v-jpg-") as tmp:
        cmd = [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(mp4),
            "-vf",
            f"select={select}",
            "-fps_mode",
            "passthrough",
            "-frames:v",
            str(k),
            "-c:v",
            "mjpeg",
            "-q:v",
            str(qscale),
            "-pix_fmt",
            "yuvj420p",
            "-fflags",
            "+bitexact",
            "-flags:v",
            "+bitexact",
            f"{tmp}/f%03d.jpg",
        ]
        r = subprocess.run(cmd, capture_output=True, text=True)
        files = sorted(Path(tmp).glob("f*.jpg"))
        if r.returncode != 0 or len(files) != k:
            raise RuntimeError(f"could not extract {k} frames from {mp4.name}: {r.stderr.strip()[-300:]}")
        return [f.read_bytes() for f in files]
