"""Typed schema for ``params.yaml``. Each stage validates and reads only its own section.

Errors name the key and what was expected, e.g. ``params.yaml: cut.fps: must be greater than 0 (got -5)``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from .classes import DEFAULT_CLASSES_CSV, ClassTable


class ParamsError(ValueError):
    """Invalid params: the message names the key and what was expected."""


class _Strict(BaseModel):
    """Base of every params block: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


DEVICE_PATTERN = r"^(auto|cpu|cuda(:\d+)?)$"   # a stage's torch device; auto = CUDA when available
SHA256_PATTERN = r"^[0-9a-f]{64}$"


# ----------------------------------------------------------------------------------------------- download ----


class ColumnMap(_Strict):
    """Which columns of a CSV manifest hold what (the authors' DATASET.csv has unverified columns)."""

    url: str = Field("url", description="column with a URL or a bare YouTube id")
    label: str = Field("class", description="column with the class label")
    start: Optional[str] = Field(None, description="optional column with the start time in seconds")
    end: Optional[str] = Field(None, description="optional column with the end time in seconds")


class SyntheticParams(_Strict):
    seed: int = Field(0, ge=0)
    videos_per_class: int = Field(4, ge=1, le=10_000)
    duration_seconds: float = Field(16.0, gt=0, le=3600)
    resolutions: list[tuple[int, int]] = Field(
        default_factory=lambda: [(1920, 1080), (1280, 720)], min_length=1,
        description="(width, height) cycled over each class's videos",
    )
    fps: int = Field(15, ge=1, le=120)
    sample_rate: int = Field(44100, ge=8000, le=192000)
    crf: int = Field(20, ge=0, le=51)

    @field_validator("resolutions")
    @classmethod
    def _even_sizes(cls, v: list[tuple[int, int]]) -> list[tuple[int, int]]:
        for w, h in v:
            if w < 16 or h < 16 or w % 2 or h % 2:
                raise ValueError(f"each resolution must be even and at least 16x16, got {w}x{h}")
        return v


class SourceParams(_Strict):
    kind: Literal["synthetic", "authors_csv", "vggsound_csv", "landscape_list", "local_folder"]
    path: Optional[str] = Field(None, description="path or http(s) URL of the manifest, or the folder (local_folder)")
    sha256: Optional[str] = Field(None, pattern=SHA256_PATTERN)
    columns: ColumnMap = Field(default_factory=ColumnMap)
    synthetic: Optional[SyntheticParams] = None
    use_ranges: bool = Field(False, description="download only each item's [start, end] segment")
    segment_seconds: float = Field(10.0, gt=0, description="segment length when a manifest gives only a start")
    range_margin_seconds: float = Field(
        0.0, ge=0, le=30, description="extra seconds fetched after each range, so that a segment whose cut lands on a "
        "keyframe still holds a whole clip")
    limit: Optional[int] = Field(None, ge=1, description="take at most this many items (after sorting)")
    class_map: dict[str, str] = Field(
        default_factory=dict, description="the list's label -> our class name, applied before the class table's "
        "own names and aliases (e.g. {explosion: volcano_eruption, thunder: thunderstorm})")

    @model_validator(mode="after")
    def _kind_needs(self) -> "SourceParams":
        if self.kind == "synthetic" and self.synthetic is None:
            raise ValueError("source.kind 'synthetic' needs a 'synthetic' block")
        if self.kind != "synthetic" and not self.path:
            raise ValueError(f"source.kind '{self.kind}' needs 'path' (a file path or URL)")
        return self


class RangePlanParams(_Strict):
    """Fetch only the clip windows of whole videos: the duration comes from the metadata first, the windows are
    planned as the cut stage plans clips, and only those ranges (plus a margin, keyframes forced at the cuts) are
    downloaded; the cut stage then cuts one clip from the middle of each window."""

    clip_seconds: float = Field(10.0, gt=0, le=600, description="as cut.<ds>.clip_seconds")
    clips_per_video: int = Field(10, ge=1, description="as cut.<ds>.clips_per_video")
    placement: Literal["spread", "consecutive"] = Field("spread", description="as cut.<ds>.placement")
    margin_seconds: float = Field(1.0, ge=0, le=30, description="extra seconds fetched on each side of a window")


