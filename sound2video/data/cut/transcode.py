"""One ffmpeg pass per clip: H.264+AAC mp4, FLAC, and a tiny BGR frame stream for scene/freeze analysis."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sound2video.data.cut.params import CutParams
from sound2video.media.argv import ClipEncoding, clip_command
from sound2video.media.runner import MediaError, run_tool

ANALYSIS_WIDTH = 128  # frames for scene/freeze analysis are this wide (height keeps the aspect)


class TranscodeError(MediaError):
    """ffmpeg failed on a clip; the message names the source video and gives the end of ffmpeg's stderr."""


def analysis_size(params: CutParams) -> tuple[int, int]:
    h = max(2, int(round(ANALYSIS_WIDTH * params.height / params.width / 2)) * 2)
    return ANALYSIS_WIDTH, h


def clip_encoding(params: CutParams) -> ClipEncoding:
    """What the cut params ask of each clip's ffmpeg pass."""
    return ClipEncoding(
        seconds=params.clip_seconds,
        fps=params.fps,
        size=(params.width, params.height),
        frames=params.frames_per_clip,
        sample_rate=params.audio.sample_rate,
        channels=params.audio.channels,
        samples=params.samples_per_clip,
        preset=params.video.preset,
        crf=params.video.crf,
        threads=params.video.threads,
        aac_bitrate=params.audio.aac_bitrate,
        analysis_size=analysis_size(params),
    )


def build_command(src: str | Path, start: float, mp4: str | Path, flac: str | Path, params: CutParams) -> list[str]:
    """The ffmpeg argv for one clip (built with ffmpeg-python; never run through a shell)."""
    return clip_command(src, start, clip_encoding(params), mp4, flac)


@dataclass
class TranscodeResult:
    frames: np.ndarray  # (n, h, w, 3) uint8 BGR analysis frames


def transcode(
    src: str | Path,
    start: float,
    mp4: Path,
    flac: Path,
    params: CutParams,
    timeout: float | None = None,
    name: str | None = None,
) -> TranscodeResult:
    """Run one clip's ffmpeg pass; returns the analysis frames. Raises TranscodeError naming the source as ``name``
    (default: its file name) with ffmpeg's reason; the clip's temporary outputs are named by their file names."""
    name = name or Path(src).name
    aliases = {str(src): name, str(mp4): Path(mp4).name, str(flac): Path(flac).name}
    data = run_tool(
        build_command(src, start, mp4, flac, params), name, timeout=timeout, error=TranscodeError, aliases=aliases
    )
    aw, ah = analysis_size(params)
    frame_bytes = aw * ah * 3
    n = len(data) // frame_bytes
    frames = np.frombuffer(data[: n * frame_bytes], np.uint8).reshape(n, ah, aw, 3)
    return TranscodeResult(frames=frames)
