"""The ``train_video`` stage: training cache, frozen models, GAN training (resumable), held-out evaluation with an
independent judge, the model folder, metrics and plots (training log, sample sheet)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from sound2video.core.arrays import cached_array
from sound2video.core.fsutil import sha256_file, write_metrics
from sound2video.core.params_io import load_block
from sound2video.data.classes import ClassTable
from sound2video.models.contract import WEIGHTS, offline_reasons, read_config
from sound2video.models.video.configuration_video import TrainVideoParams

if TYPE_CHECKING:
    from sound2video.models.video.cache import VideoCache

log = logging.getLogger(__name__)

# what `dvc metrics show` lists; metrics/details/video_train.json has everything (zero-audio and real judge, CLIP
# losses, final loss terms, steps, seconds, models, notes)
HEADLINE = ["judge_accuracy", "switch_accuracy"]

OFFLINE_NOTE = (
    "random-init generator / tiny random CLIP: the CLIP figures check the pipeline; "
    "the judge figures say whether videos carry their sound's class"
)


@dataclass(frozen=True)
class VideoStagePaths:
    """What the stage reads (shards, the three frozen model folders, the class table) and writes."""

    shards: Path
    generator: Path  # the stylegan3 stage's model folder
    audio: Path  # the train_audio stage's model folder (F_a and the mel front-end)
    inversion: Path  # the train_inversion stage's model folder
    out: Path  # the video model folder
    checkpoints: Path  # checkpoint + cache folder (kept across runs)
    metrics: Path  # headline metrics file; the details go to <its folder>/details/<its name>
    plots: Path
    classes: Path


@dataclass
class Prepared:
    """The frozen models and the arrays that training and the held-out evaluation share."""

    G: Any
    tower: Any  # the audio tower (AudioClip)
    clip: Any
    text: np.ndarray  # [classes, D] class-prompt embeddings, in cache.class_names order
    cache: VideoCache
    train_rows: np.ndarray
    targets: np.ndarray  # [N, F, D] audio-tower embedding of every frame's window (memory map)
    inverter: Any  # the inversion encoder, or None when neither the start nor a loss needs it
    inverted: Optional[np.ndarray]  # [N, F, num_ws, w_dim] its latents of every real frame (memory map)
    shas: dict[str, str]  # sha256 of each frozen model's weights


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


def main_from_files(params_path: str | Path, paths: VideoStagePaths) -> dict[str, Any]:
    """The stage script's entry: the ``train_video`` block of ``params_path``, then ``main``."""
    return main(load_block(params_path, "train_video", TrainVideoParams), paths)


def main(params: TrainVideoParams, paths: VideoStagePaths) -> dict[str, Any]:
    """Prepare the cache and targets, train, then (rank 0) evaluate and write; returns the detail metrics."""
    from sound2video.training import world

    started = time.monotonic()
    prepared = prepare(params, paths)
    state = train_model(params, paths, prepared)
    train_seconds = time.monotonic() - started
    if not world().is_main:
        return {}  # rank 0 alone evaluates and writes the model, metrics and plots
    return evaluate_and_write(params, paths, prepared, state, started, train_seconds)


def prepare(params: TrainVideoParams, paths: VideoStagePaths) -> Prepared:
    """The frozen models, the training cache, and the audio targets and inverted latents cached beside it."""
    from sound2video import models
    from sound2video.core.frozen_clip import class_text_embeddings, load_clip
    from sound2video.models.video.cache import build_cache
    from sound2video.training import rank0_done, rank0_goes_first

    ckpt = paths.checkpoints
    G = models.load(paths.generator)
    tower = models.load(paths.audio)
    table = ClassTable.read(paths.classes)
    rank0_goes_first()  # under torchrun rank 0 builds the caches on disk (to rank0_done), the other ranks read them
    cache = build_cache(
        paths.shards, ckpt / "cache", table.names, params.fps, G.img_resolution, params.window_seconds, tower.mel
    )
    train_rows = cache.rows("train")
    if len(train_rows) == 0:
        raise ValueError(f"train_video: no train-split clips in {paths.shards}")
    if cache.frames.shape[1] < params.frames:
        raise ValueError(
            f"train_video: clips give {cache.frames.shape[1]} frames at {params.fps} fps but "
            f"frames: {params.frames} is asked; lower frames or raise fps"
        )
    shas = {"generator": sha256_file(paths.generator / WEIGHTS), "audio": sha256_file(paths.audio / WEIGHTS)}
    key = hashlib.sha256((cache.key + json.dumps(shas, sort_keys=True)).encode()).hexdigest()[:16]
    targets = cached_array(ckpt / f"targets-{key}.npy", lambda: audio_targets(tower.tower, cache.mels), mmap=True)
    clip = load_clip(tower.clip_spec)
    text = class_text_embeddings(clip, [table[n].prompt for n in cache.class_names], tower.templates)
    inverter, inverted = None, None
    if params.start.kind == "inversion" or params.loss.latent > 0:
        inverter = models.load(paths.inversion)
        shas["inversion"] = sha256_file(paths.inversion / WEIGHTS)
        ikey = hashlib.sha256((cache.key + shas["inversion"]).encode()).hexdigest()[:16]
        inverted = cached_array(
            ckpt / f"inverted-{ikey}.npy", lambda: inverted_latents(inverter, cache.frames), mmap=True
        )
    rank0_done()
    return Prepared(G, tower, clip, text, cache, train_rows, targets, inverter, inverted, shas)