_RATE = re.compile(r"^\d+(\.\d+)?[KMG]?$")


class DownloadParams(_Strict):
    classes: list[str] = Field(min_length=1, description="class names from the data set's class table, or 'all'")
    source: SourceParams
    format: str = "bv*[height>=?720][vcodec^=?avc1]+ba[ext=?m4a]/bv*[height>=?720]+ba/b[height>=?720]"
    format_sort: list[str] = Field(default_factory=lambda: ["res:720", "vcodec:h264", "acodec:aac"])
    min_height: int = Field(720, ge=1, description="short side a downloaded video must reach, else 'rejected'")
    retries: int = Field(10, ge=0)
    fragment_retries: int = Field(10, ge=0)
    extractor_retries: int = Field(3, ge=0)
    socket_timeout: float = Field(30.0, gt=0)
    sleep_requests: float = Field(0.0, ge=0)
    sleep_interval: float = Field(0.0, ge=0)
    max_sleep_interval: float = Field(0.0, ge=0)
    rate_limit: Optional[str] = Field(None, description="bytes per second, e.g. '5M'")
    workers: int = Field(4, ge=1, le=256)
    max_attempts: int = Field(5, ge=1, description="transient failures are retried on reruns up to this many attempts")
    min_success_ratio: float = Field(0.5, ge=0, le=1)
    ranges: Optional[RangePlanParams] = Field(
        None, description="whole-video items (no start in the list): fetch only the planned clip windows")
    max_duration_seconds: Optional[float] = Field(
        None, gt=0, description="items whose metadata says they are longer are rejected before any download")
    max_bytes: Optional[int] = Field(
        None, ge=1, description="items whose metadata says they are larger are rejected; also yt-dlp's max_filesize")

    @field_validator("classes", mode="before")
    @classmethod
    def _all_classes(cls, v: Any, info: ValidationInfo) -> Any:
        """``classes: all`` selects every class of the data set's class table (e.g. VGG-Sound's 309 labels)."""
        if v != "all":
            return v
        known = (info.context or {}).get("known_classes")
        if known is None:
            raise ValueError("'all' needs the class table: validate through sound2video.config (load_section)")
        return list(known)

    @field_validator("classes")
    @classmethod
    def _known_classes(cls, v: list[str], info: ValidationInfo) -> list[str]:
        known = (info.context or {}).get("known_classes")
        if known is not None:
            unknown = [c for c in v if c not in known]
            if unknown:
                raise ValueError(f"unknown class(es) {unknown}; expected names from data/classes.csv: {sorted(known)}")
        if len(set(v)) != len(v):
            raise ValueError("classes must not repeat")
        return v

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not _RATE.match(v):
            raise ValueError(f"rate_limit must look like '500K', '5M' or '1.5G', got {v!r}")
        return v

    @model_validator(mode="after")
    def _sleeps(self) -> "DownloadParams":
        if self.max_sleep_interval and self.max_sleep_interval < self.sleep_interval:
            raise ValueError("max_sleep_interval must be 0 or at least sleep_interval")
        return self


# ---------------------------------------------------------------------------------------------------- cut ----


class VideoCodecParams(_Strict):
    crf: int = Field(23, ge=0, le=51)
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"] = (
        "veryfast"
    )
    threads: int = Field(1, ge=1, le=64, description="x264 threads; fixed so output bytes do not depend on the machine")


class AudioParams(_Strict):
    sample_rate: int = Field(44100, ge=8000, le=192000)
    channels: Literal[1, 2] = 2
    aac_bitrate: str = Field("192k", pattern=r"^\d+k$")


class SceneParams(_Strict):
    detector: Literal["content", "adaptive"] = "content"
    threshold: float = Field(27.0, gt=0)
    min_scene_len_seconds: float = Field(0.6, ge=0)
    policy: Literal["flag", "drop"] = "flag"


