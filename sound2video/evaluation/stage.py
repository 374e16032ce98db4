"""The ``evaluate`` stage: for every clip of the evaluated split, a video from its sound per row (``rows.ROWS``: the
trained model, its ablations, the TräumerAI-style baseline, a random walk; the real clip as the reference row), the
metrics per row, ``protocol.json``, per-row metrics files, plots comparing rows, and the HTML report.

Every row is measured the same way: frames at the model's generation fps and resolution (the real clips come from
the same video cache, decoded at that fps and resolution), the same detectors, the same sounds. Generation is
seeded (video k of a row starts from ``seed + k``) and resumable: a row's videos are kept under
``<work>/rows/<row>-<key>.npy``, the key covering the model's weights, the row's params and the clips.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sound2video.core.arrays import cached_array
from sound2video.core.fsutil import sha256_file, write_json_atomic, write_metrics
from sound2video.data.classes import ClassTable
from sound2video.evaluation.loading import EvalModels, Loader, VideoLoader, load_models, load_video_only
from sound2video.evaluation.params import EvaluateParams
from sound2video.evaluation.protocol import build_protocol
from sound2video.evaluation.report import ReportCard, ReportRow, write_report, write_row_mp4s
from sound2video.evaluation.rows import ROWS, Row, RowInputs

if TYPE_CHECKING:
    from sound2video.evaluation.measure import Judges, Sound

log = logging.getLogger(__name__)

PLOT_METRICS = ("fvd", "is_mean", "clip_t2v", "clip_a2v", "av_align", "motion")
# one row of `dvc metrics show` per system; reports/evaluate/rows/<row>.json has everything (IS, CLIP t2v, N,
# undefined AV-Align count, warnings, the offline flag, a skipped row's note)
ROW_HEADLINE = ["fvd", "clip_a2v", "av_align", "motion"]
OFFLINE_NOTE = (
    "Offline profile: random-init generator, tiny random CLIP and/or tiny random I3D/C3D "
    "detectors. These numbers check the pipeline; they say nothing about video quality."
)


@dataclass(frozen=True)
class EvaluatePaths:
    """What the stage reads and writes."""

    shards: Path  # the evaluated data set's shards folder (all splits)
    model: Path  # the train_video stage's model folder
    classes: Path
    metrics: Path  # folder of headline metrics files, <row>.json
    plots: Path  # folder of per-metric CSVs comparing rows
    report: Path  # index.html, videos/, protocol.json, rows/<row>.json (every figure of a row)
    work: Path  # kept between runs: generated rows, extracted sounds, timings


@dataclass(frozen=True)
class Clips:
    """The evaluated clips: their cache rows, keys, classes and per-frame mel windows."""

    rows: np.ndarray
    keys: list[str]
    labels: list[str]
    windows: list[np.ndarray]
    frames: int  # frames per video

    def __len__(self) -> int:
        return len(self.keys)


class Clock:
    """Seconds per phase (summed over repeats), written to ``timings.json``."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t = time.monotonic()
        yield  # a phase that raises is not counted
        self.add(name, time.monotonic() - t)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def write(self, path: Path) -> float:
        self.seconds["total"] = time.monotonic() - self.started
        write_json_atomic(path, {k: round(v, 2) for k, v in self.seconds.items()})
        return self.seconds["total"]


@dataclass
class Table:
    """What the rows leave for the plots and the report, in row order."""

    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # row -> its detail record
    report_rows: list[ReportRow] = field(default_factory=list)
    per_clip: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    videos: dict[str, dict[str, Path]] = field(default_factory=dict)  # row -> clip key -> mp4
    notes_said: set[str] = field(default_factory=set)  # measurement notes already logged (each row records its own)


class RowSkipped(Exception):
    """A row that cannot be generated here (an ablation without its model); the message says how to make it."""


