"""Params of the ``cut`` stage (``cut.<dataset>``): clip length, size, codecs, scene and quality checks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sound2video.core.params_base import StrictParams


class VideoCodecParams(StrictParams):
    crf: int = Field(23, ge=0, le=51)
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"] = (
        "veryfast"
    )
    threads: int = Field(1, ge=1, le=64, description="x264 threads; fixed so output bytes do not depend on the machine")


class AudioParams(StrictParams):
    sample_rate: int = Field(44100, ge=8000, le=192000)
    channels: Literal[1, 2] = 2
    aac_bitrate: str = Field("192k", pattern=r"^\d+k$")


class SceneParams(StrictParams):
    detector: Literal["content", "adaptive"] = "content"
    threshold: float = Field(27.0, gt=0)
    min_scene_len_seconds: float = Field(0.6, ge=0)
    policy: Literal["flag", "drop"] = "flag"


class CutParams(StrictParams):
    clip_seconds: float = Field(10.0, gt=0, le=600)
    clips_per_video: int = Field(10, ge=1)
    width: int = Field(1280, ge=16)
    height: int = Field(720, ge=16)
    fps: int = Field(30, ge=1, le=240)
    allow_upscale: bool = False
    placement: Literal["spread", "consecutive"] = Field(
        "spread", description="spread: clips evenly over the video; consecutive: back to back from the start"
    )
    video: VideoCodecParams = Field(default_factory=VideoCodecParams)
    audio: AudioParams = Field(default_factory=AudioParams)
    scene: SceneParams = Field(default_factory=SceneParams)
    audio_pad_max_seconds: float = Field(
        0.25, ge=0, le=5, description="audio that ends this much before the video is padded with silence, not rejected"
    )
    silence_rms_dbfs: float = Field(-60.0, le=0, description="clips whose audio RMS is below this are rejected")
    freeze_max_change: float = Field(
        0.05,
        ge=0,
        description="clips whose mean frame-to-frame change (PySceneDetect content_val) is below this are rejected",
    )
    workers: int = Field(2, ge=1, le=256)

    @model_validator(mode="after")
    def _whole_counts(self) -> CutParams:
        if self.width % 2 or self.height % 2:
            raise ValueError(f"width and height must be even for H.264, got {self.width}x{self.height}")
        frames = self.clip_seconds * self.fps
        if abs(frames - round(frames)) > 1e-9:
            raise ValueError(f"clip_seconds x fps must be a whole number of frames, got {frames}")
        samples = self.clip_seconds * self.audio.sample_rate
        if abs(samples - round(samples)) > 1e-6:
            raise ValueError(f"clip_seconds x audio.sample_rate must be a whole number of samples, got {samples}")
        return self

    @property
    def frames_per_clip(self) -> int:
        return round(self.clip_seconds * self.fps)

    @property
    def samples_per_clip(self) -> int:
        return round(self.clip_seconds * self.audio.sample_rate)
