"""Training of the sound-guided video generator (eq. 9) in two named phases per step, on the shared training core.

Each step draws a seeded batch of clips and a seeded T-frame window inside each. During the optional **latent
warm-up** (the first ``latent_warmup_steps``), the G side trains on the paired latent term (and lambda_b) alone,
without rendering: cheap, and it gives the recurrence a meaningful start. Every later step runs:
- **D phase**: the image discriminator D_I sees real and generated frames, the video discriminator D_V real and
  generated clips (real ones optionally time-reversed); skipped when both adversarial weights are 0.
- **G phase**: the sound inversion encoder + recurrent blocks produce ``w_hat_t`` for every frame, the frozen
  StyleGAN3 renders them, and the G-side loss is the sum of the weighted terms: L_clip(a<->v) against the audio
  tower's embedding of each frame's window, L_clip(a<->t) against the class prompt, lambda_b ||w_hat_t - w_bar||^2,
  the adversarial terms, and the optional paired latent term.
Everything random derives from (seed, step), so a resumed run ends with the weights of an uninterrupted one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sound2video.models.video.configuration_video import TrainVideoParams
from sound2video.models.video.discriminators import (
    ImageDiscriminator,
    VideoDiscriminator,
    discriminator_loss,
    generator_adv_loss,
    maybe_time_reverse,
    r1_penalty,
)
from sound2video.models.video.losses import clip_cosine_loss, latent_supervision, temporal_consistency
from sound2video.models.video.modeling_video import SoundToLatents
from sound2video.models.video.render import render_frames
from sound2video.training import TrainState, batch_indices, local_share, mean_over_ranks, optimize, train_loop, world

LOG_FIELDS = ["step", "loss_g", "clip_av", "clip_at", "consistency", "latent", "adv_g", "loss_d", "r1", "lr"]


@dataclass
class TrainingData:
    """What a step reads, all indexed by training clip (rows of the cache's train split)."""

    frames: np.ndarray  # uint8 [N, F, R, R, 3] (memory map)
    mels: np.ndarray  # float16 [N, F, n_mels, W] (memory map)
    audio_targets: np.ndarray  # float32 [N, F, D]: the audio tower's embedding of each frame's window
    labels: np.ndarray  # int64 [N]
    text: np.ndarray  # float32 [classes, D]: the class prompts' CLIP text embeddings
    inverted: np.ndarray | None  # float32 [N, F, num_ws, w_dim]: inversion of each real frame (or None)


def build_networks(
    params: TrainVideoParams, G: Any, n_mels: int, window_frames: int
) -> tuple[SoundToLatents, ImageDiscriminator, VideoDiscriminator]:
    latents = SoundToLatents(params.encoder, params.recurrent, G.num_ws, G.w_dim, n_mels, window_frames)
    d_image = ImageDiscriminator(params.discriminator.image)
    d_video = VideoDiscriminator(params.discriminator.video)
    return latents, d_image, d_video


class VideoTrainer:
    """Holds the networks, the frozen models and the data; ``step(i)`` runs one D phase and one G phase."""

    def __init__(self, params: TrainVideoParams, G: Any, clip: Any, data: TrainingData, device: torch.device) -> None:
        self.p, self.data, self.device = params, data, device
        n_mels, window_frames = data.mels.shape[2], data.mels.shape[3]
        torch.manual_seed(params.seed)
        latents, d_image, d_video = build_networks(params, G, n_mels, window_frames)
        self.G = G.to(device).eval().requires_grad_(False)
        clip.model.to(device)
        self.clip_image = clip.embed_images  # frozen CLIP, differentiable preprocessing (sound2video.core.frozen_clip)
        self.text = torch.from_numpy(data.text).to(device)
        betas = (params.betas[0], params.betas[1])
        modules: dict[str, torch.nn.Module] = {
            "latents": latents.to(device),
            "d_image": d_image.to(device),
            "d_video": d_video.to(device),
        }
        optimizers: dict[str, torch.optim.Optimizer] = {
            "g": torch.optim.Adam(latents.parameters(), lr=params.lr, betas=betas, weight_decay=params.weight_decay),
            "d": torch.optim.Adam([*d_image.parameters(), *d_video.parameters()], lr=params.d_lr, betas=betas),
        }
        ema: dict[str, torch.nn.Module] = {"latents": copy.deepcopy(latents).eval().requires_grad_(False)}
        self.state = TrainState(modules=modules, optimizers=optimizers, ema=ema)
        self.adversarial = params.loss.adv_image > 0 or params.loss.adv_video > 0

    # ---------------------------------------------------------------------------------------------- batch ----

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        """The step's clips, T-frame windows, start latents and motion noise: a function of (seed, step) only."""
        p, d, dev = self.p, self.data, self.device
        n, total = len(d.labels), d.frames.shape[1]
        idx = np.sort(batch_indices(n, min(p.batch_size, n), step, p.seed).numpy())
        gen = torch.Generator().manual_seed(p.seed * 7_919 + step)
        offsets = torch.randint(0, total - p.frames + 1, (len(idx),), generator=gen).numpy()
        take = [(int(i), int(o)) for i, o in zip(idx, offsets)]
        frames = np.stack([d.frames[i, o : o + p.frames] for i, o in take])
        mels = np.stack([d.mels[i, o : o + p.frames] for i, o in take]).astype(np.float32)
        targets = np.stack([d.audio_targets[i, o : o + p.frames] for i, o in take])
        real = torch.from_numpy(frames).to(dev).permute(0, 1, 4, 2, 3).float() / 127.5 - 1
        out = {
            "real": real,
            "mels": torch.from_numpy(mels).to(dev),
            "targets": torch.from_numpy(targets).to(dev),
            "labels": torch.from_numpy(d.labels[idx]).to(dev),
            "noise": torch.randn(len(idx), p.frames, p.recurrent.noise_dim, generator=gen).to(dev),
        }
        if d.inverted is not None:
            out["inverted"] = torch.from_numpy(np.stack([d.inverted[i, o : o + p.frames] for i, o in take])).to(dev)
        if p.start.kind == "inversion":
            out["w_start"] = out["inverted"][:, 0]
        else:
            z = torch.randn(len(idx), self.G.z_dim, generator=gen).to(dev)
            with torch.no_grad():
                out["w_start"] = self.G.mapping(z, None, truncation_psi=p.start.psi)
        return out

    # --------------------------------------------------------------------------------------------- phases ----

    def d_phase(self, b: dict[str, torch.Tensor], fake: torch.Tensor, step: int) -> dict[str, float]:
        p, s = self.p, self.state
        d_image, d_video = s.modules["d_image"], s.modules["d_video"]
        gen = torch.Generator().manual_seed(p.seed * 15_485_863 + step)
        real = b["real_d"] if "real_d" in b else maybe_time_reverse(b["real"], p.discriminator.time_reverse_real, gen)
        fake = fake.detach()
        r1 = torch.zeros((), device=self.device)
        need_r1 = p.discriminator.loss == "nonsat_r1" and p.discriminator.r1_gamma > 0
        loss = torch.zeros((), device=self.device)
        if p.loss.adv_image > 0:
            real_frames = real.flatten(0, 1).requires_grad_(need_r1)
            real_logits = [d_image(real_frames)]
            loss = loss + discriminator_loss(p.discriminator.loss, real_logits, [d_image(fake.flatten(0, 1))])
            if need_r1:
                r1 = r1 + r1_penalty(real_logits, real_frames)
        if p.loss.adv_video > 0:
            real_v = real.requires_grad_(need_r1)
            real_logits = d_video(real_v)
            loss = loss + discriminator_loss(p.discriminator.loss, real_logits, d_video(fake))
            if need_r1:
                r1 = r1 + r1_penalty(real_logits, real_v)
        total = loss + 0.5 * p.discriminator.r1_gamma * r1
        optimize(s.optimizers["d"], total, p.grad_clip)
        return {"loss_d": float(loss.detach()), "r1": float(r1.detach())}

    def g_phase(self, b: dict[str, torch.Tensor], ws: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        p, w, s = self.p, self.p.loss, self.state
        frames = fake.flatten(0, 1)
        emb = self.clip_image(frames)  # [B*T, D], L2-normalised
        targets = torch.nn.functional.normalize(b["targets"].flatten(0, 1), dim=-1)
        text = self.text[b["labels"]].repeat_interleave(p.frames, 0)
        parts = {
            "clip_av": clip_cosine_loss(emb, targets),
            "clip_at": clip_cosine_loss(emb, text),
            "consistency": temporal_consistency(ws),
        }
        if w.latent > 0:
            parts["latent"] = latent_supervision(ws, b["inverted"])
        if self.adversarial:
            adv = torch.zeros((), device=self.device)
            if w.adv_image > 0:
                adv = adv + w.adv_image * generator_adv_loss(p.discriminator.loss, [s.modules["d_image"](frames)])
            if w.adv_video > 0:
                adv = adv + w.adv_video * generator_adv_loss(p.discriminator.loss, s.modules["d_video"](fake))
            parts["adv_g"] = adv
        weights = {
            "clip_av": w.clip_av,
            "clip_at": w.clip_at,
            "consistency": w.consistency,
            "latent": w.latent,
            "adv_g": 1.0,
        }
        total = torch.stack([weights[k] * v for k, v in parts.items()]).sum()
        optimize(s.optimizers["g"], total, p.grad_clip)
        return {"loss_g": float(total.detach()), **{k: float(v.detach()) for k, v in parts.items()}}

    def generate(self, b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        ws = self.state.modules["latents"](b["mels"], b["w_start"], b["noise"])
        fake = render_frames(self.G.synthesis, ws, chunk=self.p.render.chunk, checkpoint=self.p.render.checkpoint)
        return ws, fake

    def warmup_phase(self, b: dict[str, torch.Tensor]) -> dict[str, float]:
        """Phase 1: the paired latent term (plus lambda_b) on the latents alone, nothing rendered."""
        p = self.p
        ws = self.state.modules["latents"](b["mels"], b["w_start"], b["noise"])
        parts = {"latent": latent_supervision(ws, b["inverted"]), "consistency": temporal_consistency(ws)}
        total = p.loss.latent * parts["latent"] + p.loss.consistency * parts["consistency"]
        optimize(self.state.optimizers["g"], total, p.grad_clip)
        return {"loss_g": float(total.detach()), **{k: float(v.detach()) for k, v in parts.items()}}

    def local_batch(self, b: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        """Under torchrun: this rank's equal slice of the step's global batch (every loss is a mean over clips and
        every norm is per sample, so averaged gradients equal one process's). Draws made per clip (the time reversal
        of real clips for D) are made for the global batch first, so they match one process's."""
        if world().size == 1:
            return b
        gen = torch.Generator().manual_seed(self.p.seed * 15_485_863 + step)  # d_phase's generator
        b = b | {"real_d": maybe_time_reverse(b["real"], self.p.discriminator.time_reverse_real, gen)}
        share = local_share(len(b["labels"]))
        return {k: v[share] for k, v in b.items()}

    def step(self, step: int) -> dict[str, float]:
        out = self._step(self.local_batch(self.batch(step), step), step)
        return {k: float(mean_over_ranks(v)) for k, v in out.items()}  # the global batch's losses

    def _step(self, b: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        if step < self.p.latent_warmup_steps:
            return self.warmup_phase(b)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.p.bf16):
            ws, fake = self.generate(b)
            out: dict[str, float] = {}
            if self.adversarial:
                for d in ("d_image", "d_video"):
                    self.state.modules[d].requires_grad_(True)
                out |= self.d_phase(b, fake, step)
                for d in ("d_image", "d_video"):
                    self.state.modules[d].requires_grad_(False)
            out |= self.g_phase(b, ws, fake)
        return out


def train(
    trainer: VideoTrainer, ckpt_dir: Path, fingerprint: str, log_csv: Path | None = None, stop_after: int | None = None
) -> TrainState:
    """Train (or resume) to ``params.steps``; ``stop_after`` ends early (tests use it to simulate a kill)."""
    return train_loop(
        "train_video",
        trainer.p,
        trainer.state,
        trainer.step,
        ckpt_dir / "checkpoint.pt",
        fingerprint,
        log_fields=LOG_FIELDS,
        log_csv=log_csv,
        ema_decay=trainer.p.ema_decay,
        stop_after=stop_after,
        device=trainer.device,
    )