def train_model(params: TrainVideoParams, paths: VideoStagePaths, p: Prepared) -> Any:
    """GAN training on the train split, resumed from ``paths.checkpoints`` when its fingerprint matches."""
    from sound2video.core.stage_code import code_files
    from sound2video.models.video.train import TrainingData, VideoTrainer, train
    from sound2video.training import code_fingerprint, resolve_device

    rows, cache = p.train_rows, p.cache
    data = TrainingData(
        frames=cache.frames[rows],
        mels=cache.mels[rows],
        audio_targets=np.asarray(p.targets[rows]),
        labels=cache.labels[rows],
        text=p.text,
        inverted=None if p.inverted is None else np.asarray(p.inverted[rows]),
    )
    device = resolve_device(params.device)
    trainer = VideoTrainer(params, p.G, p.clip, data, device)
    fingerprint = code_fingerprint(
        params.model_dump_json(exclude={"checkpoint_every", "device", "eval", "distributed"}),
        code_files("sound2video.models.video.stage"),
        cache.key,
        json.dumps(p.shas, sort_keys=True),
    )
    log.info(
        "train_video: %d train clips x %d frames at %g fps, %dpx, T=%d, batch %d, %d steps on %s",
        len(rows),
        cache.frames.shape[1],
        params.fps,
        p.G.img_resolution,
        params.frames,
        params.batch_size,
        params.steps,
        device,
    )
    return train(trainer, paths.checkpoints, fingerprint, log_csv=paths.plots / "train_log.csv")


def evaluate_and_write(
    params: TrainVideoParams, paths: VideoStagePaths, p: Prepared, state: Any, started: float, train_seconds: float
) -> dict[str, Any]:
    """Held-out figures and the sample sheet of the EMA generator, then the model folder (with its offline record)
    and the metrics files."""
    from sound2video.models.video.modeling_video import SoundToLatents, VideoGenerator, save_video_model
    from sound2video.models.video.validation import evaluate, sample_sheet

    latents = state.ema["latents"]
    assert isinstance(latents, SoundToLatents)
    generator = VideoGenerator(
        latents.cpu().eval(), p.G.cpu(), p.inverter, p.tower.mel, params.fps, params.window_seconds, params.start.psi
    )
    p.clip.model.cpu()
    result = evaluate(generator, p.cache, p.targets, p.text, p.clip.embed_images, params)
    sample_sheet(generator, p.cache, params, paths.plots / "samples.png")
    last = state.history[-1] if state.history else {}
    result |= {
        "steps": params.steps,
        "seconds": round(time.monotonic() - started, 1),
        "train_seconds": round(train_seconds, 1),
        "train_clips": int(len(p.train_rows)),
        "final_losses": {k: v for k, v in last.items() if k not in ("step", "lr")},
        "final_loss_g": last.get("loss_g"),
        "models": p.shas,
    }
    # decided here once and recorded in the model folder: the evaluate stage reads the record
    offline = offline_reasons(read_config(paths.generator, "stylegan3")) + offline_reasons(p.tower.config)
    if offline:
        result["offline_profile"] = OFFLINE_NOTE
    referenced = {"path": str(paths.inversion), "sha256": p.shas["inversion"]} if p.inverter is not None else None
    save_video_model(
        generator,
        paths.out,
        {
            "generator": {"path": str(paths.generator), "sha256": p.shas["generator"]},
            "audio": {"path": str(paths.audio), "sha256": p.shas["audio"]},
            "inversion": referenced,
            "classes": p.cache.class_names,
            "params": json.loads(params.model_dump_json()),
            "metrics": {k: result[k] for k in ("judge_accuracy", "clip_av", "clip_at") if k in result},
            "offline": bool(offline),
            "offline_reasons": offline,
        },
    )
    write_metrics(paths.metrics, result, HEADLINE, paths.metrics.parent / "details" / paths.metrics.name)
    log.info(
        "train_video: judge accuracy %.2f (zero audio %.2f, chance %.2f), switch %.2f, %.1f s",
        result["judge_accuracy"],
        result["judge_accuracy_zero_audio"],
        1 / len(p.cache.class_names),
        result["switch_accuracy"],
        result["seconds"],
    )
    return result
