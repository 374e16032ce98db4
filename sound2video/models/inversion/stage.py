"""The ``train_inversion`` stage: images, frozen generator, encoder training (resumable), held-out metrics, model,
plots (training log and an input/reconstruction grid)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sound2video.core.fsutil import atomic_path, sha256_file, write_json_atomic, write_metrics
from sound2video.core.params_io import load_block
from sound2video.models.inversion.configuration_inversion import TrainInversionParams
from sound2video.training import rank0_done, rank0_goes_first, world

log = logging.getLogger(__name__)


def _images(params: TrainInversionParams, G: Any, ckpt_dir: Path, generator_sha: str) -> Any:
    """Collect the images, reusing the real-image memory map of an earlier run with the same image params."""
    from sound2video.models.inversion.images import ImageSet, collect, concat, generated_images

    src = params.images
    if src.kind not in ("folder", "tar"):
        return collect(src, G)
    key = hashlib.sha256((src.model_dump_json() + generator_sha + str(G.img_resolution)).encode()).hexdigest()
    cache = ckpt_dir / f"real-{key[:16]}.npy"
    keys_file = cache.with_suffix(".json")
    if not (cache.is_file() and keys_file.is_file()):
        for old in ckpt_dir.glob("real-*"):  # prepared with other params: stale
            old.unlink()
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        images = collect(src, G, cache)
        write_json_atomic(
            keys_file,
            {"keys": [k for k, s in zip(images.keys, images.sources) if s == "real"], "rejected": images.rejected},
        )
        return images
    meta = json.loads(keys_file.read_text())
    n = len(meta["keys"])
    real = ImageSet(np.load(cache, mmap_mode="r")[:n], ["real"] * n, meta["keys"], rejected=meta["rejected"])
    log.info("train_inversion: reusing %d prepared images from %s", n, cache)
    parts = [real]
    if src.generated_images:
        parts.append(generated_images(G, src.generated_images, src.generated_psi, src.seed))
    return concat(parts, (G.num_ws, G.w_dim))


def grid_selection(sources: list[str], k: int) -> np.ndarray:
    """Up to ``k`` held-out indices, taken from each source in turn."""
    by_source = [[i for i, s in enumerate(sources) if s == name] for name in sorted(set(sources))]
    pick: list[int] = []
    while len(pick) < min(k, len(sources)):
        for group in by_source:
            if group and len(pick) < k:
                pick.append(group.pop(0))
    return np.array(pick, dtype=np.int64)


# what `dvc metrics show` lists; metrics/details/inversion_train.json has everything (mse, the w_avg baseline, per
# source, latents, notes)
HEADLINE = ["lpips", "psnr"]


@dataclass(frozen=True)
class InversionStagePaths:
    """What the stage reads (the frozen generator) and writes."""

    generator: Path  # the stylegan3 stage's model folder
    out: Path  # the inversion model folder
    checkpoints: Path  # checkpoints and the prepared images (kept across runs for resuming)
    metrics: Path  # headline metrics file; the details go to <its folder>/details/<its name>
    plots: Path


@dataclass
class Prepared:
    """The frozen generator and the images, split into training and held-out indices."""

    G: Any
    generator_sha: str
    offline: list[str]  # why the generator's figures only check the pipeline (empty: a trained generator)
    images: Any  # images.ImageSet
    train_idx: np.ndarray
    val_idx: np.ndarray


def main_from_files(params_path: str | Path, paths: InversionStagePaths) -> dict[str, Any]:
    """The stage script's entry: the ``train_inversion`` block of ``params_path``, then ``main``."""
    return main(load_block(params_path, "train_inversion", TrainInversionParams), paths)


def main(params: TrainInversionParams, paths: InversionStagePaths) -> dict[str, Any]:
    """Prepare the images, train the encoder, then (rank 0) evaluate and write; returns the detail metrics."""
    started = time.monotonic()
    prepared = prepare(params, paths, started)
    inverter, lpips = train_encoder(params, paths, prepared)
    if not world().is_main:
        return {}  # rank 0 alone evaluates and writes the model, metrics and plots
    return evaluate_and_write(params, paths, prepared, inverter, lpips, started)


