"""Streaming mp4 writer: RGB frames piped to ffmpeg (H.264 yuv420p), the input sound muxed as AAC, atomic and
byte-for-byte reproducible."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType

import numpy as np

from sound2video.media.argv import H264Encoding, encode_h264_command
from sound2video.media.runner import MediaError, ToolProcess


class VideoWriterError(MediaError):
    """ffmpeg failed or the frames did not fit; the message names the output and carries ffmpeg's stderr tail."""


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
        self._proc: ToolProcess | None = None
        self._tmp: Path | None = None

    def encoding(self) -> H264Encoding:
        return H264Encoding(
            fps=self.fps,
            frame_size=(self.width, self.height),
            size=self.size,
            crf=self.crf,
            preset=self.preset,
            audio=self.audio_path,
        )

    def command(self, tmp: Path) -> list[str]:
        """The ffmpeg argv (a list: never run through a shell)."""
        return encode_h264_command(self.encoding(), tmp)

    def __enter__(self) -> VideoWriter:
        if self.out.is_dir():
            raise VideoWriterError(f"{self.out}: is a folder, not a file name")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.out.name}.", suffix=".tmp.mp4", dir=self.out.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        try:
            self._proc = ToolProcess(
                self.command(self._tmp),
                self.out,
                stdin=True,
                error=VideoWriterError,
                aliases={str(self._tmp): str(self.out)},
                tail_lines=5,
            )
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise
        return self

    def write(self, frames: np.ndarray) -> None:
        """Append uint8 RGB frames [n, height, width, 3]."""
        if self._proc is None:
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
            code = self._proc.wait()
            raise self._proc.failure(f"stopped reading frames (exit {code})") from None
        self.frames_written += len(frames)

    def _finish(self) -> None:
        assert self._proc is not None and self._tmp is not None
        self._proc.finish()
        if self.frames_written == 0:
            raise VideoWriterError(f"{self.out}: no frames were written")
        os.replace(self._tmp, self.out)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                self._finish()
        finally:
            if self._proc is not None:
                self._proc.__exit__(exc_type, exc, tb)  # kills ffmpeg unless it has exited, closes its pipes
            if self._tmp is not None:
                self._tmp.unlink(missing_ok=True)  # gone already after a successful rename
