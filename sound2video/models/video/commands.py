"""``sound2video generate``: a sound (or a folder of sounds) -> a video with that sound, from a trained model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def _generate(a: argparse.Namespace) -> None:
    from sound2video import models
    from sound2video.models.video.generate import GenerateFailure, generate, generate_folder

    model = models.load(a.model, expected_format="video")
    kw: dict[str, Any] = {
        "seed": a.seed,
        "fps": a.fps,
        "size": a.size,
        "psi": a.psi,
        "force": a.force,
        "image": Path(a.image) if a.image else None,
    }
    src = Path(a.audio)
    if src.is_dir():
        results = generate_folder(src, Path(a.out), model, **kw)
        failed = [r for r in results if isinstance(r, GenerateFailure)]
        for r in results:
            print(
                f"failed\t{r.audio}\t{r.reason}"
                if isinstance(r, GenerateFailure)
                else f"wrote\t{r.out}\t{r.frames} frames, {r.video_seconds:.2f} s"
            )
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(results)} file(s) in {src} failed (listed above)")
        return
    r = generate(src, Path(a.out), model, **kw)
    print(f"wrote {r.out}: {r.frames} frames at {r.fps:g} fps, {r.video_seconds:.2f} s (audio {r.audio_seconds:.2f} s)")


def add_parsers(sub: Any) -> None:
    g = sub.add_parser(
        "generate",
        help="generate a video from a sound with the trained model (models/video)",
        description="Any audio ffmpeg reads (wav, flac, mp3, m4a, or a video's audio track), any "
        "length; writes H.264 + the input sound as AAC. A folder of audio files gives a folder of "
        "videos.",
    )
    g.add_argument("--audio", required=True, help="an audio (or video) file, or a folder of them")
    g.add_argument("--out", required=True, help="OUT.mp4 (or a folder when --audio is a folder)")
    g.add_argument("--model", default="models/video", help="a video model folder (default: %(default)s)")
    g.add_argument("--seed", type=int, default=0, help="start latent and motion noise; same seed, same bytes")
    g.add_argument("--fps", type=float, default=None, help="frame rate (default: the model's)")
    g.add_argument(
        "--size", type=int, default=None, help="output side in pixels, Lanczos-upscaled from the generator's resolution"
    )
    g.add_argument("--image", default=None, help="start from this image (inverted into W+) instead of a random latent")
    g.add_argument(
        "--psi", type=float, default=None, help="truncation of the random start latent (default: the model's)"
    )
    g.add_argument("--force", action="store_true", help="overwrite an existing OUT")
    g.set_defaults(func=_generate)