def prepare(params: TrainInversionParams, paths: InversionStagePaths, started: float) -> Prepared:
    """The frozen generator, the images (real ones prepared once on disk) and their train / held-out split."""
    from sound2video.models.contract import WEIGHTS, offline_reasons, read_config
    from sound2video.models.inversion.images import split
    from sound2video.models.stylegan3.checkpoint import load_generator

    G = load_generator(paths.generator)
    generator_sha = sha256_file(paths.generator / WEIGHTS)
    offline = offline_reasons(read_config(paths.generator, expected_format="stylegan3"))
    rank0_goes_first()  # under torchrun rank 0 prepares the images on disk, the other ranks then read them
    images = _images(params, G, paths.checkpoints, generator_sha)
    rank0_done()
    train_idx, val_idx = split(images, params.images.val_fraction, params.images.seed)
    if len(train_idx) == 0 or len(val_idx) == 0:
        raise ValueError(
            f"train_inversion: {len(images)} image(s) give an empty train or held-out split; add images or "
            f"change images.val_fraction"
        )
    log.info(
        "train_inversion: %d train / %d held-out images (%s), generator %dpx num_ws %d, prepared in %.1f s",
        len(train_idx),
        len(val_idx),
        ", ".join(f"{s}: {images.sources.count(s)}" for s in sorted(set(images.sources))),
        G.img_resolution,
        G.num_ws,
        time.monotonic() - started,
    )
    return Prepared(G, generator_sha, offline, images, train_idx, val_idx)


def train_encoder(params: TrainInversionParams, paths: InversionStagePaths, p: Prepared) -> tuple[Any, Any]:
    """The encoder trained on the training images (resumed when the fingerprint matches), and the LPIPS loss that
    the held-out evaluation measures with too."""
    from sound2video.core.frozen_clip import load_clip
    from sound2video.metrics.image import load_lpips
    from sound2video.models.inversion.losses import ClipImageEmbed, InversionLoss, LpipsLoss
    from sound2video.models.inversion.train import checkpoint_fingerprint, train

    lpips = LpipsLoss(load_lpips(params.lpips.net, params.lpips.backbone))
    clip = ClipImageEmbed(load_clip(params.clip_model)) if params.loss.clip else None
    loss_fn = InversionLoss(params.loss, lpips if params.loss.lpips else None, clip, p.G.mapping.w_avg)
    fingerprint = checkpoint_fingerprint(params, p.generator_sha)
    inverter, _ = train(
        params,
        p.G,
        p.images.images,
        loss_fn,
        paths.checkpoints,
        fingerprint,
        indices=p.train_idx,
        log_csv=paths.plots / "train_log.csv",
    )
    return inverter, lpips


def evaluate_and_write(
    params: TrainInversionParams, paths: InversionStagePaths, p: Prepared, inverter: Any, lpips: Any, started: float
) -> dict[str, Any]:
    """Held-out figures, the model folder, the metrics files and the input/reconstruction grid."""
    from PIL import Image

    from sound2video.models.inversion.modeling_inversion import save
    from sound2video.models.inversion.validation import evaluate, image_grid

    G = p.G.cpu()
    val = p.images.subset(p.val_idx)
    pick = grid_selection(val.sources, params.grid_images)
    result, recon = evaluate(inverter, G, val, lpips.cpu(), keep=pick)
    result |= {
        "train_images": int(len(p.train_idx)),
        "steps": params.steps,
        "loss_weights": params.loss.model_dump(),
        "mse_pixel_range": "[-1, 1]",
        "lpips_net": params.lpips.net,
        "lpips_backbone": params.lpips.backbone or "torchvision (by name)",
        "generator": {"path": str(paths.generator), "sha256": p.generator_sha, "random_init": bool(p.offline)},
        "rejected_images": p.images.rejected[:20],
        "rejected_count": len(p.images.rejected),
        "seconds": round(time.monotonic() - started, 1),
    }
    if p.offline or params.lpips.backbone == "random":
        result["offline_profile"] = (
            "random-init generator and/or LPIPS backbone: numbers check the pipeline, not inversion quality"
        )
    save(
        inverter,
        paths.out,
        {
            "generator": {"path": str(paths.generator), "sha256": p.generator_sha},
            "loss_weights": params.loss.model_dump(),
            "steps": params.steps,
            "metrics": {k: result[k] for k in ("lpips", "mse", "psnr", "mse_wavg")},
        },
    )
    write_metrics(paths.metrics, result, HEADLINE, paths.metrics.parent / "details" / paths.metrics.name)
    with atomic_path(paths.plots / "grid.png", suffix=".tmp.png") as tmp:
        Image.fromarray(image_grid(np.asarray(val.images[pick]), recon)).save(tmp, format="PNG")
    log.info(
        "train_inversion: mse %.4f (w_avg %.4f), psnr %.2f, lpips %.3f on %d held-out images, %.1f s",
        result["mse"],
        result["mse_wavg"],
        result["psnr"],
        result["lpips"],
        len(p.val_idx),
        time.monotonic() - started,
    )
    return result