def run(
    params: EvaluateParams,
    paths: EvaluatePaths,
    loader: Loader = load_models,
    video_loader: VideoLoader = load_video_only,
) -> dict[str, Any]:
    """Evaluate every row of ``params.rows``; returns {row: its detail record (a skipped row: its note)}."""
    import torch

    from sound2video.evaluation.sounds import clip_sounds

    clock = Clock()
    if params.threads:
        torch.set_num_threads(params.threads)
    with clock("load_and_cache"):
        models, cache = load_and_cache(params, paths, loader)
    clips = select_clips(cache, params, paths.shards)
    with clock("sounds"):
        sound_files, sounds = clip_sounds(
            paths.shards, clips.keys, clips.labels, paths.work / "audio", models.embed_audio
        )
    with clock("fvd_reference"):
        judges, detectors, reference_clips = build_judges(params, cache, models)
    inputs = RowInputs(models, cache, clips, params, paths.plots, video=models.video)
    base_key = (cache.key, clips.keys, params.seed, models.fingerprint)
    table = Table()
    for name in params.rows:
        row = ROWS[name]
        try:
            with clock(f"generate_{name}"):
                videos = row_videos(row, inputs, base_key, paths.work, video_loader)
        except RowSkipped as skipped:
            record_skipped(row, str(skipped), paths, table)
            continue
        measure_and_write(row, videos, clips, sounds, sound_files, judges, models, paths, clock, table)
    with clock("report"):
        write_plots(paths.plots, table.results)
        notes = [OFFLINE_NOTE] if models.offline or any(d["tiny"] for d in detectors.values()) else []
        protocol = build_protocol(params, clips, reference_clips, models.video, detectors, models.describe, notes)
        write_json_atomic(paths.report / "protocol.json", protocol)
        write_report_page(params, paths, clips, sounds, table, notes)
    total = clock.write(paths.work / "timings.json")
    log.info("evaluate: %d clips, %d rows in %.1f s", len(clips), len(params.rows), total)
    return table.results


def load_and_cache(params: EvaluateParams, paths: EvaluatePaths, loader: Loader) -> tuple[EvalModels, Any]:
    """The models (through ``loader``) and the video cache at their fps, resolution and mel front-end (shared with
    ``train_video`` when the key matches)."""
    from sound2video.models.video.cache import build_cache

    table = ClassTable.read(paths.classes)
    models = loader(paths.model, {c.name: c.prompt for c in table.classes}, params.device)
    video = models.video
    cache = build_cache(
        paths.shards,
        Path(params.cache_root),
        [c.name for c in table.classes],
        video.fps,
        video.resolution,
        video.window_seconds,
        video.mel,
    )
    return models, cache


def select_clips(cache: Any, params: EvaluateParams, shards: Path) -> Clips:
    """The first ``max_clips`` clips of the evaluated split."""
    rows = cache.rows(params.split)[: params.max_clips]
    if len(rows) == 0:
        raise ValueError(f"evaluate: no {params.split}-split clips in {shards}")
    return Clips(
        rows=rows,
        keys=[cache.keys[i] for i in rows],
        labels=[cache.class_names[cache.labels[i]] for i in rows],
        windows=[np.asarray(cache.mels[i], np.float32) for i in rows],
        frames=int(cache.frames.shape[1]),
    )


def build_judges(
    params: EvaluateParams, cache: Any, models: EvalModels
) -> tuple[Judges, dict[str, dict[str, Any]], int]:
    """(the networks and FVD reference statistics every row is measured with, each detector's description, the
    number of reference clips)."""
    from sound2video.evaluation.measure import Judges, feature_stats, load_detector
    from sound2video.metrics.fvd import i3d_features_fn
    from sound2video.metrics.inception import c3d_probs_fn

    i3d, i3d_info = load_detector(params.fvd, "i3d", params.device)
    c3d, c3d_info = load_detector(params.inception, "c3d", params.device)
    ref_rows = cache.rows(params.fvd.reference_split)[: params.fvd.max_reference]
    reference = feature_stats(np.asarray(cache.frames[ref_rows]), i3d_features_fn(i3d, params.device), params.fvd)
    judges = Judges(
        i3d=i3d_features_fn(i3d, params.device),
        c3d=c3d_probs_fn(c3d, params.device),
        clip_frames=models.clip.embed_frames,
        text=models.text,
        reference=reference,
        fps=models.video.fps,
        params=params,
    )
    return judges, {"i3d": i3d_info, "c3d": c3d_info}, int(len(ref_rows))


def _row_key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def row_videos(row: Row, inputs: RowInputs, base_key: tuple[Any, ...], work: Path, video_loader: VideoLoader) -> Any:
    """The row's videos, generated or reused from ``<work>/rows`` (keyed by clips, seed, weights and the row's
    params); an ablation row generates with its own model, or raises RowSkipped when that model is missing."""
    params = inputs.params
    key = (base_key, *row.key(params))
    if row.ablation_mode is not None:
        folder = params.ablation_models.get(row.name, "")
        weights = Path(folder) / "model.safetensors"
        if not folder or not weights.is_file():
            raise RowSkipped(row.skip_note(folder))
        inputs = replace(inputs, video=video_loader(Path(folder), params.device))
        key = (*key, sha256_file(weights))
    if not row.cached:
        return row.generate(inputs)
    path = work / "rows" / f"{row.name}-{_row_key(*key)}.npy"
    side = path.with_suffix("")  # the row's side outputs (e.g. a baseline's training log), kept with its videos
    side.mkdir(parents=True, exist_ok=True)
    videos = cached_array(path, lambda: row.generate(replace(inputs, plots=side)))
    inputs.plots.mkdir(parents=True, exist_ok=True)
    for kept in sorted(side.iterdir()):  # into this run's plots, whether the videos were made now or reused
        shutil.copy2(kept, inputs.plots / kept.name)
    return videos


