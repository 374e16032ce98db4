"""Params of the sound-to-video networks: the sound inversion encoder E_a, the recurrent blocks, the discriminators.

Architecture only; loss weights, optimisers and data shaping belong to the ``train_video`` stage's params. Every
block is strict (unknown keys are errors) and frozen; validation errors name the key.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from sound2video.core.params_base import StrictParams, TrainingParams
from sound2video.models.configuration_blocks import BackboneParams

BLOCK_NAMES = ("coarse", "mid", "fine")
BlockName = Literal["coarse", "mid", "fine"]


class SoundEncoderParams(BackboneParams):
    """E_a (eq. 1): a pSp-style encoder on a 1-channel log-mel window -> a W+ offset and a pooled sound code; the
    backbone fields (backbone, width, blocks, style_channels) are the inversion encoder's, ``BackboneParams``."""

    sound_dim: int = Field(
        512, ge=1, description="size of the pooled 'encoded sound' vector fed to the recurrent blocks (paper: 512)"
    )
    norm: Literal["group", "instance", "none"] = Field(
        "group",
        description="the backbone's normalisation (instead of BatchNorm); all are per sample, so frames and "
        "batch items never influence each other, in train() mode too",
    )
    norm_groups: int = Field(8, ge=1, description="GroupNorm groups (norm: group); reduced to gcd(groups, channels)")
    init_scale: float = Field(
        0.01,
        gt=0,
        le=1,
        description="the heads' last layers start at this fraction of their default init, so offsets start near 0",
    )


class RecurrentParams(StrictParams):
    """The frame generator (eq. 4-5): one GRU block per latent group, residual motion update per frame."""

    groups: list[int] = Field(
        [3, 6],
        min_length=2,
        max_length=2,
        description="boundaries of the latent groups: [a, b] = coarse 0..a-1, mid a..b-1, fine b..num_ws-1. "
        "[3, 6] is the paper's text; [4, 8] the released code's split",
    )
    gru_layers: int = Field(5, ge=1, description="stacked GRU layers per block (paper: 5)")
    hidden: int = Field(512, ge=1, description="GRU hidden size (paper: 512)")
    noise_dim: int = Field(
        512, ge=0, description="per-frame noise concatenated before the last layer (paper: 512; 0: no noise)"
    )
    active_blocks: list[BlockName] = Field(
        ["coarse", "mid", "fine"],
        min_length=1,
        description="blocks that move their latents over time; the others keep zero motion (paper Fig. 7)",
    )
    audio_mode: Literal["every_step", "first_step", "none"] = Field(
        "every_step",
        description="every_step: each frame's window conditions its frame (the paper); first_step: "
        "only window 0 conditions the video (the released code); none: the mel is "
        "replaced by zeros (Table 2's 'ours without sound')",
    )
    smoothing: Optional[float] = Field(
        None,
        gt=0,
        le=1,
        description="inference-only EMA of the emitted latents, out = a*w_t + (1-a)*out_{t-1} "
        "(released code: 0.4); null: off",
    )
    residual_scale: float = Field(1.0, gt=0, description="multiplier of each block's residual update")
    init_scale: float = Field(
        0.01,
        gt=0,
        le=1,
        description="the last layers start at this fraction of their default init, so motion starts near 0",
    )

    @field_validator("groups")
    @classmethod
    def _increasing(cls, v: list[int]) -> list[int]:
        if not 0 < v[0] < v[1]:
            raise ValueError(f"groups: need 0 < coarse_end < mid_end (got {v})")
        return v

    @field_validator("active_blocks")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"active_blocks: repeated block name (got {v})")
        return sorted(v, key=BLOCK_NAMES.index)


class ImageDiscriminatorParams(StrictParams):
    """D_I: a 2D PatchGAN on single frames."""

    width: int = Field(64, ge=1, description="channels of the first conv; doubled per layer up to 8x")
    layers: int = Field(3, ge=1, description="stride-2 conv layers (receptive field grows with each)")


class VideoDiscriminatorParams(StrictParams):
    """D_V: a 3D PatchGAN over space-time patches (MoCoGAN-HD style), so it sees motion."""

    width: int = Field(64, ge=1, description="channels of the first conv; doubled per layer up to 8x")
    layers: int = Field(3, ge=1, description="spatially stride-2 Conv3d layers")
    temporal_kernel: int = Field(
        3,
        description="temporal extent of every Conv3d kernel; >= 2 so D_V sees motion "
        "(the released code's 1 makes it a per-frame critic)",
    )
    two_scales: bool = Field(True, description="add a second D_V on frames average-pooled to half size")
    first_frame_condition: bool = Field(
        True, description="MoCoGAN-HD: frame 0 repeated and stacked channel-wise with frames 1..T-1 (needs T >= 2)"
    )

    @field_validator("temporal_kernel")
    @classmethod
    def _sees_motion(cls, v: int) -> int:
        if v < 2:
            raise ValueError(f"temporal_kernel: must be >= 2 so the video discriminator sees motion (got {v})")
        return v


