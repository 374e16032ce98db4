"""The ``train_video`` stage: training cache, frozen models, GAN training (resumable), held-out evaluation with an
independent judge, the model folder, metrics and plots (training log, sample sheet)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from sound2video.core.fsutil import sha256_file, write_metrics
from sound2video.core.params_io import load_block
from sound2video.data.classes import ClassTable
from sound2video.models.video.configuration_video import TrainVideoParams

log = logging.getLogger(__name__)


def _cached_array(path: Path, make: Any) -> np.ndarray:
    """``np.load(path)`` when present, else ``make()`` saved atomically first (derived arrays keyed by name)."""
    from sound2video.core.fsutil import atomic_path

    if path.is_file():
        return np.load(path, mmap_mode="r")
    for old in path.parent.glob(path.name.split("-")[0] + "-*.npy"):
        old.unlink()  # made from other inputs: stale
    arr = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".tmp.npy") as tmp:
        np.save(tmp, arr)
    return np.load(path, mmap_mode="r")


def audio_targets(tower: Any, mels: np.ndarray, batch: int = 256) -> np.ndarray:
    """The audio tower's L2-normalised embedding of every frame's window: [N, F, D] float32."""
    import torch

    n, f = mels.shape[:2]
    flat = mels.reshape(n * f, *mels.shape[2:])
    out = []
    tower.eval()
    with torch.inference_mode():
        for i in range(0, len(flat), batch):
            x = torch.from_numpy(np.asarray(flat[i : i + batch], np.float32))
            out.append(torch.nn.functional.normalize(tower.encoder(x), dim=-1).numpy())
    return np.concatenate(out).reshape(n, f, -1).astype(np.float32)


def inverted_latents(inverter: Any, frames: np.ndarray, batch: int = 64) -> np.ndarray:
    """The inversion encoder's W+ latent of every real frame: [N, F, num_ws, w_dim] float32."""
    import torch

    from sound2video.models.inversion.modeling_inversion import to_model_input

    n, f = frames.shape[:2]
    flat = frames.reshape(n * f, *frames.shape[2:])
    out = []
    with torch.inference_mode():
        for i in range(0, len(flat), batch):
            out.append(inverter(to_model_input(np.asarray(flat[i : i + batch]))).numpy())
    return np.concatenate(out).reshape(n, f, *out[0].shape[1:]).astype(np.float32)


# what `dvc metrics show` lists; metrics/details/video_train.json has everything (final loss terms, models, notes)
HEADLINE = [
    "judge_accuracy",
    "judge_accuracy_zero_audio",
    "switch_accuracy",
    "clip_av",
    "clip_at",
    "final_loss_g",
    "steps",
    "seconds",
]