class CutParams(_Strict):
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
        0.05, ge=0, description="clips whose mean frame-to-frame change (PySceneDetect content_val) is below this are rejected"
    )
    workers: int = Field(2, ge=1, le=256)

    @model_validator(mode="after")
    def _whole_counts(self) -> "CutParams":
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


# -------------------------------------------------------------------------------------------------- shard ----


class ShardParams(_Strict):
    splits: dict[Literal["train", "val", "test"], float] = Field(
        default_factory=lambda: {"train": 0.8, "val": 0.1, "test": 0.1}
    )
    split_seed: int = Field(0, ge=0)
    splits_from_source: bool = Field(
        False, description="keep each item's split from its source list (train/test; 'val' is drawn from the list's "
        "train part by `splits`' train:val ratio); items without one are split by source video as usual")
    max_samples_per_shard: int = Field(1000, ge=1)
    max_bytes_per_shard: int = Field(1_000_000_000, ge=1_000_000)
    include_mp4: bool = Field(True, description="write the clip's mp4 into each sample")
    jpg_frames: int = Field(0, ge=0, le=64, description="K frames, evenly spaced, as frame0.jpg .. frame{K-1}.jpg")
    jpg_qscale: int = Field(3, ge=2, le=31, description="ffmpeg JPEG quality scale (2 best, 31 worst)")

    @model_validator(mode="after")
    def _some_picture(self) -> "ShardParams":
        if not self.include_mp4 and self.jpg_frames == 0:
            raise ValueError("a sample needs pictures: set include_mp4 or jpg_frames > 0")
        return self

    @field_validator("splits")
    @classmethod
    def _ratios(cls, v: dict[str, float]) -> dict[str, float]:
        if any(r < 0 for r in v.values()):
            raise ValueError(f"split ratios must be non-negative, got {v}")
        if abs(sum(v.values()) - 1.0) > 1e-6:
            raise ValueError(f"split ratios must sum to 1, got {sum(v.values())}")
        if v.get("train", 0) <= 0:
            raise ValueError("the train split must have a positive ratio")
        return v


# ------------------------------------------------------------------------------------------------ loading ----
#
# Layout: ``datasets: [landscape, vggsound]`` lists the data sets the pipeline builds; each stage section holds one
# block per data set (``download.landscape``, ``cut.vggsound``, ...), and a stage reads only its own block.

SECTIONS: dict[str, type[BaseModel]] = {"download": DownloadParams, "cut": CutParams, "shard": ShardParams}
TOP_LEVEL = {"profile", "datasets", "label_tables"}


def _single_sections() -> dict[str, type[BaseModel]]:
    """Sections with one block for the whole project (model stages), not one per data set."""
    from .audio.config import TrainAudioClipParams
    from .inversion.config import InvertLhqParams, StyleGAN3Params

    return {"train_audio_clip": TrainAudioClipParams, "stylegan3": StyleGAN3Params, "invert_lhq": InvertLhqParams}
_DATASET_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file {path} not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of sections at the top level")
    return data


def _format_errors(path: Path, prefix: str, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in (prefix, *e["loc"]))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check spelling; see the params reference in README.md)"
        elif "input" in e and e["type"] != "missing" and not isinstance(e["input"], dict):
            msg = f"{msg} (got {e['input']!r})"
        lines.append(f"{path}: {loc}: {msg}")
    return "\n".join(lines)


def datasets_of(data: dict[str, Any], path: str | Path = "params.yaml") -> list[str]:
    """The ``datasets`` list: non-empty, unique, lower-case names usable in paths."""
    names = data.get("datasets")
    if not isinstance(names, list) or not names:
        raise ParamsError(f"{path}: datasets: expected a non-empty list of data set names, got {names!r}")
    bad = [n for n in names if not isinstance(n, str) or not _DATASET_NAME.match(n)]
    if bad or len(set(names)) != len(names):
        raise ParamsError(f"{path}: datasets: names must be unique and match [a-z][a-z0-9_]*, got {names!r}")
    return names


