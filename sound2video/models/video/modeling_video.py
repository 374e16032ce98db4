"""The trained video generator as a model folder (the project's model contract) and as a ready generator.

``models/video/`` holds the G side (sound inversion encoder + recurrent blocks, EMA weights) and a config naming the
frozen StyleGAN3, the audio tower (for its mel front-end) and, when used, the inversion encoder, each with its
sha256: loading checks them, so a video model never renders through a generator it was not trained with.

The trained "G side": the sound inversion encoder E_a plus the three recurrent blocks (eq. 1, 4, 5).

For a start latent ``w_start`` (a mapping-network sample or an inverted image) and mel windows ``x_0..x_{T-1}``
(one per frame), frame t's latent is

    w_hat_t = w_start + E_a(x_t) + m_t

with a recurrent motion term ``m_t`` per latent group (coarse / mid / fine, boundaries in params):

    m_0 = 0
    for t >= 1, for each active block g (its own GRU, stepped once per frame, hidden state carried):
        o_t = GRU_g([flatten(w_hat_{t-1}[g]), s_t])                  s_t: the sound code of window t
        m_t[g] = m_{t-1}[g] + residual_scale * FC_g([o_t, s_t, n_t])   n_t: the frame's noise vector

Inactive blocks keep ``m = 0`` for their group (the paper's Fig. 7 ablations).

Mapping to eq. 4, ``w_hat^t, h_t = E_RNN(h_{t-1}, E_a(x^{t-1}) + w_hat^{t-1})``: the GRU input carries
``w_hat_{t-1}``, which already contains ``E_a(x_{t-1})`` (so the eq. 4 input is in there), and the block's output is
a residual added to the latent (paper 4.1). We depart in one place on purpose: the audio of window t also enters
step t, twice: through the offset ``E_a(x_t)`` and through the sound code ``s_t`` fed to the GRU and to the last
layer ("the last fully-connected layer takes a 512-d encoded sound vector concatenated with a 512-d noise vector").
Eq. 4 read literally lags the sound by one frame; here frame t reacts to its own window, and ``w_hat_0`` is exactly
eq. 1's ``E_a(x_0) + w``. Changing window t changes frames t.. and never frames before t (causal).

``audio_mode``: ``every_step`` (the above); ``first_step`` (the released code): the offset of window 0 is used for
every frame and the recurrent blocks get zeros for the sound code at t >= 1, so later windows are ignored; ``none``
(Table 2's "ours without sound"): every mel is replaced by zeros.

``smoothing`` (inference-only, ``smooth=True``): the emitted latents are an EMA of the w_hat_t,
``out_t = a * w_hat_t + (1 - a) * out_{t-1}``, ``out_0 = w_hat_0``. Unlike the released code (which feeds the
smoothed latent back into the GRU), the recurrence always runs on the raw w_hat, i.e. on the dynamics it was
trained with; smoothing only filters what is rendered.

All norms are per sample, so in train() mode too one window or one batch item never changes another's latents.
``step`` carries a ``GenState`` so that long audio can be generated in chunks with the same result as one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from torch import nn

from sound2video.core.fsutil import sha256_file
from sound2video.models.audio.mel import MelParams
from sound2video.models.contract import write_model_folder
from sound2video.models.video.configuration_video import BLOCK_NAMES, RecurrentParams, SoundEncoderParams
from sound2video.models.video.sound_encoder import SoundEncoder, check_groups


@dataclass
class GenState:
    """What the recurrence carries from one frame to the next (all per batch item)."""

    w_start: torch.Tensor  # [B, num_ws, w_dim] the start latent w
    w_prev: Optional[torch.Tensor]  # [B, num_ws, w_dim] w_hat_{t-1} (raw); None before frame 0
    motion: torch.Tensor  # [B, num_ws, w_dim] m_{t-1}
    hidden: list[Optional[torch.Tensor]]  # per block (coarse, mid, fine): [gru_layers, B, hidden]; None: inactive
    first_offset: Optional[torch.Tensor]  # [B, num_ws, w_dim] E_a(x_0) (used by audio_mode first_step)
    first_code: Optional[torch.Tensor]  # [B, sound_dim] the sound code of window 0
    step: int  # frames emitted so far
    smoothed: Optional[torch.Tensor]  # [B, num_ws, w_dim] last emitted smoothed latent; None before frame 0


class RecurrentBlock(nn.Module):
    """One latent group's GRU and its last layer (the residual update)."""

    def __init__(self, group_size: int, w_dim: int, sound_dim: int, params: RecurrentParams) -> None:
        super().__init__()
        self.group_size, self.w_dim = group_size, w_dim
        self.gru = nn.GRU(group_size * w_dim + sound_dim, params.hidden, params.gru_layers, batch_first=True)
        self.fc = nn.Linear(params.hidden + sound_dim + params.noise_dim, group_size * w_dim)
        with torch.no_grad():
            self.fc.weight.mul_(params.init_scale)
            self.fc.bias.zero_()

    def forward(
        self, w_group: torch.Tensor, code: torch.Tensor, noise: torch.Tensor, hidden: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``w_group [B, n, w_dim]`` -> (residual ``[B, n, w_dim]``, new hidden)."""
        x = torch.cat([w_group.flatten(1), code], dim=1).unsqueeze(1)  # one time step
        out, hidden = self.gru(x, hidden)
        delta = self.fc(torch.cat([out[:, 0], code, noise], dim=1))
        return delta.view(-1, self.group_size, self.w_dim), hidden


class SoundToLatents(nn.Module):
    """E_a + the recurrent blocks: mel windows and a start latent -> one W+ latent per frame."""

    def __init__(
        self, enc: SoundEncoderParams, rec: RecurrentParams, num_ws: int, w_dim: int, n_mels: int, window_frames: int
    ) -> None:
        super().__init__()
        coarse_end, mid_end = check_groups(rec.groups, num_ws)
        self.enc_params, self.rec = enc, rec
        self.num_ws, self.w_dim, self.n_mels, self.window_frames = num_ws, w_dim, n_mels, window_frames
        self.sound_dim, self.noise_dim, self.hidden = enc.sound_dim, rec.noise_dim, rec.hidden
        self.encoder = SoundEncoder(enc, num_ws, w_dim, n_mels, window_frames, rec.groups)
        bounds = [0, coarse_end, mid_end, num_ws]
        self.spans = {name: (bounds[i], bounds[i + 1]) for i, name in enumerate(BLOCK_NAMES)}
        self.blocks = nn.ModuleDict(
            {
                name: RecurrentBlock(hi - lo, w_dim, enc.sound_dim, rec)
                for name, (lo, hi) in self.spans.items()
                if name in rec.active_blocks
            }
        )

    # --- shape checks ---------------------------------------------------------------------------------------
    def _check(self, t: torch.Tensor, shape: list[Optional[int]], name: str) -> None:
        if t.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, t.shape)):
            want = "[" + ", ".join("*" if s is None else str(s) for s in shape) + "]"
            raise ValueError(f"{name} has shape {list(t.shape)}, expected {want}")

    # --- streaming API --------------------------------------------------------------------------------------
    def init_state(self, w_start: torch.Tensor) -> GenState:
        """State before frame 0 for start latents ``w_start [B, num_ws, w_dim]``."""
        self._check(w_start, [None, self.num_ws, self.w_dim], "w_start")
        hidden = [
            w_start.new_zeros(self.rec.gru_layers, w_start.shape[0], self.hidden) if name in self.blocks else None
            for name in BLOCK_NAMES
        ]
        return GenState(
            w_start=w_start,
            w_prev=None,
            motion=torch.zeros_like(w_start),
            hidden=hidden,
            first_offset=None,
            first_code=None,
            step=0,
            smoothed=None,
        )

    def step(
        self, state: GenState, mel_t: torch.Tensor, noise_t: torch.Tensor, smooth: bool = False
    ) -> tuple[torch.Tensor, GenState]:
        """One frame: mel window ``[B, n_mels, W]`` and noise ``[B, noise_dim]`` -> ``w_t [B, num_ws, w_dim]``."""
        b = state.w_start.shape[0]
        self._check(mel_t, [b, self.n_mels, self.window_frames], "mel_t")
        self._check(noise_t, [b, self.noise_dim], "noise_t")
        mode = self.rec.audio_mode
        if mode != "every_step" and state.first_offset is not None and state.first_code is not None:
            # first_step: window 0's offset, no sound for the recurrence; none: E_a(zeros) is the same every frame.
            code = torch.zeros_like(state.first_code) if mode == "first_step" else state.first_code
            offset = state.first_offset
        else:
            offset, code = self.encoder(torch.zeros_like(mel_t) if mode == "none" else mel_t)
        return self._advance(state, offset, code, noise_t, smooth)

    def steps(
        self, state: GenState, mels: torch.Tensor, noise: torch.Tensor, smooth: bool = False
    ) -> tuple[torch.Tensor, GenState]:
        """Several frames at once for streaming generation: ``mels [B, n, n_mels, W]``, ``noise [B, n, noise_dim]``
        -> ``(ws [B, n, num_ws, w_dim], state)``; E_a encodes the n windows in one batch, the recurrence then steps
        frame by frame (the same result as ``step`` n times)."""
        b = state.w_start.shape[0]
        self._check(mels, [b, None, self.n_mels, self.window_frames], "mels")
        n = mels.shape[1]
        self._check(noise, [b, n, self.noise_dim], "noise")
        if self.rec.audio_mode != "every_step" or n == 0:
            out = []
            for t in range(n):
                w_t, state = self.step(state, mels[:, t], noise[:, t], smooth)
                out.append(w_t)
            return (torch.stack(out, dim=1) if out else mels.new_zeros(b, 0, self.num_ws, self.w_dim)), state
        offsets, codes = self.encoder(mels.flatten(0, 1))
        offsets, codes = offsets.unflatten(0, (b, n)), codes.unflatten(0, (b, n))
        out = []
        for t in range(n):
            w_t, state = self._advance(state, offsets[:, t], codes[:, t], noise[:, t], smooth)
            out.append(w_t)
        return torch.stack(out, dim=1), state

    def forward(
        self, mels: torch.Tensor, w_start: torch.Tensor, noise: torch.Tensor, smooth: bool = False
    ) -> torch.Tensor:
        """``mels [B, T, n_mels, W]``, ``w_start [B, num_ws, w_dim]``, ``noise [B, T, noise_dim]`` ->
        ``ws [B, T, num_ws, w_dim]``. Same result as ``step`` over the frames, with E_a run once on all windows."""
        self._check(w_start, [None, self.num_ws, self.w_dim], "w_start")
        b = w_start.shape[0]
        self._check(mels, [b, None, self.n_mels, self.window_frames], "mels")
        t_len = mels.shape[1]
        self._check(noise, [b, t_len, self.noise_dim], "noise")
        if t_len == 0:
            raise ValueError("mels has no frames (T = 0)")
        mode = self.rec.audio_mode
        if mode == "every_step":
            offsets, codes = self.encoder(mels.flatten(0, 1))
            offsets, codes = offsets.unflatten(0, (b, t_len)), codes.unflatten(0, (b, t_len))
        else:
            # Only window 0 matters (first_step), or none does: encode one window per item, not T.
            offset0, code0 = self.encoder(torch.zeros_like(mels[:, 0]) if mode == "none" else mels[:, 0])
            offsets = offset0.unsqueeze(1).expand(b, t_len, -1, -1)
            codes = code0.unsqueeze(1).expand(b, t_len, -1)
            if mode == "first_step":
                codes = torch.cat([codes[:, :1], torch.zeros_like(codes[:, 1:])], dim=1)
        state, out = self.init_state(w_start), []
        for t in range(t_len):
            w_t, state = self._advance(state, offsets[:, t], codes[:, t], noise[:, t], smooth)
            out.append(w_t)
        return torch.stack(out, dim=1)

    def _advance(
        self, state: GenState, offset: torch.Tensor, code: torch.Tensor, noise: torch.Tensor, smooth: bool
    ) -> tuple[torch.Tensor, GenState]:
        motion, hidden = state.motion, list(state.hidden)
        if state.w_prev is not None:  # frames after the first: the recurrent update
            parts = []
            for i, name in enumerate(BLOCK_NAMES):
                lo, hi = self.spans[name]
                if name in self.blocks:
                    delta, hidden[i] = self.blocks[name](state.w_prev[:, lo:hi], code, noise, hidden[i])
                    parts.append(motion[:, lo:hi] + self.rec.residual_scale * delta)
                else:
                    parts.append(motion[:, lo:hi])
            motion = torch.cat(parts, dim=1)
        w_t = state.w_start + offset + motion
        out, smoothed = w_t, state.smoothed
        if smooth and self.rec.smoothing is not None:
            a = self.rec.smoothing
            smoothed = w_t if smoothed is None else a * w_t + (1 - a) * smoothed
            out = smoothed
        first = state.step == 0
        return out, replace(
            state,
            w_prev=w_t,
            motion=motion,
            hidden=hidden,
            first_offset=offset if first else state.first_offset,
            first_code=code if first else state.first_code,
            step=state.step + 1,
            smoothed=smoothed,
        )


FORMAT, FORMAT_VERSION = "video", 1


@dataclass
class VideoState:
    """One video's recurrent state plus its own noise stream (so chunked generation equals one pass)."""

    latents: GenState
    noise: torch.Generator


class VideoGenerator:
    """Sound -> frames: ``start`` a video, then feed it per-frame mel windows chunk by chunk (``frames``)."""

    def __init__(
        self,
        latents: SoundToLatents,
        G: Any,
        inverter: Any | None,
        mel: MelParams,
        fps: float,
        window_seconds: float,
        psi: float,
    ) -> None:
        self.latents, self.G, self.inverter = latents.eval(), G.eval(), inverter
        self.mel, self.fps, self.window_seconds, self.psi = mel, float(fps), float(window_seconds), float(psi)
        self.resolution = int(G.img_resolution)
        self.noise_dim = int(latents.noise_dim)

    def start(self, seed: int, psi: float | None = None, image: np.ndarray | None = None) -> VideoState:
        """Initial state: the start latent is a mapping sample at ``psi`` (seeded) or the inversion of ``image``."""
        gen = torch.Generator().manual_seed(int(seed))
        with torch.inference_mode():
            if image is not None:
                if self.inverter is None:
                    raise ValueError("this video model was trained without an inversion encoder: --image needs one")
                from sound2video.models.inversion.modeling_inversion import to_model_input

                w = self.inverter(to_model_input(np.asarray(image)[None]))
            else:
                z = torch.randn(1, self.G.z_dim, generator=gen)
                w = self.G.mapping(z, None, truncation_psi=self.psi if psi is None else float(psi))
        return VideoState(self.latents.init_state(w), gen)

    def step_latents(self, state: VideoState, windows: np.ndarray) -> tuple[torch.Tensor, VideoState]:
        """Per-frame latents [n, num_ws, w_dim] for mel windows [n, n_mels, W] (state advanced); the windows are
        encoded in one batch, the recurrence steps frame by frame with one noise draw per frame."""
        with torch.inference_mode():
            mels = torch.from_numpy(np.asarray(windows, np.float32))[None]
            noise = torch.stack([torch.randn(self.noise_dim, generator=state.noise) for _ in range(len(windows))])
            ws, st = self.latents.steps(state.latents, mels, noise[None], smooth=True)
        return ws[0], VideoState(st, state.noise)

    def render(self, ws: torch.Tensor, batch: int = 8) -> np.ndarray:
        """uint8 frames [n, R, R, 3] from latents [n, num_ws, w_dim]."""
        out = []
        with torch.inference_mode():
            for i in range(0, len(ws), batch):
                img = self.G.synthesis(ws[i : i + batch])
                out.append((img.clamp(-1, 1) * 127.5 + 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.resolution, self.resolution, 3), np.uint8)

    def frames(self, state: VideoState, windows: np.ndarray) -> tuple[np.ndarray, VideoState]:
        ws, state = self.step_latents(state, windows)
        return self.render(ws), state


def save_video_model(generator: VideoGenerator, out_dir: Path, meta: dict[str, Any]) -> None:
    lat = generator.latents
    config = {
        "encoder": lat.enc_params.model_dump(),
        "recurrent": lat.rec.model_dump(),
        "num_ws": lat.num_ws,
        "w_dim": lat.w_dim,
        "n_mels": lat.n_mels,
        "window_frames": lat.window_frames,
        "mel": generator.mel.model_dump(),
        "fps": generator.fps,
        "window_seconds": generator.window_seconds,
        "psi": generator.psi,
        **meta,
    }
    write_model_folder(out_dir, FORMAT, FORMAT_VERSION, config, lat.state_dict())


def resolve_referenced(entry: dict[str, Any], folder: Path, what: str) -> Path:
    """A referenced model folder, checked against its recorded sha256: its recorded path as given (relative to the
    working directory, e.g. ``models/stylegan3`` from the repository), or as a sibling of the video model folder."""
    for candidate in (Path(entry["path"]), folder.parent / Path(entry["path"]).name):
        weights = candidate / "model.safetensors"
        if weights.is_file():
            if sha256_file(weights) != entry["sha256"]:
                raise ValueError(
                    f"{folder}: the {what} at {candidate} is not the one this model was trained with "
                    f"(sha256 differs); retrain with `dvc repro train_video`"
                )
            return candidate
    raise FileNotFoundError(f"{folder}: the {what} it needs is not at {entry['path']} (run `dvc pull` or `dvc repro`)")


def from_contract(config: dict[str, Any], state: dict[str, Any], device: str = "cpu") -> VideoGenerator:
    """Build the generator of a ``video`` model folder (``sound2video.models.load``): the G side from its weights,
    the StyleGAN3 and inversion encoder it names, checked by sha256."""
    from sound2video import models

    folder = Path(config.get("loaded_from", "models/video"))
    latents = SoundToLatents(
        SoundEncoderParams(**config["encoder"]),
        RecurrentParams(**config["recurrent"]),
        config["num_ws"],
        config["w_dim"],
        config["n_mels"],
        config["window_frames"],
    )
    latents.load_state_dict(state)
    G = models.load(resolve_referenced(config["generator"], folder, "generator"), device=device)
    inverter = None
    if config.get("inversion"):
        inverter = models.load(resolve_referenced(config["inversion"], folder, "inversion encoder"), device=device)
    return VideoGenerator(
        latents.to(device),
        G,
        inverter,
        MelParams(**config["mel"]),
        config["fps"],
        config["window_seconds"],
        config["psi"],
    )
