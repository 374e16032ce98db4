"""Params of the ``train_audio`` stage: the log-mel front-end, the encoder, the frozen CLIP, the training run."""

from __future__ import annotations

from typing import ClassVar, Literal, Optional

from pydantic import Field, model_validator

from sound2video.core.frozen_clip import ClipModelSpec
from sound2video.core.params_base import SHA256_PATTERN, StrictParams, TrainingParams


class MelParams(StrictParams):
    """The log-mel front-end; travels with every saved model, so inference computes the training features."""

    sample_rate: int = Field(16000, ge=8000, le=96000)
    clip_seconds: float = Field(10.0, gt=0, le=60, description="audio is padded or cut to this length")
    n_fft: int = Field(1024, ge=64, le=16384)
    hop_length: int = Field(320, ge=16)
    n_mels: int = Field(64, ge=8, le=512)
    fmin: float = Field(50.0, ge=0)
    fmax: float = Field(8000.0, gt=0)
    top_db: float = Field(80.0, gt=0, description="dynamic range kept below the loudest bin")

    @model_validator(mode="after")
    def _bands(self) -> MelParams:
        if self.fmax > self.sample_rate / 2:
            raise ValueError(f"fmax {self.fmax} is above the Nyquist frequency {self.sample_rate / 2}")
        if self.fmin >= self.fmax:
            raise ValueError(f"fmin {self.fmin} must be below fmax {self.fmax}")
        if self.hop_length > self.n_fft:
            raise ValueError(f"hop_length {self.hop_length} must not exceed n_fft {self.n_fft}")
        return self

    @property
    def num_samples(self) -> int:
        return int(round(self.clip_seconds * self.sample_rate))

    @property
    def num_frames(self) -> int:
        return 1 + self.num_samples // self.hop_length


class AudioEncoderConfig(StrictParams):
    """ResNet-18-style encoder: ``width`` channels in the first stage, doubling per stage; ``blocks`` per stage."""

    width: int = Field(64, ge=4, description="channels of the first stage; stages double it")
    blocks: list[int] = Field(default_factory=lambda: [2, 2, 2, 2], min_length=1, max_length=6)
    embed_dim: int = Field(512, ge=8, description="CLIP embedding size (512 for ViT-B/32)")
    dropout: float = Field(0.0, ge=0, lt=1)


class SpecAugmentParams(StrictParams):
    freq_masks: int = Field(2, ge=0)
    time_masks: int = Field(2, ge=0)
    max_freq: float = Field(0.15, ge=0, le=1)
    max_time: float = Field(0.3, ge=0, le=1)


class HeldOutListParams(StrictParams):
    """A fixed evaluation list in VGG-Sound's format (its official test split: ``<id>_<start>.mp4,label`` rows)."""

    path: str = Field(..., min_length=1, description="a path or URL of the list")
    sha256: Optional[str] = Field(None, pattern=SHA256_PATTERN, description="checked when given")


class TrainAudioParams(TrainingParams):
    dataset: str = Field("vggsound", description="the data set whose shards train the tower")
    label_set: Literal["table", "present"] = Field(
        "table",
        description="the classes of the text matrix (training negatives and zero-shot candidates): every row of the "
        "data set's label table (label_tables.<dataset>, e.g. all 309 VGG-Sound labels), or only the classes the "
        "shards hold",
    )
    held_out_list: Optional[HeldOutListParams] = Field(
        None,
        description="evaluate only on the clips of this list (VGG-Sound's official test split); its coverage is "
        "recorded, and a list that overlaps the training clips is refused",
    )
    mel: MelParams = Field(default_factory=MelParams)
    encoder: AudioEncoderConfig = Field(default_factory=AudioEncoderConfig)
    clip_model: ClipModelSpec = Field(default_factory=ClipModelSpec)
    prompt_templates: list[str] = Field(
        default_factory=lambda: ["a photo of {}.", "the sound of {}.", "{}"], min_length=1
    )
    text_weight: float = Field(1.0, ge=0, description="weight of the audio<->text InfoNCE")
    image_weight: float = Field(1.0, ge=0, description="weight of the audio<->image InfoNCE")
    augment_weight: float = Field(0.0, ge=0, description="weight of the audio<->augmented-audio InfoNCE")
    specaugment: Optional[SpecAugmentParams] = Field(default_factory=SpecAugmentParams)
    num_workers: int = Field(2, ge=0, le=64, description="DataLoader workers that decode shards")
    # defaults of this stage (the fields are TrainingParams')
    steps: int = Field(2000, ge=1)
    batch_size: int = Field(64, ge=2, description="at least 2: InfoNCE needs negatives")
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_steps: int = Field(100, ge=0)

    BOOKKEEPING: ClassVar[frozenset[str]] = TrainingParams.BOOKKEEPING | {"num_workers"}
