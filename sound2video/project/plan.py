"""``sound2video plan``: what a profile will fetch, cut and train, and roughly what it costs, before anything runs.

Counts come from the lists themselves (read through the same source readers as the download stage) or, for a list
that is a URL not fetched yet, from the label table's rows per label. Sizes and times are estimates from the rates
measured in BENCHMARKS.md on this project's 2-core machine (named below), scaled by pixels, frames and seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sound2video.core.params_io import label_table_for, read_yaml
from sound2video.core.remote import is_url
from sound2video.data.classes import DEFAULT_CLASSES_CSV, ClassTable
from sound2video.data.download.params import DownloadParams
from sound2video.project.validate import validate_all

# Rates measured in BENCHMARKS.md (2 vCPU machine): the cut stage made 10 s 1280x720 30 fps clips at 0.136 clips/s on
# one worker with ffmpeg using about 1.6 cores; the Python side adds 0.16 s per clip.
CUT_REF_PIXEL_FRAMES = 1280 * 720 * 30 * 10
CUT_REF_CPU_SECONDS = 1.6 / 0.136
CUT_FIXED_CPU_SECONDS = 0.5  # probe, verify, scene detection, ffmpeg start-up
# Sizes (assumptions for real footage, stated in the table): H.264 at crf 23 ~ 0.1 bit per pixel, FLAC ~ 60 % of PCM.
CLIP_VIDEO_BITS_PER_PIXEL = 0.1
FLAC_RATIO = 0.6
JPEG_BYTES_PER_PIXEL = 0.25


# A YouTube download at the profile's minimum height: ~2.5 Mbit/s at 720p, ~0.7 Mbit/s at 360p or less, audio 128k.
def _source_bits_per_second(min_height: int) -> float:
    return (2.5e6 if min_height >= 720 else 1.2e6 if min_height >= 480 else 0.7e6) + 128e3


# Training on CPU, from the demo's audio tower (BENCHMARKS.md: 300 steps of batch 32 at encoder width 16 in 34 s) and
# the StyleGAN3-T 256 forward (about 4 s per image; a training step is ~3 forwards' work).
AUDIO_SECONDS_PER_SAMPLE_W16 = 34.0 / (300 * 32)
STYLEGAN_SECONDS_PER_IMAGE_256 = 4.0


def _expected_rows(table: ClassTable, classes: list[str]) -> dict[str, int] | None:
    counts = {c: table[c].expected for c in classes}
    return None if any(v is None for v in counts.values()) else counts  # type: ignore[return-value]


def _items(params: DownloadParams, table: ClassTable) -> dict[str, Any]:
    """Rows of the source list per class, rejects known before any download, and items to fetch."""
    src = params.source
    if src.path and is_url(src.path) and src.kind != "local_folder":
        counts = _expected_rows(table, params.classes)
        if counts is None:
            return {
                "rows": None,
                "per_class": {},
                "rejected": None,
                "to_fetch": None,
                "counted_from": f"unknown until the download stage fetches {src.path}",
            }
        total = sum(counts.values())
        return {
            "rows": total,
            "per_class": counts,
            "rejected": 0,
            "to_fetch": total,
            "counted_from": "the label table's rows per label (the list itself is fetched by the download stage)",
        }
    from sound2video.data.sources import read_manifest

    manifest = read_manifest(params, table)
    valid = manifest[manifest["reject_reason"].isna()]
    per_class = {c: int((manifest["label"] == c).sum()) for c in params.classes}
    per_class = {c: n for c, n in per_class.items() if n}
    splits = {str(k): int(v) for k, v in manifest["split"].value_counts().sort_index().items()}
    return {
        "rows": int(len(manifest)),
        "per_class": per_class,
        "rejected": int(len(manifest) - len(valid)),
        "to_fetch": int(len(valid)),
        "list_splits": splits,
        "counted_from": src.path or src.kind,
    }


def _clips_per_item(params: DownloadParams, cut: Any) -> tuple[int, float]:
    """(clips at most per item, seconds fetched per item) from the source and cut params."""
    src = params.source
    if src.kind == "synthetic":
        seconds = src.synthetic.duration_seconds  # type: ignore[union-attr]
    elif src.use_ranges and src.kind in ("vggsound_csv", "landscape_list"):
        seconds = src.segment_seconds + src.range_margin_seconds
    elif params.ranges is not None:
        seconds = params.ranges.clips_per_video * (cut.clip_seconds + 2 * params.ranges.margin_seconds)
    else:
        seconds = params.max_duration_seconds or math.nan
    clips = min(cut.clips_per_video, int(seconds // cut.clip_seconds)) if seconds == seconds else cut.clips_per_video
    return clips, seconds


def plan_dataset(data: dict[str, Any], name: str, validated: dict[str, Any], path: str | Path) -> dict[str, Any]:
    params: DownloadParams = validated["download"][name]
    cut = validated["cut"][name]
    shard = validated["shard"][name]
    table = ClassTable.read(label_table_for(data, name, DEFAULT_CLASSES_CSV, path))
    items = _items(params, table)
    clips_per_item, seconds = _clips_per_item(params, cut)
    to_fetch = items["to_fetch"]
    clips = None if to_fetch is None else to_fetch * clips_per_item
    pixel_frames = cut.width * cut.height * cut.fps * cut.clip_seconds
    aac_bytes = int(cut.audio.aac_bitrate[:-1]) * 1000 / 8 * cut.clip_seconds
    clip_video = pixel_frames * CLIP_VIDEO_BITS_PER_PIXEL / 8 + aac_bytes
    clip_flac = cut.audio.sample_rate * cut.audio.channels * 2 * cut.clip_seconds * FLAC_RATIO
    sample = (
        clip_flac
        + (clip_video if shard.include_mp4 else 0)
        + shard.jpg_frames * cut.width * cut.height * JPEG_BYTES_PER_PIXEL
    )
    network = params.source.kind not in ("synthetic", "local_folder")
    raw_per_item = (
        _source_bits_per_second(params.min_height) / 8 * seconds
        if network
        else (cut.width * cut.height * 0.05 / 8 * cut.fps * seconds if params.source.kind == "synthetic" else math.nan)
    )
    cut_cpu = CUT_FIXED_CPU_SECONDS + CUT_REF_CPU_SECONDS * pixel_frames / CUT_REF_PIXEL_FRAMES

    def total(per: float) -> float | None:
        return None if clips is None or per != per else round(per * clips / 1e9, 2)

    return {
        "dataset": name,
        "source": {"kind": params.source.kind, "path": params.source.path, "use_ranges": params.source.use_ranges},
        "label_table": str(label_table_for(data, name, DEFAULT_CLASSES_CSV, path)),
        "classes": len(params.classes),
        "items": items,
        "seconds_fetched_per_item": None if seconds != seconds else round(seconds, 2),
        "clips_per_item": clips_per_item,
        "expected_clips": clips,
        "disk_gb": {
            "raw": None
            if to_fetch is None or raw_per_item != raw_per_item
            else round(raw_per_item * to_fetch / 1e9, 2),
            "clips": total(clip_video + clip_flac),
            "shards": total(sample),
        },
        "cut_cpu_hours": None if clips is None else round(cut_cpu * clips / 3600, 2),
        "splits": "the list's own (train/test), val from its train part"
        if shard.splits_from_source
        else f"by source video {dict(shard.splits)}",
        "needs": {"network": network, "gpu": False},
    }


# One small function per model stage (its params block, the whole validated file) -> its plan entry; registered
# by section name. tests/project/test_plan.py fails naming any stage of dvc.yaml with a project-wide params section
# that has no entry here and is not in NOT_PLANNED.
ModelPlan = Callable[[Any, dict[str, Any]], dict[str, Any]]
MODEL_PLANS: dict[str, ModelPlan] = {}
NOT_PLANNED = {"curate": "sized by the class's own candidate list, not by the profile"}


def plans(section: str) -> Callable[[ModelPlan], ModelPlan]:
    def register(fn: ModelPlan) -> ModelPlan:
        MODEL_PLANS[section] = fn
        return fn

    return register


@plans("train_audio")
def _plan_audio(audio: Any, validated: dict[str, Any]) -> dict[str, Any]:
    per_sample = AUDIO_SECONDS_PER_SAMPLE_W16 * (audio.encoder.width / 16) ** 2
    return {
        "dataset": audio.dataset,
        "steps": audio.steps,
        "batch_size": audio.batch_size,
        "cpu_hours": round(audio.steps * audio.batch_size * per_sample / 3600, 1),
        "needs": {"network": False, "gpu": "recommended"},
        "label_set": audio.label_set,
        "held_out_list": None if audio.held_out_list is None else audio.held_out_list.path,
    }


@plans("stylegan3")
def _plan_stylegan3(sg: Any, validated: dict[str, Any]) -> dict[str, Any]:
    return {
        "steps": 0,
        "cpu_hours": 0.1,
        "needs": {"network": sg.network is not None and is_url(sg.network), "gpu": False},
    }


@plans("train_inversion")
def _plan_inversion(inv: Any, validated: dict[str, Any]) -> dict[str, Any]:
    sg = validated.get("stylegan3")
    res = sg.random.resolution if sg is not None and sg.random is not None else 256
    per_image = STYLEGAN_SECONDS_PER_IMAGE_256 * (res / 256) ** 2 * 3
    return {
        "steps": inv.steps,
        "batch_size": inv.batch_size,
        "cpu_hours": round(inv.steps * inv.batch_size * per_image / 3600, 1),
        "needs": {"network": False, "gpu": "recommended"},
    }


@plans("train_video")
def _plan_video(video: Any, validated: dict[str, Any]) -> dict[str, Any]:
    # no paper-size rate was measured (no GPU here): the plan says so instead of guessing
    return {
        "steps": video.steps,
        "batch_size": video.batch_size,
        "cpu_hours": None,
        "needs": {"network": False, "gpu": "required"},
    }


@plans("evaluate")
def _plan_evaluate(evaluate: Any, validated: dict[str, Any]) -> dict[str, Any]:
    return {"steps": 0, "cpu_hours": None, "needs": {"network": False, "gpu": "required"}}


def plan_models(validated: dict[str, Any]) -> list[dict[str, Any]]:
    """Model stages present in the profile, in registration order, with CPU hours at the benchmark rates."""
    return [
        {"stage": section, **plan(validated[section], validated)}
        for section, plan in MODEL_PLANS.items()
        if validated.get(section) is not None
    ]


def build_plan(path: str | Path) -> dict[str, Any]:
    """The plan of a params file (a profile): per data set, then per model stage."""
    validated = validate_all(path)
    data = read_yaml(path)
    datasets = [plan_dataset(data, name, validated, path) for name in validated["datasets"]]
    models = plan_models(validated)
    return {
        "profile": validated["profile"],
        "params": str(path),
        "datasets": datasets,
        "models": models,
        "rates": "BENCHMARKS.md (2-vCPU machine); sizes assume real footage (H.264 crf 23 ~0.1 bit/pixel)",
    }


def resolve_profile(name_or_path: str, config_dir: str | Path = "configs") -> Path:
    """``paper`` -> configs/paper.yaml; a path is taken as it is."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.is_file():
        return p
    return Path(config_dir) / f"{name_or_path}.yaml"