def record_skipped(row: Row, note: str, paths: EvaluatePaths, table: Table) -> None:
    record = {"row": row.name, "title": row.title, "skipped": True, "note": note}
    table.results[row.name] = record
    table.report_rows.append(ReportRow(row.name, row.title, None, note))
    write_metrics(paths.metrics / f"{row.name}.json", record, ["skipped"], paths.report / "rows" / f"{row.name}.json")
    log.info("evaluate: row %s skipped: %s", row.name, note)


def measure_and_write(
    row: Row,
    videos: np.ndarray,
    clips: Clips,
    sounds: list[Sound],
    sound_files: dict[str, Path],
    judges: Judges,
    models: EvalModels,
    paths: EvaluatePaths,
    clock: Clock,
    table: Table,
) -> None:
    """Every metric of the row, its report videos (with the clips' sounds) and its metrics files."""
    from sound2video.evaluation.measure import measure_row

    summary, per_clip, seconds = measure_row(videos, sounds, judges)
    for metric, s in seconds.items():
        clock.add(f"metric_{metric}", s)
    with clock("write_mp4"):
        mp4s = write_row_mp4s(videos, clips.keys, sound_files, models.video.fps, paths.report / "videos" / row.name)
    record = {"row": row.name, "title": row.title, **summary}
    if models.offline:
        record["offline"] = True
    table.results[row.name] = record
    table.per_clip[row.name] = per_clip
    table.videos[row.name] = mp4s
    table.report_rows.append(ReportRow(row.name, row.title, record))
    write_metrics(paths.metrics / f"{row.name}.json", record, ROW_HEADLINE, paths.report / "rows" / f"{row.name}.json")
    log.info(
        "evaluate: %s: FVD %.2f, IS %.3f, t2v %.4f, a2v %.4f, AV-Align %s, motion %.3f",
        row.name,
        record["fvd"],
        record["is_mean"],
        record["clip_t2v"],
        record["clip_a2v"],
        record["av_align"],
        record["motion"],
    )
    for note in set(record.get("warnings", [])) - table.notes_said:  # e.g. too few clips for FVD's covariance
        log.warning("evaluate: %s (every row's record says so)", note)
        table.notes_said.add(note)


def write_plots(plots_dir: Path, results: dict[str, Any]) -> None:
    """One CSV per metric (columns row, value), for DVC's horizontal bar plots comparing rows."""
    from sound2video.core.fsutil import write_text_atomic

    plots_dir.mkdir(parents=True, exist_ok=True)
    for metric in PLOT_METRICS:
        lines = ["row,value"]
        for row, summary in results.items():
            value = summary.get(metric)
            if value is not None:
                lines.append(f"{row},{value:.6g}")
        write_text_atomic(plots_dir / f"{metric}.csv", "\n".join(lines) + "\n")


def write_report_page(
    params: EvaluateParams, paths: EvaluatePaths, clips: Clips, sounds: list[Sound], table: Table, notes: list[str]
) -> None:
    """``index.html``: the table of rows, then one card per sound with every generated row's video."""
    cards = [
        ReportCard(
            key,
            label,
            sounds[k].seconds,
            {r: f"videos/{r}/{key}.mp4" for r in table.videos},
            {r: table.per_clip[r][k] for r in table.per_clip},
        )
        for k, (key, label) in enumerate(zip(clips.keys, clips.labels))
    ]
    write_report(
        paths.report / "index.html",
        f"sound2video evaluation: {params.dataset} {params.split} split",
        table.report_rows,
        cards,
        notes,
        width=params.report_size,
    )


def main_from_files(params_path: str | Path, paths: EvaluatePaths) -> dict[str, Any]:
    """The stage script's entry: the ``evaluate`` block of ``params_path``, then ``run`` with the real loaders."""
    from sound2video.core.params_io import load_block

    return run(load_block(params_path, "evaluate", EvaluateParams), paths)
