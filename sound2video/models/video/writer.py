"""Streaming mp4 writer: RGB frames piped to ffmpeg (H.264 yuv420p), the input sound muxed as AAC, atomic and
byte-for-byte reproducible."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import numpy as np

# Reproducible bytes: no encoder/muxer version strings or creation times in the container, no metadata copied
# from the sound file, and a single-threaded x264 and filter graph (so the output does not depend on the cores).
BITEXACT_ARGS = [
    "-map_metadata",
    "-1",
    "-map_chapters",
    "-1",
    "-fflags",
    "+bitexact",
    "-flags:v",
    "+bitexact",
    "-flags:a",
    "+bitexact",
]
AAC_BITRATE = "160k"
# The sound is encoded at 48 kHz whatever its own rate: AAC pads the stream's end up to a whole 1024-sample frame,
# and mp4 keeps that padding, so at 48 kHz the muxed sound outlasts the input by under 21.3 ms (less than one
# frame up to 46 fps) where a 16 kHz stream would gain up to 64 ms.
AAC_SAMPLE_RATE = 48000
_STDERR_KEEP = 64 * 1024


class VideoWriterError(RuntimeError):
    """ffmpeg failed or the frames did not fit; the message carries the end of ffmpeg's stderr."""


def rate(fps: float) -> Fraction:
    """fps as an exact fraction for ffmpeg (29.97 -> 30000/1001, 12.5 -> 25/2)."""
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return Fraction(fps).limit_denominator(10000)


def output_size(width: int, height: int, size: int | None) -> tuple[int, int]:
    """The encoded (width, height): ``size`` is the output width (and height for square frames)."""
    if size is None:
        return width, height
    if size < 2:
        raise ValueError(f"size must be at least 2 pixels, got {size}")
    return size, max(2, int(round(size * height / width)))


class VideoWriter:
    """``with VideoWriter(out, fps, w, h, audio_path=...) as vw: vw.write(frames)``; ``out`` appears on success only.

    Frames (uint8 [n, height, width, 3] RGB) stream to ffmpeg through a pipe, so memory does not grow with the
    video's length. With ``audio_path``, the first audio stream of that file is encoded as AAC beside the video,
    its samples restamped from zero (the same convention as ``audio_windows.decode_audio``). ``size`` upscales
    with Lanczos in ffmpeg. Output goes to a temporary file next to ``out`` that is renamed onto ``out`` when
    ffmpeg succeeds; on any failure it is removed and the error carries ffmpeg's stderr tail.
    """

    def __init__(
        self,
        out: Path,
        fps: float,
        width: int,
        height: int,
        audio_path: Path | None = None,
        size: int | None = None,
        crf: int = 18,
        preset: str = "medium",
    ) -> None:
        self.out = Path(out)
        self.fps, self.width, self.height = float(fps), int(width), int(height)
        self.audio_path = None if audio_path is None else Path(audio_path)
        self.size = output_size(self.width, self.height, size)
        if self.size[0] % 2 or self.size[1] % 2:
            raise ValueError(
                f"{self.out}: H.264 yuv420p needs even frame sides, got {self.size[0]}x{self.size[1]} "
                "(pass an even size)"
            )
        self.crf, self.preset = int(crf), preset
        self.frames_written = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: Path | None = None
        self._stderr = bytearray()
        self._drain: threading.Thread | None = None

    def command(self, tmp: Path) -> list[str]:
        """The ffmpeg argv (a list: never run through a shell)."""
        fr = rate(self.fps)
        cmd = [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-filter_threads",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{self.width}x{self.height}",
            "-framerate",
            f"{fr.numerator}/{fr.denominator}",
            "-i",
            "pipe:0",
        ]
        if self.audio_path is not None:
            cmd += ["-i", str(self.audio_path)]
        vf = []
        if self.size != (self.width, self.height):
            vf.append(f"scale={self.size[0]}:{self.size[1]}:flags=lanczos+accurate_rnd+full_chroma_int")
        vf.append("format=yuv420p")
        cmd += [
            "-map",
            "0:v:0",
            "-vf",
            ",".join(vf),
            "-c:v",
            "libx264",
            "-preset",
            self.preset,
            "-crf",
            str(self.crf),
            "-threads:v",
            "1",
            "-pix_fmt",
            "yuv420p",
        ]
        if self.audio_path is not None:
            cmd += [
                "-map",
                "1:a:0",
                "-af",
                "asetpts=N/SR/TB",
                "-ar",
                str(AAC_SAMPLE_RATE),
                "-c:a",
                "aac",
                "-b:a",
                AAC_BITRATE,
            ]
        return cmd + BITEXACT_ARGS + ["-movflags", "+faststart", "-f", "mp4", str(tmp)]

    def __enter__(self) -> VideoWriter:
        if self.out.is_dir():
            raise VideoWriterError(f"{self.out}: is a folder, not a file name")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.out.name}.", suffix=".tmp.mp4", dir=self.out.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        try:
            self._proc = subprocess.Popen(
                self.command(self._tmp), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise
        # ffmpeg's stderr is drained in a thread: a full stderr pipe would otherwise block it, and us with it.
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()
        return self

    def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while chunk := self._proc.stderr.read(4096):
            self._stderr += chunk
            if len(self._stderr) > 2 * _STDERR_KEEP:
                del self._stderr[:-_STDERR_KEEP]

    def _tail(self) -> str:
        lines = [ln.strip() for ln in self._stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        return " | ".join(lines[-5:]) if lines else "no message from ffmpeg"

    def write(self, frames: np.ndarray) -> None:
        """Append uint8 RGB frames [n, height, width, 3]."""
        if self._proc is None or self._proc.stdin is None:
            raise VideoWriterError(f"{self.out}: write() outside the writer's `with` block")
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:] != (self.height, self.width, 3):
            raise VideoWriterError(
                f"{self.out}: frames must be uint8 [n, {self.height}, {self.width}, 3], got "
                f"{frames.dtype} {list(frames.shape)}"
            )
        try:
            self._proc.stdin.write(np.ascontiguousarray(frames).tobytes())
        except (BrokenPipeError, OSError):
            self._proc.wait()
            self._join()
            raise VideoWriterError(
                f"{self.out}: ffmpeg stopped reading frames (exit {self._proc.returncode}): {self._tail()}"
            ) from None
        self.frames_written += len(frames)

    def _join(self) -> None:
        if self._drain is not None:
            self._drain.join()

    def _finish(self) -> None:
        assert self._proc is not None and self._proc.stdin is not None and self._tmp is not None
        try:
            self._proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        code = self._proc.wait()
        self._join()
        if code != 0:
            raise VideoWriterError(f"{self.out}: ffmpeg exited {code}: {self._tail()}")
        if self.frames_written == 0:
            raise VideoWriterError(f"{self.out}: no frames were written")
        os.replace(self._tmp, self.out)

    def _abort(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._join()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                self._finish()
            else:
                self._abort()
        except BaseException:
            self._abort()
            raise
        finally:
            if self._proc is not None and self._proc.stdin is not None and not self._proc.stdin.closed:
                try:
                    self._proc.stdin.close()
                except (BrokenPipeError, OSError):
                    pass
            if self._tmp is not None:
                self._tmp.unlink(missing_ok=True)  # gone already after a successful rename