def main(
    params_path: str,
    shards_dir: str,
    generator_dir: str,
    audio_dir: str,
    inversion_dir: str,
    out_dir: str,
    ckpt_dir: str,
    metrics: str,
    plots_dir: str,
    classes_csv: str,
) -> dict[str, Any]:

    from sound2video import models
    from sound2video.core.frozen_clip import class_text_embeddings, load_clip
    from sound2video.core.stage_code import code_files
    from sound2video.models.video.cache import build_cache
    from sound2video.models.video.modeling_video import SoundToLatents, VideoGenerator, save_video_model
    from sound2video.models.video.train import TrainingData, VideoTrainer, train
    from sound2video.models.video.validation import evaluate, sample_sheet
    from sound2video.training import code_fingerprint, rank0_done, rank0_goes_first, resolve_device, world

    params = load_block(params_path, "train_video", TrainVideoParams)
    started = time.monotonic()
    ckpt = Path(ckpt_dir)
    device = resolve_device(params.device)
    G = models.load(generator_dir)
    tower = models.load(audio_dir)
    table = ClassTable.read(classes_csv)
    rank0_goes_first()  # under torchrun rank 0 builds the caches on disk (to rank0_done), the other ranks read them
    cache = build_cache(
        Path(shards_dir), ckpt / "cache", table.names, params.fps, G.img_resolution, params.window_seconds, tower.mel
    )
    names = cache.class_names
    train_rows = np.array([i for i, s in enumerate(cache.splits) if s == "train"])
    if len(train_rows) == 0:
        raise ValueError(f"train_video: no train-split clips in {shards_dir}")
    if cache.frames.shape[1] < params.frames:
        raise ValueError(
            f"train_video: clips give {cache.frames.shape[1]} frames at {params.fps} fps but "
            f"frames: {params.frames} is asked; lower frames or raise fps"
        )
    shas = {
        "generator": sha256_file(Path(generator_dir) / "model.safetensors"),
        "audio": sha256_file(Path(audio_dir) / "model.safetensors"),
    }
    key = hashlib.sha256((cache.key + json.dumps(shas, sort_keys=True)).encode()).hexdigest()[:16]
    targets = _cached_array(ckpt / f"targets-{key}.npy", lambda: audio_targets(tower.tower, cache.mels))
    clip = load_clip(tower.clip_spec)
    text = class_text_embeddings(clip, [table[n].prompt for n in names], tower.templates)
    inverter = None
    if params.start.kind == "inversion" or params.loss.latent > 0:
        inverter = models.load(inversion_dir)
        shas["inversion"] = sha256_file(Path(inversion_dir) / "model.safetensors")
        ikey = hashlib.sha256((cache.key + shas["inversion"]).encode()).hexdigest()[:16]
        inverted = _cached_array(ckpt / f"inverted-{ikey}.npy", lambda: inverted_latents(inverter, cache.frames))
    rank0_done()
    data = TrainingData(
        frames=cache.frames[train_rows],
        mels=cache.mels[train_rows],
        audio_targets=np.asarray(targets[train_rows]),
        labels=cache.labels[train_rows],
        text=text,
        inverted=None if inverter is None else np.asarray(inverted[train_rows]),
    )
    trainer = VideoTrainer(params, G, clip, data, device)
    fingerprint = code_fingerprint(
        params.model_dump_json(exclude={"checkpoint_every", "device", "eval", "distributed"}),
        code_files("sound2video.models.video.stage"),
        cache.key,
        json.dumps(shas, sort_keys=True),
    )
    log.info(
        "train_video: %d train clips x %d frames at %g fps, %dpx, T=%d, batch %d, %d steps on %s",
        len(train_rows),
        cache.frames.shape[1],
        params.fps,
        G.img_resolution,
        params.frames,
        params.batch_size,
        params.steps,
        device,
    )
    plots = Path(plots_dir)
    state = train(trainer, ckpt, fingerprint, log_csv=plots / "train_log.csv")
    train_seconds = time.monotonic() - started
    if not world().is_main:
        return {}  # rank 0 alone evaluates and writes the model, metrics and plots

    latents = state.ema["latents"]
    assert isinstance(latents, SoundToLatents)
    generator = VideoGenerator(
        latents.cpu().eval(), G.cpu(), inverter, tower.mel, params.fps, params.window_seconds, params.start.psi
    )
    clip.model.cpu()
    result = evaluate(generator, cache, targets, text, clip.embed_images, params)
    sample_sheet(generator, cache, params, plots / "samples.png")
    last = state.history[-1] if state.history else {}
    result |= {
        "steps": params.steps,
        "seconds": round(time.monotonic() - started, 1),
        "train_seconds": round(train_seconds, 1),
        "train_clips": int(len(train_rows)),
        "final_losses": {k: v for k, v in last.items() if k not in ("step", "lr")},
        "final_loss_g": last.get("loss_g"),
        "models": shas,
    }
    if tower.config.get("clip_random_init_seed") is not None or G_is_random(generator_dir):
        result["offline_profile"] = (
            "random-init generator / tiny random CLIP: the CLIP figures check the pipeline; "
            "the judge figures say whether videos carry their sound's class"
        )
    save_video_model(
        generator,
        Path(out_dir),
        {
            "generator": {"path": str(generator_dir), "sha256": shas["generator"]},
            "audio": {"path": str(audio_dir), "sha256": shas["audio"]},
            "inversion": None if inverter is None else {"path": str(inversion_dir), "sha256": shas["inversion"]},
            "classes": names,
            "params": json.loads(params.model_dump_json()),
            "metrics": {k: result[k] for k in ("judge_accuracy", "clip_av", "clip_at") if k in result},
        },
    )
    write_metrics(metrics, result, HEADLINE, Path(metrics).parent / "details" / Path(metrics).name)
    log.info(
        "train_video: judge accuracy %.2f (zero audio %.2f, chance %.2f), switch %.2f, %.1f s",
        result["judge_accuracy"],
        result["judge_accuracy_zero_audio"],
        1 / len(names),
        result["switch_accuracy"],
        result["seconds"],
    )
    return result


def G_is_random(generator_dir: str) -> bool:
    cfg = json.loads((Path(generator_dir) / "config.json").read_text())
    return bool(cfg.get("source", {}).get("random_init"))
