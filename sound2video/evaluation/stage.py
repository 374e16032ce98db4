"""The ``evaluate`` stage: for every clip of the evaluated split, a video from its sound per row (the trained model,
its ablations, the TräumerAI-style baseline, a random walk; the real clip as the reference row), the metrics per
row, ``protocol.json``, per-row metrics files, plots comparing rows, and the HTML report.

Every row is measured the same way: frames at the model's generation fps and resolution (the real clips come from
the same video cache, decoded at that fps and resolution), the same detectors, the same sounds. Generation is
seeded (video k of a row starts from ``seed + k``) and resumable: a row's videos are kept under
``<work>/rows/<row>-<key>.npy``, the key covering the model's weights, the row's params and the clips.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from sound2video.core.fsutil import atomic_path, sha256_file, write_json_atomic, write_metrics, write_text_atomic
from sound2video.data.classes import ClassTable
from sound2video.evaluation.params import ROW_TITLES, EvaluateParams
from sound2video.evaluation.report import ReportCard, ReportRow, write_report
from sound2video.metrics.av_align import AUDIO_SAMPLE_RATE, FARNEBACK, PEAK_THRESHOLD, audio_peaks

log = logging.getLogger(__name__)

PLOT_METRICS = ("fvd", "is_mean", "clip_t2v", "clip_a2v", "av_align", "motion")


@dataclass
class EvalModels:
    """What the stage needs from the trained models (the loader builds it; tests stub it with tiny random ones)."""

    video: Any  # VideoModel: start/frames, fps, window_seconds, mel, resolution
    G: Any  # its frozen StyleGAN3 (mapping, synthesis, z_dim, num_ws, w_dim)
    clip: Any  # embed_frames(uint8) / embed_images([-1, 1] tensor), normalised
    text: dict[str, np.ndarray]  # class -> normalised prompt embedding
    embed_windows: Callable[[np.ndarray], np.ndarray]  # mel windows [n, n_mels, W] -> normalised [n, D]
    embed_audio: Callable[[np.ndarray, int], np.ndarray]  # (mono wave, rate) -> CLIP-space vector of the sound
    fingerprint: str  # changes when any weight changes (resumability key)
    describe: dict[str, Any] = field(default_factory=dict)
    offline: bool = False  # random-init generator / tiny CLIP: the numbers check plumbing


Loader = Callable[[Path, dict[str, str], str], EvalModels]
VideoLoader = Callable[[Path, str], Any]


# one row of `dvc metrics show` per system; reports/evaluate/rows/<row>.json has everything (warnings, N, notes)
ROW_HEADLINE = [
    "fvd",
    "is_mean",
    "is_std",
    "clip_t2v",
    "clip_a2v",
    "av_align",
    "av_align_undefined",
    "motion",
    "videos",
    "offline",
]


def load_models(video_dir: Path, prompts: dict[str, str], device: str = "cpu") -> EvalModels:
    """The trained video model of ``video_dir`` (format ``video``), its audio tower and the tower's CLIP."""
    import torch

    from sound2video import models
    from sound2video.core.frozen_clip import class_text_embeddings, load_clip
    from sound2video.models.contract import read_config
    from sound2video.models.video.modeling_video import resolve_referenced

    video = models.load(video_dir, device=device, expected_format="video")
    config = read_config(video_dir, "video")
    tower_dir = resolve_referenced(config["audio"], Path(video_dir), "audio tower")
    tower = models.load(tower_dir, device=device, expected_format="audio")
    clip = load_clip(tower.clip_spec, device)
    names = sorted(prompts)
    table = class_text_embeddings(clip, [prompts[n] for n in names], tower.templates)

    def embed_windows(windows: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(np.asarray(windows, np.float32)).to(device)
            return torch.nn.functional.normalize(tower.tower.encoder(x), dim=-1).cpu().numpy()

    random_g = bool(
        json.loads((resolve_referenced(config["generator"], Path(video_dir), "generator") / "config.json").read_text())
        .get("source", {})
        .get("random_init")
    )
    return EvalModels(
        video=video,
        G=video.G,
        clip=clip,
        text=dict(zip(names, table)),
        embed_windows=embed_windows,
        embed_audio=tower,
        fingerprint=sha256_file(Path(video_dir) / "model.safetensors"),
        describe={"video": str(video_dir), "audio": str(tower_dir), "clip": tower.clip_spec.model_dump()},
        offline=random_g or tower.clip_spec.pretrained is None,
    )


def load_video_only(path: Path, device: str = "cpu") -> Any:
    """An ablation's video model (format ``video``)."""
    from sound2video import models

    return models.load(path, device=device, expected_format="video")


# ------------------------------------------------------------------------------------------------ sounds ----


def extract_sounds(shards_dir: Path, keys: list[str], out_dir: Path) -> dict[str, Path]:
    """``<out_dir>/<key>.flac`` for each key, copied from the shards' flac members (kept between runs)."""
    import tarfile

    out_dir.mkdir(parents=True, exist_ok=True)
    want = {k for k in keys if not (out_dir / f"{k}.flac").is_file()}
    for shard in sorted(shards_dir.glob("*.tar")):
        if not want:
            break
        with tarfile.open(shard, "r:") as tf:
            for info in tf:
                key, _, ext = info.name.rsplit("/", 1)[-1].partition(".")
                if ext == "flac" and key in want:
                    with atomic_path(out_dir / f"{key}.flac", suffix=".tmp.flac") as tmp:
                        tmp.write_bytes(tf.extractfile(info).read())  # type: ignore[union-attr]
                    want.discard(key)
    if want:
        raise FileNotFoundError(f"{shards_dir}: no flac member for clips {sorted(want)[:3]}")
    return {k: out_dir / f"{k}.flac" for k in keys}


def read_sound(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples at the file's own rate (what librosa.load reads before resampling)."""
    import soundfile as sf

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return data.mean(axis=1).astype(np.float32), int(sr)


# -------------------------------------------------------------------------------------------- generation ----


def _row_key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def cached_videos(path: Path, make: Callable[[], np.ndarray]) -> np.ndarray:
    """``path`` if it exists (a row generated before with the same key), else ``make()`` saved atomically."""
    if path.is_file():
        log.info("evaluate: reusing %s", path)
        return np.load(path)
    for old in path.parent.glob(path.name.rsplit("-", 1)[0] + "-*.npy"):
        old.unlink()  # the same row made from other inputs: stale
    videos = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".tmp.npy") as tmp:
        np.save(tmp, videos)
    return videos


def model_videos(video: Any, windows: list[np.ndarray], seed: int, zero_audio: bool = False) -> np.ndarray:
    out = []
    for k, w in enumerate(windows):
        frames, _ = video.frames(video.start(seed + k), np.zeros_like(w) if zero_audio else w)
        out.append(np.asarray(frames))
    return np.stack(out)


def write_row_mp4s(
    videos: np.ndarray, keys: list[str], sounds: dict[str, Path], fps: float, out_dir: Path
) -> dict[str, Path]:
    """One H.264 + AAC mp4 per clip (the clip's sound muxed), at the generation resolution."""
    from sound2video.models.video.writer import VideoWriter

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for frames, key in zip(videos, keys):
        path = out_dir / f"{key}.mp4"
        with VideoWriter(path, fps, frames.shape[2], frames.shape[1], audio_path=sounds[key]) as writer:
            writer.write(frames)
        paths[key] = path
    return paths


# ------------------------------------------------------------------------------------------------- stage ----


def run(
    params: EvaluateParams,
    shards_dir: Path,
    video_dir: Path,
    classes_csv: Path,
    metrics_dir: Path,
    plots_dir: Path,
    report_dir: Path,
    work_dir: Path,
    loader: Loader = load_models,
    video_loader: VideoLoader = load_video_only,
) -> dict[str, Any]:
    """Evaluate every row of ``params.rows``; returns {row: summary or {"skipped": reason}}."""
    import torch

    from sound2video.evaluation.baselines import random_walk, train_traumerai, traumerai_video
    from sound2video.evaluation.measure import Judges, Sound, feature_stats, load_detector, measure_row
    from sound2video.models.video.cache import build_cache

    started = time.monotonic()
    timings: dict[str, float] = {}
    if params.threads:
        torch.set_num_threads(params.threads)
    table = ClassTable.read(classes_csv)
    t = time.monotonic()
    models = loader(Path(video_dir), {c.name: c.prompt for c in table.classes}, params.device)
    video = models.video
    cache = build_cache(
        Path(shards_dir),
        Path(params.cache_root),
        [c.name for c in table.classes],
        video.fps,
        video.resolution,
        video.window_seconds,
        video.mel,
    )
    timings["load_and_cache"] = time.monotonic() - t
    rows = cache.rows(params.split)[: params.max_clips]
    if len(rows) == 0:
        raise ValueError(f"evaluate: no {params.split}-split clips in {shards_dir}")
    keys = [cache.keys[i] for i in rows]
    labels = [cache.class_names[cache.labels[i]] for i in rows]
    windows = [np.asarray(cache.mels[i], np.float32) for i in rows]
    n_frames = int(cache.frames.shape[1])

    t = time.monotonic()
    sound_files = extract_sounds(Path(shards_dir), keys, work_dir / "audio")
    sounds = []
    for key, label in zip(keys, labels):
        wave, sr = read_sound(sound_files[key])
        sounds.append(
            Sound(
                key,
                label,
                len(wave) / sr,
                audio_peaks(wave, sr),
                np.asarray(models.embed_audio(wave, sr), np.float64).ravel(),
            )
        )
    timings["sounds"] = time.monotonic() - t

    t = time.monotonic()
    i3d, i3d_info = load_detector(params.fvd, "i3d", params.device)
    c3d, c3d_info = load_detector(params.inception, "c3d", params.device)
    from sound2video.metrics.fvd import i3d_features_fn
    from sound2video.metrics.inception import c3d_probs_fn

    ref_rows = cache.rows(params.fvd.reference_split)[: params.fvd.max_reference]
    reference = feature_stats(np.asarray(cache.frames[ref_rows]), i3d_features_fn(i3d, params.device), params.fvd)
    timings["fvd_reference"] = time.monotonic() - t
    judges = Judges(
        i3d=i3d_features_fn(i3d, params.device),
        c3d=c3d_probs_fn(c3d, params.device),
        clip_frames=models.clip.embed_frames,
        text=models.text,
        reference=reference,
        fps=video.fps,
        params=params,
    )

    base_key = (cache.key, keys, params.seed, models.fingerprint)
    results: dict[str, Any] = {}
    report_rows: list[ReportRow] = []
    per_clip_by_row: dict[str, list[dict[str, Any]]] = {}
    video_paths: dict[str, dict[str, Path]] = {}
    traumerai_history: list[dict[str, float]] = []
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for row in params.rows:
        t = time.monotonic()
        path = work_dir / "rows"
        videos: Optional[np.ndarray] = None
        if row == "real":
            videos = np.asarray(cache.frames[rows])
        elif row in ("model", "zero_audio"):
            videos = cached_videos(
                path / f"{row}-{_row_key(base_key)}.npy",
                lambda row=row: model_videos(video, windows, params.seed, zero_audio=row == "zero_audio"),
            )
        elif row in ("no_sound", "first_step"):
            folder = Path(params.ablation_models.get(row, ""))
            if not params.ablation_models.get(row) or not (folder / "model.safetensors").is_file():
                note = (
                    f"no model at {folder or '(no path)'}: train it with `dvc exp run -S "
                    f"train_video.recurrent.audio_mode={'none' if row == 'no_sound' else 'first_step'}` and copy "
                    f"its models/video to {folder}"
                )
                results[row] = {"skipped": note}
                report_rows.append(ReportRow(row, ROW_TITLES[row], None, note))
                write_metrics(
                    metrics_dir / f"{row}.json", results[row], ["skipped"], report_dir / "rows" / f"{row}.json"
                )
                log.info("evaluate: row %s skipped: %s", row, note)
                continue
            ablation = video_loader(folder, params.device)
            videos = cached_videos(
                path / f"{row}-{_row_key(base_key, sha256_file(folder / 'model.safetensors'))}.npy",
                lambda ablation=ablation: model_videos(ablation, windows, params.seed),
            )
        elif row == "traumerai":

            def make() -> np.ndarray:
                nonlocal traumerai_history
                train_rows = cache.rows("train")
                if len(train_rows) == 0:
                    raise ValueError("evaluate: the TräumerAI baseline needs train-split clips")
                mels = np.asarray(cache.mels[train_rows], np.float32)
                emb = models.embed_windows(mels.reshape(-1, *mels.shape[2:]))
                text = np.stack(
                    [models.text[cache.class_names[cache.labels[i]]] for i in train_rows for _ in range(mels.shape[1])]
                )
                net, traumerai_history = train_traumerai(models.G, models.clip, emb, text, params.traumerai)
                return np.stack([traumerai_video(net, models.G, models.embed_windows, w) for w in windows])

            videos = cached_videos(path / f"{row}-{_row_key(base_key, params.traumerai.model_dump())}.npy", make)
        elif row == "random_walk":
            videos = cached_videos(
                path / f"{row}-{_row_key(base_key, params.random_walk.model_dump())}.npy",
                lambda: np.stack(
                    [random_walk(models.G, n_frames, params.seed + k, params.random_walk) for k in range(len(rows))]
                ),
            )
        assert videos is not None
        timings[f"generate_{row}"] = time.monotonic() - t
        summary, per_clip, seconds = measure_row(videos, sounds, judges)
        for name, s in seconds.items():
            timings[f"metric_{name}"] = timings.get(f"metric_{name}", 0.0) + s
        t = time.monotonic()
        video_paths[row] = write_row_mp4s(videos, keys, sound_files, video.fps, report_dir / "videos" / row)
        timings["write_mp4"] = timings.get("write_mp4", 0.0) + time.monotonic() - t
        summary = {"row": row, "title": ROW_TITLES[row], **summary}
        if models.offline:
            summary["offline"] = True
        results[row] = summary
        per_clip_by_row[row] = per_clip
        report_rows.append(ReportRow(row, ROW_TITLES[row], summary))
        write_metrics(metrics_dir / f"{row}.json", summary, ROW_HEADLINE, report_dir / "rows" / f"{row}.json")
        log.info(
            "evaluate: %s: FVD %.2f, IS %.3f, t2v %.4f, a2v %.4f, AV-Align %s, motion %.3f",
            row,
            summary["fvd"],
            summary["is_mean"],
            summary["clip_t2v"],
            summary["clip_a2v"],
            summary["av_align"],
            summary["motion"],
        )

    t = time.monotonic()
    write_plots(plots_dir, results)
    if traumerai_history:
        lines = ["step,loss,clip_av,clip_at,latent_reg"] + [
            f"{h['step']},{h['loss']:.6f},{h['clip_av']:.6f},{h['clip_at']:.6f},{h['latent_reg']:.6f}"
            for h in traumerai_history
        ]
        write_text_atomic(plots_dir / "traumerai_train.csv", "\n".join(lines) + "\n")
    notes = []
    if models.offline or i3d_info["tiny"] or c3d_info["tiny"]:
        notes.append(
            "Offline profile: random-init generator, tiny random CLIP and/or tiny random I3D/C3D "
            "detectors. These numbers check the pipeline; they say nothing about video quality."
        )
    protocol = build_protocol(params, cache, keys, ref_rows, n_frames, video, i3d_info, c3d_info, models, notes)
    report_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(report_dir / "protocol.json", protocol)
    cards = []
    for k, (key, label) in enumerate(zip(keys, labels)):
        cards.append(
            ReportCard(
                key,
                label,
                sounds[k].seconds,
                {r: f"videos/{r}/{key}.mp4" for r in video_paths},
                {r: per_clip_by_row[r][k] for r in per_clip_by_row},
            )
        )
    write_report(
        report_dir / "index.html",
        f"sound2video evaluation: {params.dataset} {params.split} split",
        report_rows,
        cards,
        notes,
        width=params.report_size,
    )
    timings["report"] = time.monotonic() - t
    timings["total"] = time.monotonic() - started
    write_json_atomic(work_dir / "timings.json", {k: round(v, 2) for k, v in timings.items()})
    log.info("evaluate: %d clips, %d rows in %.1f s", len(keys), len(params.rows), timings["total"])
    return results


def write_plots(plots_dir: Path, results: dict[str, Any]) -> None:
    """One CSV per metric (columns row, value), for DVC's horizontal bar plots comparing rows."""
    plots_dir.mkdir(parents=True, exist_ok=True)
    for metric in PLOT_METRICS:
        lines = ["row,value"]
        for row, summary in results.items():
            value = summary.get(metric)
            if value is not None:
                lines.append(f"{row},{value:.6g}")
        write_text_atomic(plots_dir / f"{metric}.csv", "\n".join(lines) + "\n")


def build_protocol(
    params: EvaluateParams,
    cache: Any,
    keys: list[str],
    ref_rows: np.ndarray,
    n_frames: int,
    video: Any,
    i3d_info: dict[str, Any],
    c3d_info: dict[str, Any],
    models: EvalModels,
    notes: list[str],
) -> dict[str, Any]:
    """Everything that moves these numbers, stated (``video.md`` section 3: protocols make FVD differ 10x)."""
    fvd, inc = params.fvd, params.inception
    return {
        "dataset": params.dataset,
        "split": params.split,
        "clips": len(keys),
        "keys": keys,
        "videos": {
            "frames": n_frames,
            "fps": video.fps,
            "resolution": video.resolution,
            "seconds": n_frames / video.fps,
            "seed": f"video k starts from seed {params.seed} + k",
            "real": "the clips' frames resampled to the generation fps, centre-cropped, Lanczos-resized "
            "(the training cache's decoding)",
        },
        "fvd": {
            "reference_split": fvd.reference_split,
            "reference_clips": int(len(ref_rows)),
            "generated_clips": len(keys),
            "frames": fvd.frames,
            "stride": fvd.stride,
            "clip": "first frames of each video",
            "detector": i3d_info,
            "input": "uint8 RGB [B, 3, T, H, W]; the detector resizes to 224 and rescales to [-1, 1]",
            "covariance": "population (ddof 0), float64",
            "sqrtm": "scipy.linalg.sqrtm, real part",
        },
        "is": {
            "unit": "clip (C3D, UCF-101 classes)",
            "frames": inc.frames,
            "stride": inc.stride,
            "splits": f"min({inc.splits}, clips)",
            "shuffle_seed": inc.shuffle_seed,
            "detector": c3d_info,
        },
        "clip": {
            "model": models.describe.get("clip"),
            "video_embedding": "mean of the L2-normalised embeddings of all frames",
            "text": "class prompt, prompt templates of the audio tower averaged",
            "audio": "the audio tower's embedding of the whole clip sound",
            "similarity": "cosine, unscaled",
        },
        "av_align": {
            "reference": "av_align.py of guyyariv/TempoTokens, step by step",
            "audio": f"clip sound at its own rate resampled to {AUDIO_SAMPLE_RATE} Hz (librosa), "
            "onset_strength + onset_detect defaults",
            "video": f"Farneback {FARNEBACK} on the generation frames; peaks: strict local maxima >= "
            f"{PEAK_THRESHOLD} at i / fps",
            "match": "greedy, strictly within 1 / fps",
            "undefined": "no peak on either side: left out of the mean, counted in av_align_undefined",
        },
        "motion": "mean Farneback flow magnitude between consecutive frames, in pixels at the generation "
        "resolution (a frozen video scores 0)",
        "rows": {r: ROW_TITLES[r] for r in params.rows},
        "traumerai": params.traumerai.model_dump(),
        "random_walk": params.random_walk.model_dump(),
        "models": models.describe,
        "notes": notes,
    }


def main(
    params_path: str,
    shards_dir: str,
    video_dir: str,
    classes_csv: str,
    metrics_dir: str,
    plots_dir: str,
    report_dir: str,
    work_dir: str,
) -> dict[str, Any]:
    from sound2video.core.params_io import load_block

    params = load_block(params_path, "evaluate", EvaluateParams)
    return run(
        params,
        Path(shards_dir),
        Path(video_dir),
        Path(classes_csv),
        Path(metrics_dir),
        Path(plots_dir),
        Path(report_dir),
        Path(work_dir),
    )
