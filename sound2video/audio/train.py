"""Training loop of the audio tower (nanoGPT-style): deterministic per step, checkpointed, resumable.

Each step's batch and augmentation are derived from (seed, step) alone, so a run killed and resumed from its last
checkpoint ends with exactly the weights of an uninterrupted run.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from ..fsutil import atomic_path
from ..log import progress
from ..training import batch_indices, code_fingerprint, lr_at, resolve_device, resume, save_checkpoint
from .config import TrainAudioClipParams
from .data import Features
from .encoder import AudioEncoder
from .losses import LogitScale, class_info_nce, info_nce, spec_augment

CHECKPOINT = "checkpoint.pt"


class AudioTower(torch.nn.Module):
    """The trainable part: encoder + temperature."""

    def __init__(self, params: TrainAudioClipParams, embed_dim: int):
        super().__init__()
        self.encoder = AudioEncoder(params.encoder.model_copy(update={"embed_dim": embed_dim}))
        self.logit_scale = LogitScale()


def checkpoint_fingerprint(params: TrainAudioClipParams) -> str:
    """What decides the weights: the params (less workers, checkpoint interval, device) and the code that trains
    (this package and the CLIP loader), so a checkpoint from other params or other code is never resumed."""
    here = Path(__file__).parent
    return code_fingerprint(params.model_dump_json(exclude={"num_workers", "checkpoint_every", "device"}),
                            [*here.glob("*.py"), here.parent / "metrics" / "clip_similarity.py"])


def step_loss(tower: AudioTower, params: TrainAudioClipParams, feats: Features, text: torch.Tensor,
              idx: torch.Tensor, step: int) -> torch.Tensor:
    device = text.device
    mel = torch.from_numpy(np.asarray(feats.mels[idx.numpy()], dtype=np.float32))
    labels = torch.from_numpy(feats.labels[idx.numpy()]).to(device)
    gen = torch.Generator().manual_seed(params.seed * 7_919 + step)
    aug = params.specaugment
    view = spec_augment(mel, gen, aug.freq_masks, aug.time_masks, aug.max_freq, aug.max_time) if aug else mel
    audio = tower.encoder(view.to(device))
    scale = tower.logit_scale()
    loss = params.text_weight * class_info_nce(audio, text, labels, scale)
    if params.image_weight and feats.images is not None:
        images = torch.from_numpy(feats.images[idx.numpy()]).to(device)
        loss = loss + params.image_weight * info_nce(audio, images, scale)
    if params.augment_weight and aug:
        other = spec_augment(mel, gen, aug.freq_masks, aug.time_masks, aug.max_freq, aug.max_time)
        loss = loss + params.augment_weight * info_nce(audio, tower.encoder(other.to(device)), scale)
    return loss


def train(params: TrainAudioClipParams, feats: Features, text: torch.Tensor, ckpt_dir: Path,
          stop_after: int | None = None) -> tuple[AudioTower, list[dict[str, float]]]:
    """Train (or resume) to ``params.steps``; ``stop_after`` ends early (used to simulate an interruption)."""
    torch.manual_seed(params.seed)
    device = resolve_device(params.device)
    text = text.to(device)
    tower = AudioTower(params, text.shape[1]).to(device)
    opt = torch.optim.AdamW(tower.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    ckpt = ckpt_dir / CHECKPOINT
    fingerprint = checkpoint_fingerprint(params)
    start, history = resume(ckpt, fingerprint, tower, opt, device, "train_audio_clip")
    batch = min(params.batch_size, len(feats.labels))
    tower.train()
    with progress(total=params.steps, initial=start, desc="train_audio_clip", unit="step") as bar:
        for step in range(start, params.steps):
            if stop_after is not None and step >= stop_after:
                break
            torch.manual_seed(params.seed * 104_729 + step)  # dropout and anything else random: per step
            for group in opt.param_groups:
                group["lr"] = lr_at(step, params)
            loss = step_loss(tower, params, feats, text, batch_indices(len(feats.labels), batch, step, params.seed),
                             step)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(tower.parameters(), params.grad_clip)
            opt.step()
            if (step + 1) % params.log_every == 0 or step + 1 == params.steps:
                with torch.no_grad():
                    history.append({"step": step + 1, "loss": loss.item(), "lr": lr_at(step, params),
                                    "temperature": 1.0 / tower.logit_scale().item()})
                bar.set_postfix(loss=f"{loss.item():.3f}")
            if (step + 1) % params.checkpoint_every == 0 or step + 1 == params.steps:
                save_checkpoint(ckpt, tower, opt, step + 1, history, fingerprint)
            bar.update()
    return tower.cpu(), history


def write_history(history: list[dict[str, float]], path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["step", "loss", "lr", "temperature"])
        w.writeheader()
        w.writerows(history)


def embed(tower: AudioTower, mels: np.ndarray, batch: int = 64) -> np.ndarray:
    """L2-normalised audio embeddings in eval mode."""
    tower.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(mels), batch):
            x = torch.from_numpy(np.asarray(mels[i:i + batch], dtype=np.float32))
            out.append(torch.nn.functional.normalize(tower.encoder(x), dim=-1))
    return torch.cat(out).numpy()
