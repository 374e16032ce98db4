"""Still frames for shards: K evenly spaced frames of a clip as JPEG bytes (ffmpeg, deterministic)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sound2video.media.argv import jpeg_frames_command
from sound2video.media.runner import MediaError, failure, run_tool


def frame_indices(total: int, k: int) -> list[int]:
    """K frame indices spread evenly over ``total`` frames (the centre of each of K equal parts)."""
    return [min(total - 1, int((i + 0.5) * total / k)) for i in range(k)]


def jpeg_frames(mp4: Path, total_frames: int, k: int, qscale: int = 3) -> list[bytes]:
    """JPEG bytes of ``k`` evenly spaced frames of ``mp4``; raises MediaError naming ``mp4`` with ffmpeg's reason."""
    with tempfile.TemporaryDirectory(prefix="s2v-jpg-") as tmp:
        cmd = jpeg_frames_command(mp4, frame_indices(total_frames, k), qscale, f"{tmp}/f%03d.jpg")
        run_tool(cmd, mp4, aliases={f"{tmp}/": ""})
        files = sorted(Path(tmp).glob("f*.jpg"))
        if len(files) != k:
            raise failure(MediaError, cmd[0], str(mp4), f"gave {len(files)} of {k} frames")
        return [f.read_bytes() for f in files]