def _fmt(v: Any) -> str:
    return "?" if v is None else f"{v:,}" if isinstance(v, int) else str(v)


def render_table(plan: dict[str, Any]) -> str:
    lines = [f"Plan for profile {plan['profile']!r} ({plan['params']})", ""]
    head = [
        "data set",
        "source",
        "rows",
        "rejected",
        "to fetch",
        "clips",
        "raw GB",
        "clips GB",
        "shards GB",
        "cut CPU h",
        "network",
    ]
    rows = []
    for d in plan["datasets"]:
        it = d["items"]
        rows.append(
            [
                d["dataset"],
                d["source"]["kind"],
                _fmt(it["rows"]),
                _fmt(it["rejected"]),
                _fmt(it["to_fetch"]),
                _fmt(d["expected_clips"]),
                _fmt(d["disk_gb"]["raw"]),
                _fmt(d["disk_gb"]["clips"]),
                _fmt(d["disk_gb"]["shards"]),
                _fmt(d["cut_cpu_hours"]),
                "yes" if d["needs"]["network"] else "no",
            ]
        )
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, ["-" * w for w in widths], *rows]:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    lines.append("")
    for d in plan["datasets"]:
        it = d["items"]
        lines.append(
            f"{d['dataset']}: {d['classes']} classes from {d['label_table']}; rows counted from "
            f"{it['counted_from']}; splits {d['splits']}"
        )
        if it.get("list_splits"):
            lines.append(f"  the list's splits: {it['list_splits']}")
        per = ", ".join(f"{c} {n}" for c, n in sorted(it["per_class"].items(), key=lambda kv: (-kv[1], kv[0])))
        lines.append(f"  rows per class: {per[:600]}{' …' if len(per) > 600 else ''}")
    lines.append("")
    for m in plan["models"]:
        extra = f", {m['steps']:,} steps x batch {m.get('batch_size', '-')}" if m["steps"] else ""
        hours = (
            "CPU hours not measured at this size"
            if m["cpu_hours"] is None
            else f"~{m['cpu_hours']} CPU hours at this machine's rates"
        )
        lines.append(
            f"{m['stage']}: {hours}{extra}; GPU "
            f"{m['needs']['gpu'] or 'not needed'}; network {'yes' if m['needs']['network'] else 'no'}"
        )
        if m.get("held_out_list"):
            over = "every class of the label table" if m["label_set"] == "table" else "the classes the shards hold"
            lines.append(f"  zero-shot over {over}, evaluated on the held-out list {m['held_out_list']}")
    lines += ["", f"Rates and sizes: {plan['rates']}."]
    return "\n".join(lines) + "\n"
