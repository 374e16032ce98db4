"""One ffmpeg pass per clip: H.264+AAC mp4, FLAC, and a tiny BGR frame stream for scene/freeze analysis."""

from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sound2video.data.cut.params import CutParams

ANALYSIS_WIDTH = 128  # frames for scene/freeze analysis are this wide (height keeps the aspect)

BITEXACT = {
    "map_metadata": -1,
    "map_chapters": -1,
    "fflags": "+bitexact",
    "flags:v": "+bitexact",
    "flags:a": "+bitexact",
}


class TranscodeError(RuntimeError):
    """ffmpeg failed; the message carries the end of its stderr."""


def analysis_size(params: CutParams) -> tuple[int, int]:
    h = max(2, int(round(ANALYSIS_WIDTH * params.height / params.width / 2)) * 2)
    return ANALYSIS_WIDTH, h


def build_command(src: str | Path, start: float, mp4: str | Path, flac: str | Path, params: CutParams) -> list[str]:
    """The ffmpeg argv for one clip (built with ffmpeg-python; never run through a shell)."""
    import ffmpeg

    frames, samples = params.frames_per_clip, params.samples_per_clip
    # Input-side seek (-ss before -i) is fast and, since we re-encode, frame-accurate. Read a little past the end
    # so that the frame and sample counts are set by the output limits below, not by rounding at the input.
    # reinit_filter 0: a source whose picture size changes mid-stream (joined recordings, broadcast streams) must not
    # rebuild the filter graph, which would restart the trim counters and let a clip run long; scale adapts by itself.
    inp = ffmpeg.input(str(src), ss=f"{start:.6f}", t=f"{params.clip_seconds + 2.0 / params.fps:.6f}", reinit_filter=0)
    video = (
        inp.video.filter("fps", fps=params.fps)
        .filter("scale", params.width, params.height, force_original_aspect_ratio="increase", flags="bicubic")
        .filter("crop", params.width, params.height)
        .filter("setsar", 1)
        .filter("format", "yuv420p")
        .filter("trim", end_frame=frames)
        .filter_multi_output("split", 2)
    )
    layout = "stereo" if params.audio.channels == 2 else "mono"
    audio = (
        inp.audio.filter("aresample", params.audio.sample_rate)
        .filter("aformat", sample_fmts="fltp", channel_layouts=layout)
        .filter("apad")
        .filter("atrim", end_sample=samples)
        .filter_multi_output("asplit", 2)
    )
    aw, ah = analysis_size(params)
    tiny = video[1].filter("scale", aw, ah, flags="area")
    out_mp4 = ffmpeg.output(
        video[0],
        audio[0],
        str(mp4),
        f="mp4",
        vcodec="libx264",
        preset=params.video.preset,
        crf=params.video.crf,
        threads=params.video.threads,
        pix_fmt="yuv420p",
        acodec="aac",
        **{"b:a": params.audio.aac_bitrate},
        **{"frames:v": frames},
        **BITEXACT,
    )
    out_flac = ffmpeg.output(audio[1], str(flac), f="flac", acodec="flac", sample_fmt="s16", **BITEXACT)
    out_pipe = ffmpeg.output(tiny, "pipe:1", f="rawvideo", pix_fmt="bgr24", **{"frames:v": frames})
    cmd = (
        ffmpeg.merge_outputs(out_mp4, out_flac, out_pipe)
        .global_args("-nostdin", "-hide_banner", "-loglevel", "error", "-filter_threads", "1")
        .overwrite_output()
    )
    return cmd.compile()


@dataclass
class TranscodeResult:
    frames: np.ndarray  # (n, h, w, 3) uint8 BGR analysis frames


def transcode(
    src: str | Path, start: float, mp4: Path, flac: Path, params: CutParams, timeout: float | None = None
) -> TranscodeResult:
    """Run one clip's ffmpeg pass; returns the analysis frames. Raises TranscodeError with ffmpeg's reason."""
    argv = build_command(src, start, mp4, flac, params)
    aw, ah = analysis_size(params)
    frame_bytes = aw * ah * 3
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err_chunks: list[bytes] = []
    drain = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    drain.start()
    data = proc.stdout.read()  # type: ignore[union-attr]
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise TranscodeError(f"ffmpeg timed out after {timeout} s") from None
    drain.join()
    if code != 0:
        lines = b"".join(err_chunks).decode("utf-8", "replace").strip().splitlines()
        raise TranscodeError(f"ffmpeg exited {code}: {' | '.join(lines[-3:]) if lines else 'no message'}")
    n = len(data) // frame_bytes
    frames = np.frombuffer(data[: n * frame_bytes], np.uint8).reshape(n, ah, aw, 3)
    return TranscodeResult(frames=frames)
