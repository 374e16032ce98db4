"""Params of the ``stylegan3`` (generator preparation) and ``invert_lhq`` stages."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from ..audio.config import ClipSpec
from ..config import DEVICE_PATTERN, SHA256_PATTERN, _Strict
from ..models.stylegan3.schedule import validate_random_generator


class RandomGeneratorParams(_Strict):
    """A randomly initialised StyleGAN3 (offline profiles): architecture, seed, and how w_avg is estimated."""

    config: Literal["T", "R"] = "T"
    resolution: int = Field(64, ge=16, le=1024)
    channel_base: int = Field(1024, ge=16)
    channel_max: int = Field(64, ge=4)
    z_dim: int = Field(64, ge=1)
    w_dim: int = Field(64, ge=1)
    num_layers: int = Field(14, ge=3, description="synthesis layers (num_ws = num_layers + 2)")
    margin_size: int = Field(10, ge=0, description="extra samples around each layer's image")
    seed: int = Field(0, ge=0)
    w_avg_samples: int = Field(10_000, ge=1, description="w_avg = mean of mapping(z) over this many z")

    @model_validator(mode="after")
    def _buildable(self) -> "RandomGeneratorParams":
        # the architecture's own rules (power-of-two resolution, usable channel counts), where they are defined
        validate_random_generator(self.config, self.resolution, channel_base=self.channel_base,
                                  channel_max=self.channel_max, z_dim=self.z_dim, w_dim=self.w_dim,
                                  num_layers=self.num_layers, margin_size=self.margin_size)
        return self


class StyleGAN3Params(_Strict):
    """Where the frozen generator comes from: a network file (official pickle or our format) or random init."""

    network: Optional[str] = Field(None, description="path or http(s) URL; null: random init from `random`")
    sha256: Optional[str] = Field(None, pattern=SHA256_PATTERN)
    key: str = Field("G_ema", description="which network of an official pickle")
    random: Optional[RandomGeneratorParams] = None

    @model_validator(mode="after")
    def _one_source(self) -> "StyleGAN3Params":
        if self.network is None and self.random is None:
            raise ValueError("give either 'network' (a path or URL) or a 'random' block")
        if self.network is not None and self.random is not None:
            raise ValueError("give 'network' or 'random', not both")
        return self


class ImageSourceParams(_Strict):
    """Training and held-out images: LHQ-like real images and/or the generator's own samples."""

    kind: Literal["folder", "tar", "synthetic"] = "synthetic"
    path: Optional[str] = Field(None, description="folder of images, or tar shard(s): a path, glob or http(s) URL")
    sha256: Optional[str] = Field(None, pattern=SHA256_PATTERN, description="of a single tar given by URL")
    limit: Optional[int] = Field(None, ge=1, description="use at most this many real images (after sorting)")
    synthetic_images: int = Field(0, ge=0, description="synthetic landscape-like pictures (kind: synthetic)")
    generated_images: int = Field(0, ge=0, description="images sampled from the generator, with known latents")
    generated_psi: float = Field(0.7, gt=0, le=1, description="truncation of the generated images' latents")
    val_fraction: float = Field(0.1, gt=0, lt=1, description="held out, per source, chosen by a seeded shuffle")
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _needs(self) -> "ImageSourceParams":
        if self.kind != "synthetic" and not self.path:
            raise ValueError(f"images.kind '{self.kind}' needs 'path'")
        if self.kind == "synthetic" and self.synthetic_images + self.generated_images == 0:
            raise ValueError("images.kind 'synthetic' needs synthetic_images or generated_images > 0")
        return self


class EncoderParams(_Strict):
    """pSp GradualStyleEncoder: backbone -> feature pyramid -> one map2style head per latent."""

    backbone: Literal["resnet34", "ir_se50"] = Field("resnet34", description="resnet34: ReStyle's choice for "
                                                     "non-face domains; ir_se50: the paper's code (pSp)")
    width: int = Field(64, ge=4, description="channels of the first stage; stages double it (64 = the real nets)")
    blocks: Optional[list[int]] = Field(None, min_length=4, max_length=4,
                                        description="units per stage; null: [3,4,6,3] (resnet34), [3,4,14,3] "
                                                    "(ir_se50)")
    style_channels: Optional[int] = Field(None, ge=4, description="pyramid/head width; null: the generator's w_dim")


class LossParams(_Strict):
    """Loss weights: each row of the paper's Table 3b is a choice of these."""

    l2: float = Field(1.0, ge=0)
    lpips: float = Field(0.8, ge=0)
    clip: float = Field(0.0, ge=0, description="1 - cos(CLIP(input), CLIP(reconstruction))")
    w_norm: float = Field(0.0, ge=0, description="mean Frobenius norm of (w - w_avg)")


class LpipsParams(_Strict):
    net: Literal["alex", "vgg", "squeeze"] = "alex"
    backbone: Optional[str] = Field(None, description="local torchvision state dict of the backbone (offline), "
                                    "'random' for a seeded random backbone (smoke runs), null: download by name")


class InvertLhqParams(_Strict):
    images: ImageSourceParams = Field(default_factory=ImageSourceParams)
    encoder: EncoderParams = Field(default_factory=EncoderParams)
    loss: LossParams = Field(default_factory=LossParams)
    lpips: LpipsParams = Field(default_factory=LpipsParams)
    clip: ClipSpec = Field(default_factory=ClipSpec)
    steps: int = Field(20_000, ge=1)
    batch_size: int = Field(8, ge=1)
    lr: float = Field(1e-4, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    warmup_steps: int = Field(0, ge=0)
    grad_clip: float = Field(1.0, gt=0)
    hflip: bool = Field(True, description="random horizontal flips of training images (as pSp)")
    seed: int = Field(0, ge=0)
    checkpoint_every: int = Field(200, ge=1)
    log_every: int = Field(10, ge=1)
    grid_images: int = Field(8, ge=1, le=64, description="held-out images in the input/reconstruction grid")
    device: str = Field("auto", pattern=DEVICE_PATTERN, description="auto: CUDA when available")
