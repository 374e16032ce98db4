"""The synthetic audio-visual source: deterministic class-specific videos, rendered offline with ffmpeg."""

from __future__ import annotations

import re
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf

from sound2video.data.sources.synthetic_audio import SOUNDS, render_audio
from sound2video.data.sources.synthetic_picture import PICTURES

if TYPE_CHECKING:  # the download stage's params (annotations only: sources sit below download)
    from sound2video.data.download.params import SyntheticParams

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

    The same (seed, class, index, params) and the same ffmpeg build give the same bytes.
    """
    sound = sound or name
    if name not in PICTURES or (sound not in SOUNDS and sound != "silent"):
        raise KeyError(f"no synthetic renderer for class {name!r} / sound {sound!r}; known: {sorted(PICTURES)}")
    width, height = resolution_for(params, index)
    iw = INTERNAL_WIDTH
    ih = max(2, int(round(iw * height / width / 2)) * 2)
    rng = rng_for(name, index, params.seed)
    # the class's own sound is always drawn first, so the picture is the true clip's whatever sound replaces it
    audio = render_audio(name, rng, params.duration_seconds, params.sample_rate)
    if sound == "silent":
        audio = np.zeros_like(audio)
    elif sound != name:
        audio = render_audio(sound, rng_for(sound, index, params.seed), params.duration_seconds, params.sample_rate)
    picture = PICTURES[name](rng, ih, iw, params.fps)
    frame = (lambda i: picture(0)) if static else picture
    n_frames = int(round(params.duration_seconds * params.fps))
    with tempfile.TemporaryDirectory(prefix="s2v-syn-") as tmp:
        wav = Path(tmp) / "audio.wav"
        sf.write(wav, audio, params.sample_rate, subtype="PCM_16")
        cmd = [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{iw}x{ih}",
            "-r",
            str(params.fps),
            "-i",
            "pipe:0",
            "-i",
            str(wav),
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-vf",
            f"scale={width}:{height}:flags=bicubic,format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            str(params.crf),
            "-threads",
            "1",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            # no -frames:v: it would stop the muxer while AAC frames are still buffered; the pipe ends after n frames
            "-map_metadata",
            "-1",
            "-fflags",
            "+bitexact",
            "-flags:v",
            "+bitexact",
            "-flags:a",
            "+bitexact",
            "-f",
            "mp4",
            str(out),
        ]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdin is not None
        try:
            for i in range(n_frames):
                pixels = np.clip(frame(i) * 255.0 + 0.5, 0, 255).astype(np.uint8)
                proc.stdin.write(pixels.tobytes())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        if proc.wait() != 0:
            raise RuntimeError(f"ffmpeg failed rendering synthetic {name} #{index}: {err.strip()[-500:]}")
