"""``sound2video generate``: a sound file in, an mp4 out (frames from a video model, the sound muxed as AAC).

The model is anything that follows ``VideoModel``: it starts a recurrent state for one video and turns per-frame
mel windows into frames, chunk by chunk, carrying its state across chunks. Generation streams: the decoded mono
waveform is held (10 minutes at 16 kHz is about 40 MB), the windows and frames of one chunk at a time, and the
frames go straight to ffmpeg, so memory does not grow with the length of the sound.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from sound2video.core.log import progress
from sound2video.models.audio.mel import MelParams
from sound2video.models.video.audio_windows import AudioInputError, decode_audio, frame_count, frame_windows
from sound2video.models.video.writer import VideoWriter

log = logging.getLogger(__name__)


class GenerateError(ValueError):
    """Input that generation cannot use; the one-line message names the file and the problem."""


@runtime_checkable
class VideoModel(Protocol):
    """What ``generate`` needs from a trained video model."""

    fps: float
    window_seconds: float
    mel: MelParams
    resolution: int

    def start(self, seed: int, psi: float | None = None, image: np.ndarray | None = None) -> Any:
        """The initial recurrent state of one video (``image``: uint8 [R, R, 3] start frame, or None)."""
        ...

    def frames(self, state: Any, windows: np.ndarray) -> tuple[np.ndarray, Any]:
        """Mel windows [n, n_mels, W] -> (uint8 frames [n, R, R, 3], the state after them)."""
        ...


@dataclass(frozen=True)
class GenerateResult:
    out: Path
    frames: int
    fps: float
    audio_seconds: float
    video_seconds: float


@dataclass(frozen=True)
class GenerateFailure:
    """One input of ``generate_folder`` that produced no video, and why."""

    audio: Path
    reason: str


def load_start_image(path: Path, resolution: int) -> np.ndarray:
    """uint8 [R, R, 3]: the image centre-cropped to a square and resized with Lanczos to ``resolution``."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise GenerateError(f"{path}: start image not found")
    try:
        with Image.open(path) as f:
            rgb = f.convert("RGB")
        side = min(rgb.size)
        left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
        square = rgb.crop((left, top, left + side, top + side))
        return np.asarray(square.resize((resolution, resolution), Image.Resampling.LANCZOS), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError) as e:
        raise GenerateError(f"{path}: not a readable image ({e.__class__.__name__})") from None


def _check_out(out: Path, force: bool) -> None:
    if out.is_dir():
        raise GenerateError(f"{out}: is a folder; give the output video's file name")
    if out.exists() and not force:
        raise GenerateError(f"{out}: already exists (pass --force to overwrite it)")
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise GenerateError(f"{out}: cannot be created, {parent} is not a folder")


def generate(
    audio: Path,
    out: Path,
    model: VideoModel,
    *,
    seed: int = 0,
    fps: float | None = None,
    size: int | None = None,
    image: Path | None = None,
    psi: float | None = None,
    force: bool = False,
    chunk_frames: int = 32,
) -> GenerateResult:
    """Make ``out`` (mp4) from the sound ``audio``; the same inputs and seed give a byte-identical file.

    Every check on the inputs runs before any frame is made; each failure is a GenerateError naming the file.
    ``fps`` defaults to the model's; ``size`` upscales the frames (Lanczos) from the model's resolution.
    """
    audio, out = Path(audio), Path(out)
    fps = float(model.fps if fps is None else fps)
    if not fps > 0:
        raise GenerateError(f"fps must be positive, got {fps}")
    if chunk_frames < 1:
        raise GenerateError(f"chunk_frames must be at least 1, got {chunk_frames}")
    if size is not None and (size < 2 or size % 2):
        raise GenerateError(f"size must be an even number of pixels (H.264 yuv420p), got {size}")
    _check_out(out, force)
    start_image = None if image is None else load_start_image(Path(image), model.resolution)
    try:
        wave = decode_audio(audio, model.mel.sample_rate)
    except AudioInputError as e:
        raise GenerateError(str(e)) from None
    sr = model.mel.sample_rate
    audio_seconds = len(wave) / sr
    n = frame_count(len(wave), sr, fps)
    if audio_seconds < 1.0 / fps or n < 1:
        raise GenerateError(f"{audio}: the audio is {audio_seconds:.3f} s long, shorter than one frame (1/{fps:g} s)")
    res = int(model.resolution)
    state = model.start(seed, psi=psi, image=start_image)
    with (
        VideoWriter(out, fps, res, res, audio_path=audio, size=size) as writer,
        progress(total=n, desc=f"generate {out.name}", unit="frame") as bar,
    ):
        for first in range(0, n, chunk_frames):
            count = min(chunk_frames, n - first)
            windows = frame_windows(wave, model.mel, fps, model.window_seconds, first=first, count=count)
            frames, state = model.frames(state, windows)
            frames = np.asarray(frames)
            if frames.dtype != np.uint8 or frames.shape != (count, res, res, 3):
                raise RuntimeError(
                    f"the model returned {frames.dtype} {list(frames.shape)} frames for {count} "
                    f"windows; expected uint8 [{count}, {res}, {res}, 3]"
                )
            writer.write(frames)
            bar.update(count)
    log.info("generate: %s -> %s (%d frames at %g fps, %.2f s)", audio, out, n, fps, n / fps)
    return GenerateResult(out=out, frames=n, fps=fps, audio_seconds=audio_seconds, video_seconds=n / fps)


def generate_folder(src: Path, dst: Path, model: VideoModel, **kw: Any) -> list[GenerateResult | GenerateFailure]:
    """Every file of ``src`` (sorted, hidden files skipped) -> ``dst/<stem>.mp4``.

    A file that cannot be used (not audio, too short, its video already there without ``force``...) is logged
    and returned as a GenerateFailure with its reason; the others go on.
    """
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise GenerateError(f"{src}: not a folder")
    if dst.exists() and not dst.is_dir():
        raise GenerateError(f"{dst}: exists and is not a folder")
    inputs = sorted(p for p in src.iterdir() if p.is_file() and not p.name.startswith("."))
    if not inputs:
        raise GenerateError(f"{src}: holds no files")
    results: list[GenerateResult | GenerateFailure] = []
    taken: dict[str, Path] = {}
    for path in inputs:
        name = f"{path.stem}.mp4"
        if name in taken:
            failure = GenerateFailure(path, f"{path}: {dst / name} is already made from {taken[name].name}")
            results.append(failure)
            log.warning("generate: skipped: %s", failure.reason)
            continue
        taken[name] = path
        try:
            results.append(generate(path, dst / name, model, **kw))
        except GenerateError as e:
            results.append(GenerateFailure(path, str(e)))
            log.warning("generate: skipped: %s", e)
    return results
