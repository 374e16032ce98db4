"""``sound2video metrics ...``: argument definitions and runners (heavy imports happen only when a command runs)."""

from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path
from typing import Any


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--frames", type=int, default=16, help="consecutive frames per clip (default 16)")
    p.add_argument("--stride", type=int, default=1, help="take every N-th frame (default 1)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--out", help="also write the JSON result here")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("metrics", help="FVD, IS, CLIP similarities").add_subparsers(dest="sub", required=True)

    fvd = m.add_parser("fvd", help="Fréchet Video Distance (StyleGAN-V fvd2048_16f protocol)")
    fvd.add_argument("--real", required=True, help="folder of videos, a .tar shard, a folder of shards, or a glob")
    fvd.add_argument("--fake", required=True)
    fvd.add_argument("--detector", default=None, help="I3D TorchScript path or URL (default: StyleGAN-V's)")
    fvd.add_argument("--sha256", default=None, help="expected sha256 of the detector file")
    fvd.add_argument("--num-real", type=int, default=2048)
    fvd.add_argument("--num-fake", type=int, default=2048)
    fvd.add_argument(
        "--estimator",
        choices=["population", "unbiased"],
        default="population",
        help="covariance: population (StyleGAN-V, default) or unbiased N-1",
    )
    _common(fvd)
    fvd.set_defaults(func=run_fvd)

    is_ = m.add_parser("is", help="Inception Score: per-frame Inception-v3, or C3D on UCF-101 with --c3d")
    is_.add_argument("path")
    is_.add_argument("--weights", help="torchvision Inception-v3 state dict (path or URL)")
    from sound2video.metrics.detectors import C3D_URL

    is_.add_argument(
        "--c3d", help=f"C3D UCF-101 TorchScript, path or URL (StyleGAN-V's: {C3D_URL}); scores clips instead of frames"
    )
    is_.add_argument("--sha256", default=None)
    is_.add_argument("--num", type=int, default=2048, help="clips to score")
    is_.add_argument("--splits", type=int, default=10)
    is_.add_argument("--seed", type=int, default=42, help="shuffle seed before splitting")
    _common(is_)
    is_.set_defaults(func=run_is)

    cs = m.add_parser("clipsim", help="CLIP text<->video and audio<->video cosine similarity (Table 3a)")
    cs.add_argument("path")
    cs.add_argument("--text", help="prompt for every video (default: each shard sample's json 'prompt')")
    cs.add_argument(
        "--audio",
        metavar="MODULE:CALLABLE",
        help="audio encoder: a callable (waveform float32 mono, sample_rate) -> CLIP-space vector",
    )
    cs.add_argument("--audio-sample-rate", type=int, default=16000)
    cs.add_argument("--clip-model", default="ViT-B-32")
    cs.add_argument(
        "--pretrained",
        default="openai",
        help="open_clip pretrained tag or a local checkpoint path; 'none' for random init",
    )
    cs.add_argument("--clip-config", help="JSON model config to register with open_clip first (custom models)")
    cs.add_argument("--num", type=int, default=None, help="videos to score (default: all)")
    cs.add_argument("--per-video", action="store_true", help="include each video's scores")
    _common(cs)
    cs.set_defaults(func=run_clipsim)

    tiny = m.add_parser("tiny-detector", help="write a tiny random I3D/C3D TorchScript (offline smoke runs only)")
    tiny.add_argument("kind", choices=["i3d", "c3d"])
    tiny.add_argument("out")
    tiny.add_argument("--seed", type=int, default=0)
    tiny.set_defaults(func=run_tiny)


def _setup_torch(a: argparse.Namespace) -> None:
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)


def _emit(result: dict[str, Any], out: str | None) -> None:
    text = json.dumps(result, indent=2, sort_keys=True)
    print(text)
    if out:
        from sound2video.core.fsutil import write_text_atomic

        write_text_atomic(out, text + "\n")


def _is_tiny(model: Any) -> bool:
    return getattr(model, "original_name", "") in ("TinyI3D", "TinyC3D")


def run_fvd(a: argparse.Namespace) -> None:
    from sound2video.metrics.detectors import I3D_URL, load_torchscript
    from sound2video.metrics.fvd import compute_fvd, i3d_features_fn

    _setup_torch(a)
    t0 = time.monotonic()
    det = load_torchscript(a.detector or I3D_URL, a.sha256, a.device)
    ddof = 0 if a.estimator == "population" else 1
    res = compute_fvd(
        a.real,
        a.fake,
        i3d_features_fn(det.model, a.device),
        a.num_real,
        a.num_fake,
        a.frames,
        a.stride,
        a.batch_size,
        ddof,
    )
    standard = (a.frames, a.stride, a.num_real, a.num_fake) == (16, 1, 2048, 2048)
    res["protocol"] = {
        "name": "fvd2048_16f" if standard and res["real"]["clips"] == res["fake"]["clips"] == 2048 else "custom",
        "detector": det.describe() | {"tiny": _is_tiny(det.model)},
        "clip": f"first {a.frames} frames, stride {a.stride}, one clip per video; shorter videos skipped",
        "input": "uint8 RGB [B, 3, T, H, W]; the detector resizes to 224x224 and rescales to [-1, 1]",
        "covariance": f"{a.estimator} (ddof={ddof}), float64",
        "sqrtm": "scipy.linalg.sqrtm(S_real S_fake), real part; if not finite, retried with 1e-6*I added",
    }
    res["seconds"] = round(time.monotonic() - t0, 2)
    _emit({"metric": "fvd"} | res, a.out)


