"""Params of the ``train_audio_clip`` stage (validated by the project's schema)."""

from __future__ import annotations

from typing import Optional

from pydantic import Field

from ..config import DEVICE_PATTERN, _Strict
from .mel import MelParams


class AudioEncoderConfig(_Strict):
    """ResNet-18-style encoder: ``width`` channels in the first stage, doubling per stage; ``blocks`` per stage."""

    width: int = Field(64, ge=4, description="channels of the first stage; stages double it")
    blocks: list[int] = Field(default_factory=lambda: [2, 2, 2, 2], min_length=1, max_length=6)
    embed_dim: int = Field(512, ge=8, description="CLIP embedding size (512 for ViT-B/32)")
    dropout: float = Field(0.0, ge=0, lt=1)


class ClipSpec(_Strict):
    """The frozen CLIP: an open_clip model name plus a pretrained tag or a local checkpoint, or a JSON config for a
    custom (e.g. tiny) architecture, randomly initialised when ``pretrained`` is null."""

    model: str = "ViT-B-32"
    pretrained: Optional[str] = "openai"
    config: Optional[str] = Field(None, description="JSON model config to register with open_clip first")


class SpecAugmentParams(_Strict):
    freq_masks: int = Field(2, ge=0)
    time_masks: int = Field(2, ge=0)
    max_freq: float = Field(0.15, ge=0, le=1)
    max_time: float = Field(0.3, ge=0, le=1)


class TrainAudioClipParams(_Strict):
    dataset: str = Field("vggsound", description="the data set whose shards train the tower")
    mel: MelParams = Field(default_factory=MelParams)
    encoder: AudioEncoderConfig = Field(default_factory=AudioEncoderConfig)
    clip: ClipSpec = Field(default_factory=ClipSpec)
    prompt_templates: list[str] = Field(default_factory=lambda: ["a photo of {}.", "the sound of {}.", "{}"],
                                        min_length=1)
    steps: int = Field(2000, ge=1)
    batch_size: int = Field(64, ge=2)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_steps: int = Field(100, ge=0)
    grad_clip: float = Field(1.0, gt=0)
    seed: int = Field(0, ge=0)
    checkpoint_every: int = Field(100, ge=1)
    log_every: int = Field(10, ge=1)
    text_weight: float = Field(1.0, ge=0, description="weight of the audio<->text InfoNCE")
    image_weight: float = Field(1.0, ge=0, description="weight of the audio<->image InfoNCE")
    augment_weight: float = Field(0.0, ge=0, description="weight of the audio<->augmented-audio InfoNCE")
    specaugment: Optional[SpecAugmentParams] = Field(default_factory=SpecAugmentParams)
    num_workers: int = Field(2, ge=0, le=64, description="DataLoader workers that decode shards")
    device: str = Field("auto", pattern=DEVICE_PATTERN, description="auto: CUDA when available")
