"""Params of the ``train_inversion`` stage: images, encoder, losses, the frozen LPIPS and CLIP, the training run."""

from __future__ import annotations

from typing import ClassVar, Literal, Optional

from pydantic import Field, model_validator

from sound2video.core.frozen_clip import ClipModelSpec
from sound2video.core.params_base import SHA256_PATTERN, StrictParams, TrainingParams
from sound2video.models.configuration_blocks import BackboneParams


class ImageSourceParams(StrictParams):
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
    def _needs(self) -> ImageSourceParams:
        if self.kind != "synthetic" and not self.path:
            raise ValueError(f"images.kind '{self.kind}' needs 'path'")
        if self.kind == "synthetic" and self.synthetic_images + self.generated_images == 0:
            raise ValueError("images.kind 'synthetic' needs synthetic_images or generated_images > 0")
        return self


class EncoderParams(BackboneParams):
    """pSp GradualStyleEncoder: backbone -> feature pyramid -> one map2style head per latent (every field is the
    shared backbone's, ``BackboneParams``)."""


class LossParams(StrictParams):
    """Loss weights: each row of the paper's Table 3b is a choice of these."""

    l2: float = Field(1.0, ge=0)
    lpips: float = Field(0.8, ge=0)
    clip: float = Field(0.0, ge=0, description="1 - cos(CLIP(input), CLIP(reconstruction))")
    w_norm: float = Field(0.0, ge=0, description="mean Frobenius norm of (w - w_avg)")


class LpipsParams(StrictParams):
    net: Literal["alex", "vgg", "squeeze"] = "alex"
    backbone: Optional[str] = Field(
        None,
        description="local torchvision state dict of the backbone (offline), "
        "'random' for a seeded random backbone (smoke runs), null: download by name",
    )


class TrainInversionParams(TrainingParams):
    images: ImageSourceParams = Field(default_factory=ImageSourceParams)
    encoder: EncoderParams = Field(default_factory=EncoderParams)
    loss: LossParams = Field(default_factory=LossParams)
    lpips: LpipsParams = Field(default_factory=LpipsParams)
    clip_model: ClipModelSpec = Field(default_factory=ClipModelSpec)
    hflip: bool = Field(True, description="random horizontal flips of training images (as pSp)")
    grid_images: int = Field(8, ge=1, le=64, description="held-out images in the input/reconstruction grid")
    # defaults of this stage (the fields are TrainingParams')
    steps: int = Field(20_000, ge=1)
    checkpoint_every: int = Field(200, ge=1)

    BOOKKEEPING: ClassVar[frozenset[str]] = TrainingParams.BOOKKEEPING | {"grid_images"}