def run_is(a: argparse.Namespace) -> None:
    from sound2video.metrics.detectors import load_inception_v3, load_torchscript
    from sound2video.metrics.inception import c3d_probs_fn, collect_probs, inception_probs_fn, inception_score

    _setup_torch(a)
    t0 = time.monotonic()
    if a.c3d:
        det = load_torchscript(a.c3d, a.sha256, a.device)
        fn, unit = c3d_probs_fn(det.model, a.device), "clip (C3D, UCF-101 classes)"
    else:
        if not a.weights:
            raise ValueError("give --weights (torchvision Inception-v3 state dict) or --c3d (C3D TorchScript)")
        det = load_inception_v3(a.weights, a.sha256, a.device)
        fn, unit = inception_probs_fn(det.model, a.device), "frame (Inception-v3, ImageNet classes)"
    probs, counts = collect_probs(a.path, fn, a.frames, a.stride, a.batch_size, a.num)
    mean, std = inception_score(probs, a.splits, a.seed)
    _emit(
        {
            "metric": "is",
            "is_mean": mean,
            "is_std": std,
            "samples": int(len(probs)),
            "clips": counts["used"],
            "skipped_short": counts["skipped_short"],
            "path": a.path,
            "protocol": {
                "unit": unit,
                "splits": a.splits,
                "shuffle_seed": a.seed,
                "detector": det.describe() | {"tiny": _is_tiny(det.model)},
                "clip": f"first {a.frames} frames, stride {a.stride}, one clip per video",
                "resize": "C3D: inside the TorchScript"
                if a.c3d
                else "299x299 bilinear (no antialias), ImageNet mean/std",
            },
            "seconds": round(time.monotonic() - t0, 2),
        },
        a.out,
    )


def load_audio_encoder(spec: str) -> Any:
    """Import ``module:callable`` (the user's own code, e.g. the audio tower's embed function)."""
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise ValueError(f"--audio must look like 'package.module:function', got {spec!r}")
    fn = getattr(importlib.import_module(module), attr, None)
    if not callable(fn):
        raise ValueError(f"--audio {spec}: {attr!r} is not a callable in {module}")
    return fn


def run_clipsim(a: argparse.Namespace) -> None:
    import numpy as np

    from sound2video.core.frozen_clip import ClipModelSpec, load_clip
    from sound2video.core.log import progress
    from sound2video.metrics.clip_similarity import cosine, video_embedding
    from sound2video.metrics.videos import decode_audio, decode_frames, iter_videos

    _setup_torch(a)
    t0 = time.monotonic()
    pretrained = None if a.pretrained in (None, "", "none") else a.pretrained
    clip = load_clip(ClipModelSpec(model=a.clip_model, pretrained=pretrained, config=a.clip_config), a.device)
    encoder = load_audio_encoder(a.audio) if a.audio else None
    text_cache: dict[str, np.ndarray] = {}
    per_video, skipped = [], 0
    with progress(total=a.num, desc="clipsim", unit="video") as bar:
        for item in iter_videos(a.path):
            if a.num is not None and len(per_video) >= a.num:
                break
            frames = decode_frames(item, a.frames, a.stride)
            prompt = a.text or item.meta.get("prompt")
            if frames is None:
                skipped += 1
                continue
            if not prompt:
                raise ValueError(f"{item.name}: no prompt: give --text or use shards whose json has 'prompt'")
            if prompt not in text_cache:
                text_cache[prompt] = clip.embed_text([prompt])[0]
            v = video_embedding(clip.embed_frames(frames))
            row: dict[str, Any] = {"video": item.name, "prompt": prompt, "t2v": cosine(v, text_cache[prompt])}
            if encoder is not None:
                wave = decode_audio(item, a.audio_sample_rate)
                row["a2v"] = (
                    cosine(v, np.asarray(encoder(wave, a.audio_sample_rate)).ravel()) if wave is not None else None
                )
            per_video.append(row)
            bar.update()
    if not per_video:
        raise ValueError(f"{a.path}: no video with at least {a.frames} frames")
    a2v = [r["a2v"] for r in per_video if r.get("a2v") is not None]
    result = {
        "metric": "clipsim",
        "path": a.path,
        "videos": len(per_video),
        "skipped_short": skipped,
        "t2v": float(np.mean([r["t2v"] for r in per_video])),
        "a2v": float(np.mean(a2v)) if a2v else None,
        "protocol": {
            "clip_model": a.clip_model,
            "pretrained": pretrained or "none (random init)",
            "image_size": clip.image_size,
            "preprocess": "PIL bicubic resize of the short side, centre crop, CLIP mean/std",
            "video_embedding": f"mean of L2-normalised embeddings of the first {a.frames} frames (stride {a.stride})",
            "similarity": "cosine (no scaling)",
            "audio_encoder": a.audio,
            "audio_sample_rate": a.audio_sample_rate,
        },
        "seconds": round(time.monotonic() - t0, 2),
    }
    if a.per_video:
        result["per_video"] = per_video
    _emit(result, a.out)


def run_tiny(a: argparse.Namespace) -> None:
    from sound2video.metrics.tiny import save_tiny

    path = save_tiny(a.kind, Path(a.out), a.seed)
    print(f"wrote {path} (tiny random {a.kind.upper()}: for offline smoke runs, its scores mean nothing)")