class DiscriminatorParams(StrictParams):
    """Both discriminators (eq. 7-8) and their loss family."""

    image: ImageDiscriminatorParams = Field(default_factory=ImageDiscriminatorParams, description="D_I")
    video: VideoDiscriminatorParams = Field(default_factory=VideoDiscriminatorParams, description="D_V")
    loss: Literal["lsgan", "nonsat_r1"] = Field(
        "lsgan", description="lsgan: least squares (the paper's code); nonsat_r1: non-saturating + R1 on reals"
    )
    r1_gamma: float = Field(10.0, ge=0, description="R1 weight (nonsat_r1): the D loss adds r1_gamma/2 * R1")
    time_reverse_real: float = Field(
        0.5, ge=0, le=1, description="probability of time-reversing each real clip shown to D_V (MoCoGAN-HD: 0.5)"
    )


class StartParams(StrictParams):
    """Where each video's latent walk starts (eq. 1's w)."""

    kind: Literal["mapping", "inversion"] = Field(
        "mapping",
        description="mapping: a mapping-network sample at psi; inversion: the inversion encoder's latent "
        "of the clip's first real frame",
    )
    psi: float = Field(0.7, gt=0, le=1, description="truncation of mapping samples (training and generation)")


class VideoLossParams(StrictParams):
    """Weights of the G-side terms (eq. 2, 3, 7-9); every row of the paper's tables is a choice of these."""

    clip_av: float = Field(1.0, ge=0, description="L_clip(a<->v): 1 - cos(CLIP image of frame t, F_a(window t))")
    clip_at: float = Field(1.0, ge=0, description="L_clip(a<->t): 1 - cos(CLIP image of frame t, class prompt)")
    consistency: float = Field(0.1, ge=0, description="lambda_b: ||w_hat_t - w_bar||^2, w_bar the temporal mean")
    adv_image: float = Field(0.05, ge=0, description="weight of D_I's generator term (0: no image discriminator)")
    adv_video: float = Field(0.05, ge=0, description="weight of D_V's generator term (0: no video discriminator)")
    latent: float = Field(
        0.0,
        ge=0,
        description="paired term: ||w_hat_t - Inv(real frame t)||^2 (off in the "
        "paper profile; the released code's latent regression in spirit)",
    )


class RenderParams(StrictParams):
    chunk: int = Field(8, ge=1, description="frames rendered per G.synthesis call")
    checkpoint: bool = Field(False, description="activation checkpointing per chunk: bounded memory for long T")


class TrainVideoParams(TrainingParams):
    """The ``train_video`` stage: data shaping, networks, losses, optimisers."""

    dataset: str = Field("landscape", description="the data set whose shards train the model")
    fps: float = Field(5.0, gt=0, le=60, description="generation frame rate: frames are sampled at this rate")
    frames: int = Field(10, ge=2, le=256, description="T: frames per training sequence (paper: 10)")
    window_seconds: float = Field(1.0, gt=0, le=10, description="audio window per frame, centred on the frame")
    start: StartParams = Field(default_factory=StartParams)
    encoder: SoundEncoderParams = Field(default_factory=SoundEncoderParams)
    recurrent: RecurrentParams = Field(default_factory=RecurrentParams)
    discriminator: DiscriminatorParams = Field(default_factory=DiscriminatorParams)
    loss: VideoLossParams = Field(default_factory=VideoLossParams)
    d_lr: float = Field(1e-4, gt=0, description="discriminators' learning rate (lr is the G side's)")
    betas: tuple[float, float] = Field((0.5, 0.999), description="Adam betas of both optimisers")
    ema_decay: float = Field(0.995, ge=0, lt=1, description="EMA of the G side used for sampling")
    render: RenderParams = Field(default_factory=RenderParams)
    bf16: bool = Field(False, description="bfloat16 autocast (CUDA)")
    latent_warmup_steps: int = Field(
        0,
        ge=0,
        description="phase 1: the first steps train the G side on the paired latent term alone (no "
        "rendering, no discriminators: cheap); needs loss.latent > 0. Phase 2 trains on every term",
    )

    @model_validator(mode="after")
    def _phases(self) -> TrainVideoParams:
        if self.latent_warmup_steps and self.loss.latent <= 0:
            raise ValueError("latent_warmup_steps > 0 needs loss.latent > 0 (the warm-up trains on that term alone)")
        if self.latent_warmup_steps >= self.steps:
            raise ValueError(f"latent_warmup_steps ({self.latent_warmup_steps}) must be below steps ({self.steps})")
        return self
