"""Training of the audio tower on the shared loop (``sound2video.training``): each step's batch and augmentation
derive from (seed, step) alone, so a run killed and resumed ends with exactly the weights of an uninterrupted one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sound2video.core.stage_code import code_files
from sound2video.models.audio.configuration_audio import TrainAudioParams
from sound2video.models.audio.data import Features
from sound2video.models.audio.encoder import AudioTower
from sound2video.models.audio.losses import class_info_nce, info_nce, spec_augment
from sound2video.training import (
    TrainState,
    batch_indices,
    code_fingerprint,
    gather,
    local_share,
    optimize,
    resolve_device,
    step_generator,
    sync_batchnorm,
    train_loop,
)

CHECKPOINT = "checkpoint.pt"
LOG_FIELDS = ["step", "loss", "lr", "temperature"]


def checkpoint_fingerprint(params: TrainAudioParams) -> str:
    """What decides the weights: the params (less bookkeeping) and the stage's code (the CLIP loader included)."""
    return code_fingerprint(params.fingerprint_json(), code_files("sound2video.models.audio.stage"))


def step_loss(
    tower: AudioTower, params: TrainAudioParams, feats: Features, text: torch.Tensor, idx: torch.Tensor, step: int
) -> torch.Tensor:
    """The loss of the global batch ``idx``. Under torchrun each rank encodes its slice of the batch (augmented as
    part of the global batch, so the masks match a single process) and the losses see every rank's embeddings."""
    device = text.device
    mel = torch.from_numpy(np.asarray(feats.mels[idx.numpy()], dtype=np.float32))
    labels = torch.from_numpy(feats.labels[idx.numpy()]).to(device)
    gen = step_generator(params.seed, step)
    aug = params.specaugment
    view = spec_augment(mel, gen, aug.freq_masks, aug.time_masks, aug.max_freq, aug.max_time) if aug else mel
    share = local_share(len(idx))  # the whole batch in a single process
    audio = gather(tower.encoder(view[share].to(device)))
    scale = tower.logit_scale()
    loss = params.text_weight * class_info_nce(audio, text, labels, scale)
    if params.image_weight and feats.images is not None:
        images = torch.from_numpy(feats.images[idx.numpy()]).to(device)
        loss = loss + params.image_weight * info_nce(audio, images, scale)
    if params.augment_weight and aug:
        other = spec_augment(mel, gen, aug.freq_masks, aug.time_masks, aug.max_freq, aug.max_time)
        loss = loss + params.augment_weight * info_nce(audio, gather(tower.encoder(other[share].to(device))), scale)
    return loss


def train(
    params: TrainAudioParams,
    feats: Features,
    text: torch.Tensor,
    ckpt_dir: Path,
    stop_after: int | None = None,
    log_csv: Path | None = None,
) -> tuple[AudioTower, list[dict[str, float]]]:
    """Train (or resume) to ``params.steps``; ``stop_after`` ends early (used to simulate an interruption)."""
    torch.manual_seed(params.seed)
    device = resolve_device(params.device)
    text = text.to(device)
    tower = AudioTower(params.encoder.model_copy(update={"embed_dim": text.shape[1]})).to(device)
    sync_batchnorm(tower)  # ranks encode slices: BatchNorm statistics over the global batch (a no-op alone)
    opt = torch.optim.AdamW(tower.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    state = TrainState({"tower": tower}, {"tower": opt})
    batch = min(params.batch_size, len(feats.labels))

    def step_fn(step: int) -> dict[str, float]:
        idx = batch_indices(len(feats.labels), batch, step, params.seed)
        loss = step_loss(tower, params, feats, text, idx, step)
        optimize(opt, loss, params.grad_clip)
        with torch.no_grad():
            return {"loss": loss.detach(), "temperature": 1.0 / tower.logit_scale()}

    train_loop(
        "train_audio",
        params,
        state,
        step_fn,
        ckpt_dir / CHECKPOINT,
        checkpoint_fingerprint(params),
        log_fields=LOG_FIELDS,
        log_csv=log_csv,
        stop_after=stop_after,
        device=device,
    )
    return tower.cpu(), state.history


def embed(tower: AudioTower, mels: np.ndarray, batch: int = 64) -> np.ndarray:
    """L2-normalised audio embeddings in eval mode."""
    tower.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(mels), batch):
            x = torch.from_numpy(np.array(mels[i : i + batch], dtype=np.float32))  # a copy: mels may be read-only
            out.append(torch.nn.functional.normalize(tower.encoder(x), dim=-1))
    return torch.cat(out).numpy()
