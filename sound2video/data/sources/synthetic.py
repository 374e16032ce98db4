"""The synthetic audio-visual source: deterministic class-specific videos, rendered offline with ffmpeg."""

from __future__ import annotations

import re
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf

from sound2video.data.sources.synthetic_audio import SOUNDS, render_audio
from sound2video.data.sources.synthetic_picture import PICTURES
from sound2video.media.argv import synthetic_render_command
from sound2video.media.runner import ToolProcess

if TYPE_CHECKING:  # the download stage's params (annotations only: sources sit below download)
    from sound2video.data.sources.params import SyntheticParams

INTERNAL_WIDTH = 192  # pictures are drawn this wide, then scaled up by ffmpeg


def synthetic_url(name: str, index: int, seed: int) -> str:
    return f"synthetic://{name}/{index}?seed={seed}"


def parse_synthetic_url(url: str) -> tuple[str, int]:
    """(class name, video index) of a ``synthetic_url``; raises ValueError for anything else."""
    m = re.match(r"^synthetic://([a-z0-9_]+)/(\d+)\?seed=\d+$", url)
    if not m:
        raise ValueError(f"not a synthetic source URL: {url!r}")
    return m.group(1), int(m.group(2))


@dataclass(frozen=True)
class Variant:
    """A synthetic video whose sound may come from another class (``sound``; 'silent' for none) and whose picture
    may be frozen on its first frame (``static``): the curation demo's distractors."""

    picture: str
    index: int
    seed: int
    sound: str
    static: bool = False


_VARIANT = re.compile(r"^synthetic://([a-z0-9_]+)/(\d+)\?seed=(\d+)(?:&sound=([a-z0-9_]+))?(&static=1)?$")


def variant_url(v: Variant) -> str:
    url = synthetic_url(v.picture, v.index, v.seed)
    if v.sound != v.picture:
        url += f"&sound={v.sound}"
    return url + ("&static=1" if v.static else "")


def parse_variant_url(url: str) -> Variant:
    """The ``Variant`` of a synthetic URL with optional ``&sound=NAME|silent`` and ``&static=1``."""
    m = _VARIANT.match(url)
    if not m:
        raise ValueError(
            f"not a synthetic source URL: {url!r} (expected synthetic://CLASS/INDEX?seed=N[&sound=CLASS][&static=1])"
        )
    picture = m.group(1)
    return Variant(picture, int(m.group(2)), int(m.group(3)), m.group(4) or picture, bool(m.group(5)))


def rng_for(name: str, index: int, seed: int) -> np.random.Generator:
    """One independent, reproducible stream per (seed, class, video)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode()), index])


def resolution_for(params: SyntheticParams, index: int) -> tuple[int, int]:
    return tuple(params.resolutions[index % len(params.resolutions)])  # type: ignore[return-value]


def render_video(
    out: Path, name: str, index: int, params: SyntheticParams, sound: str | None = None, static: bool = False
) -> None:
    """Render one synthetic video (H.264 + AAC in mp4) for class ``name`` to ``out``; ``sound`` (another class, or
    'silent') replaces its sound and ``static`` freezes its picture (see ``Variant``).

    The same (seed, class, index, params) and the same ffmpeg build give the same bytes. Raises MediaError naming
    the video ('synthetic CLASS #INDEX') with ffmpeg's reason.
    """
    sound = sound or name
    if name not in PICTURES or (sound not in SOUNDS and sound != "silent"):
        raise KeyError(f"no synthetic renderer for class {name!r} / sound {sound!r}; known: {sorted(PICTURES)}")
    width, height = resolution_for(params, index)
    picture_size = (INTERNAL_WIDTH, max(2, int(round(INTERNAL_WIDTH * height / width / 2)) * 2))
    rng = rng_for(name, index, params.seed)
    # the class's own sound is always drawn first, so the picture is the true clip's whatever sound replaces it
    audio = _soundtrack(name, sound, index, params, rng)
    picture = PICTURES[name](rng, picture_size[1], picture_size[0], params.fps)
    frame = (lambda i: picture(0)) if static else picture
    n_frames = int(round(params.duration_seconds * params.fps))
    with tempfile.TemporaryDirectory(prefix="s2v-syn-") as tmp:
        wav = Path(tmp) / "audio.wav"
        sf.write(wav, audio, params.sample_rate, subtype="PCM_16")
        cmd = synthetic_render_command(picture_size, params.fps, wav, (width, height), params.crf, out)
        with ToolProcess(cmd, f"synthetic {name} #{index}", stdin=True, aliases={str(wav): "its sound"}) as proc:
            _pipe_frames(proc, (frame(i) for i in range(n_frames)))
            proc.finish()


def _soundtrack(name: str, sound: str, index: int, params: SyntheticParams, rng: np.random.Generator) -> np.ndarray:
    """The class's own sound (drawn from ``rng`` first in every case), silence, or another class's sound."""
    audio = render_audio(name, rng, params.duration_seconds, params.sample_rate)
    if sound == "silent":
        return np.zeros_like(audio)
    if sound != name:
        return render_audio(sound, rng_for(sound, index, params.seed), params.duration_seconds, params.sample_rate)
    return audio


def _pipe_frames(proc: ToolProcess, frames: Iterator[np.ndarray]) -> None:
    """Write float [0, 1] pictures to ffmpeg as 8-bit RGB; a closed pipe stops the writing (ffmpeg's exit says why)."""
    try:
        for picture in frames:
            proc.stdin.write(np.clip(picture * 255.0 + 0.5, 0, 255).astype(np.uint8).tobytes())
    except BrokenPipeError:
        pass