def label_table_for(data: dict[str, Any], dataset: str, default: str | Path = DEFAULT_CLASSES_CSV,
                    path: str | Path = "params.yaml") -> Path:
    """The class table of ``dataset``: ``label_tables.<dataset>`` when given, else ``default`` (data/classes.csv)."""
    tables = data.get("label_tables") or {}
    if not isinstance(tables, dict) or not all(isinstance(v, str) and v for v in tables.values()):
        raise ParamsError(f"{path}: label_tables: expected a mapping of data set name -> class table path, "
                          f"got {tables!r}")
    return Path(tables.get(dataset, default))


def validate_section(data: dict[str, Any], section: str, dataset: str, path: str | Path = "params.yaml",
                     classes_csv: str | Path = DEFAULT_CLASSES_CSV) -> Any:
    """Validate the ``section.dataset`` block of already-loaded params; raises ParamsError naming the key."""
    path = Path(path)
    if section not in SECTIONS:
        raise ParamsError(f"unknown section {section!r}; expected one of {sorted(SECTIONS)}")
    block = data.get(section)
    if not isinstance(block, dict):
        raise ParamsError(f"{path}: section '{section}' is missing (expected one block per data set)")
    if dataset not in block:
        raise ParamsError(f"{path}: {section}.{dataset} is missing; {section} has {sorted(block)}")
    context: dict[str, Any] = {}
    if section == "download":
        context["known_classes"] = ClassTable.read(label_table_for(data, dataset, classes_csv, path)).names
    try:
        return SECTIONS[section].model_validate(block[dataset], context=context)
    except ValidationError as e:
        raise ParamsError(_format_errors(path, f"{section}.{dataset}", e)) from None


def load_section(path: str | Path, section: str, dataset: str,
                 classes_csv: str | Path = DEFAULT_CLASSES_CSV) -> Any:
    """Read ``path`` and return the validated model of one stage's block for one data set."""
    return validate_section(read_yaml(path), section, dataset, path, classes_csv)


def validate_all(path: str | Path, classes_csv: str | Path = DEFAULT_CLASSES_CSV) -> dict[str, Any]:
    """Validate a whole params file: every section's block for every listed data set, and nothing unknown."""
    data = read_yaml(path)
    single = _single_sections()
    unknown = sorted(set(data) - set(SECTIONS) - set(single) - TOP_LEVEL)
    if unknown:
        raise ParamsError(f"{path}: unknown top-level key(s) {unknown}; "
                          f"expected {sorted(set(SECTIONS) | set(single) | TOP_LEVEL)}")
    names = datasets_of(data, path)
    errors: list[str] = []
    extra_tables = sorted(set(data.get("label_tables") or {}) - set(names))
    if extra_tables:
        errors.append(f"{path}: label_tables: {extra_tables} are not in datasets {names}")
    out: dict[str, Any] = {section: {} for section in SECTIONS}
    for section in SECTIONS:
        extra = sorted(set(data.get(section) or {}) - set(names))
        if extra:
            errors.append(f"{path}: {section}: blocks {extra} are not in datasets {names}")
        for name in names:
            try:
                out[section][name] = validate_section(data, section, name, path, classes_csv)
            except ParamsError as e:
                errors.append(str(e))
    for section in sorted(single):
        if section in data:
            try:
                out[section] = load_single(path, section, data)
            except ParamsError as e:
                errors.append(str(e))
    if errors:
        raise ParamsError("\n".join(errors))
    out["profile"] = str(data.get("profile", "custom"))
    out["datasets"] = names
    return out


def load_single(path: str | Path, section: str, data: dict[str, Any] | None = None) -> Any:
    """Validate a project-wide section (e.g. ``train_audio_clip``); raises ParamsError naming the key."""
    path = Path(path)
    data = read_yaml(path) if data is None else data
    models = _single_sections()
    if section not in models:
        raise ParamsError(f"unknown section {section!r}; expected one of {sorted(models)}")
    if section not in data:
        raise ParamsError(f"{path}: section '{section}' is missing")
    try:
        return models[section].model_validate(data[section])
    except ValidationError as e:
        raise ParamsError(_format_errors(path, section, e)) from None
