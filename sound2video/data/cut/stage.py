"""Run the cut stage over every downloaded video: plan each video, then cut its clips, in parallel, resumable per
video (through the ledgered work queue)."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import pandas as pd

from sound2video.core.fsutil import inside, sha256_file
from sound2video.core.params_io import load_block
from sound2video.data.cut.checks import motion, scene_cuts, verify_outputs
from sound2video.data.cut.params import CutParams
from sound2video.data.cut.plan import Unclippable, plan_clips
from sound2video.data.cut.transcode import TranscodeError, transcode
from sound2video.data.executor import open_executor
from sound2video.data.ledger import LEDGER_NAME, Ledger, read_ledger_file
from sound2video.data.work_queue import Executor, run_queue, thread_executor
from sound2video.media.probe import ProbeError, probe, remux_continuous
from sound2video.media.runner import ffmpeg_version, require_ffmpeg
from sound2video.media.windows import decode_windows

log = logging.getLogger(__name__)

REMUX_DIR = ".remux"  # stream copies of transport streams, alive while their clips are cut
LEDGER_COLUMNS = [
    "video_id",
    "clip_index",
    "key",
    "class",
    "source_url",
    "source_kind",
    "status",
    "reason",
    "start",
    "end",
    "mp4",
    "flac",
    "mp4_sha256",
    "flac_sha256",
    "mp4_bytes",
    "flac_bytes",
    "width",
    "height",
    "fps",
    "frames",
    "sample_rate",
    "audio_samples",
    "channels",
    "scene_cut",
    "scene_cuts",
    "motion",
    "rms_dbfs",
    "fingerprint",
    "planned",
]


@lru_cache(maxsize=1)
def code_version() -> str:
    """Hash of the code that cuts clips (this package and the media helpers), like DVC's code deps."""
    h = hashlib.sha256()
    from sound2video import media

    for folder in (Path(__file__).parent, Path(media.__file__).parent):
        for f in sorted(folder.glob("*.py")):
            h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


def fingerprint(params: CutParams, source_sha256: str) -> str:
    """Identifies everything that determines a video's clips: params, source bytes, ffmpeg build, cut code."""
    fields = dict(
        params=params.model_dump(mode="json"), source=source_sha256, ffmpeg=ffmpeg_version(), code=code_version()
    )
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PlanTask:
    """One source video to plan: its download ledger row, its old clip rows, and its current fingerprint."""

    video: dict[str, Any]
    old_rows: list[dict[str, Any]]
    fingerprint: str


def plan_video(
    task: PlanTask, raw_dir: Path, out_dir: Path, params: CutParams
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The plan worker: probe and plan one source video; returns (clip jobs, ledger rows for a rejected source).

    Stale clips of the video (made with other params or code) are deleted first.
    """
    video, fp = task.video, task.fingerprint
    for r in task.old_rows:
        if r["status"] == "ok":
            for col in ("mp4", "flac"):
                (out_dir / r[col]).unlink(missing_ok=True)
    src = raw_dir / video["path"]
    inside(raw_dir, src)
    remuxed = out_dir / REMUX_DIR / f"{video['id']}.mkv"
    inside(out_dir, remuxed)
    base = {
        "video_id": video["id"],
        "class": video["class"],
        "source_url": video["url"],
        "source_kind": video["source_kind"],
        "fingerprint": fp,
    }
    reject = base | {"clip_index": -1, "key": video["id"], "status": "rejected", "planned": 0}
    name = str(video["path"])  # errors name the raw video as the download ledger does, also for its remuxed copy
    try:
        info = probe(src, name=name)
        if info.discontinuous_timestamps:  # plan and cut from a copy with mended timestamps (see remux_continuous)
            src = remux_continuous(src, remuxed, name=name)
            info = probe(src, name=name)
        spans = plan_clips(info, params, decode_windows(video.get("windows")))
    except ProbeError as e:
        return [], [reject | {"reason": f"unreadable: {e}"}]
    except Unclippable as e:
        return [], [reject | {"reason": f"{e.reason}: {e.detail}"}]
    class_dir = out_dir / str(video["class"])
    inside(out_dir, class_dir)
    class_dir.mkdir(parents=True, exist_ok=True)
    jobs = [
        base
        | {
            "clip_index": sp.index,
            "key": f"{video['id']}_{sp.index:03d}",
            "start": sp.start,
            "end": sp.end,
            "planned": len(spans),
            "_src": src,
            "_name": name,
            "_dir": class_dir,
        }
        for sp in spans
    ]
    return jobs, []


def cut_clip(job: dict[str, Any], out_dir: Path, params: CutParams) -> dict[str, Any]:
    """The cut worker: cut one planned clip; returns its ledger row."""
    row = {k: v for k, v in job.items() if not k.startswith("_")}
    return row | _cut_one(job["_src"], job["_name"], job["start"], job["_dir"], job["key"], out_dir, params)


def _cut_one(
    src: Path, name: str, start: float, class_dir: Path, key: str, out_dir: Path, params: CutParams
) -> dict[str, Any]:
    mp4, flac = class_dir / f"{key}.mp4", class_dir / f"{key}.flac"
    tmp_mp4, tmp_flac = class_dir / f".{key}.tmp.mp4", class_dir / f".{key}.tmp.flac"
    try:
        result = transcode(src, start, tmp_mp4, tmp_flac, params, name=name)
        check = verify_outputs(tmp_mp4, tmp_flac, params, name=mp4.name)
        cuts = scene_cuts(result.frames, params.fps, params.scene)
        move = motion(result.frames)
        fields: dict[str, Any] = {
            "width": check.width,
            "height": check.height,
            "fps": params.fps,
            "frames": check.frames,
            "sample_rate": params.audio.sample_rate,
            "audio_samples": check.audio_samples,
            "channels": params.audio.channels,
            "scene_cut": bool(cuts),
            "scene_cuts": len(cuts),
            "motion": round(move, 4),
            "rms_dbfs": round(check.rms_dbfs, 2) if check.rms_dbfs > -1e9 else -999.0,
        }
        reason = None
        if check.problems:
            reason = "bad_output: " + "; ".join(check.problems)
        elif check.rms_dbfs < params.silence_rms_dbfs:
            reason = f"silent_audio: RMS {check.rms_dbfs:.1f} dBFS below {params.silence_rms_dbfs:g}"
        elif move < params.freeze_max_change:
            reason = f"frozen_picture: mean frame change {move:.3f} below {params.freeze_max_change:g}"
        elif cuts and params.scene.policy == "drop":
            reason = f"scene_cut: cut at frame(s) {cuts}"
        if reason:
            return fields | {"status": "rejected", "reason": reason}
        tmp_mp4.replace(mp4)
        tmp_flac.replace(flac)
        return fields | {
            "status": "ok",
            "reason": None,
            "mp4": str(mp4.relative_to(out_dir)),
            "flac": str(flac.relative_to(out_dir)),
            "mp4_sha256": sha256_file(mp4),
            "flac_sha256": sha256_file(flac),
            "mp4_bytes": mp4.stat().st_size,
            "flac_bytes": flac.stat().st_size,
        }
    except (TranscodeError, ProbeError) as e:
        return {"status": "rejected", "reason": f"transcode_failed: {e}"}
    except Exception as e:  # noqa: BLE001 - one bad clip is recorded, never the end of the batch
        log.exception("cutting clip %s failed unexpectedly", key)
        return {"status": "rejected", "reason": f"internal_error: {type(e).__name__}: {e}"}
    finally:
        for p in (tmp_mp4, tmp_flac):
            p.unlink(missing_ok=True)


def _video_done(rows_by_video: dict[str, list[dict]], video_id: str, fp: str, out_dir: Path) -> bool:
    rows = rows_by_video.get(video_id, [])
    if not rows or any(r["fingerprint"] != fp or str(r["reason"]).startswith("internal_error") for r in rows):
        return False
    if rows[0]["clip_index"] != -1 and len(rows) != rows[0]["planned"]:
        return False  # interrupted half-way through this video
    return all(
        r["status"] != "ok" or ((out_dir / r["mp4"]).is_file() and (out_dir / r["flac"]).is_file()) for r in rows
    )


def run(
    params: CutParams,
    downloads: pd.DataFrame,
    raw_dir: str | Path,
    out_dir: str | Path,
    executor: Executor = thread_executor,
) -> pd.DataFrame:
    """Cut every ``ok`` row of the download ledger into clips on ``executor``; returns the clips ledger."""
    require_ffmpeg()
    # absolute: workers on other processes/machines need not share the driver's working directory
    raw_dir, out_dir = Path(raw_dir).absolute(), Path(out_dir).absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out_dir / REMUX_DIR, ignore_errors=True)  # a killed run's leftovers
    ledger = Ledger(out_dir / LEDGER_NAME, LEDGER_COLUMNS, key_columns=("video_id", "clip_index"))
    videos = downloads[downloads["status"] == "ok"].sort_values("id").to_dict("records")
    rows_by_video: dict[str, list[dict]] = {}
    for r in ledger.rows():
        rows_by_video.setdefault(r["video_id"], []).append(r)
    fps_ = {v["id"]: fingerprint(params, v["sha256"]) for v in videos}
    tasks = [PlanTask(v, rows_by_video.get(v["id"], []), fps_[v["id"]]) for v in videos]
    _require_sources(
        [t.video for t in tasks if not _video_done(rows_by_video, t.video["id"], t.fingerprint, out_dir)], raw_dir
    )
    started = time.monotonic()
    # Two queues: plan every video (rejected sources get their row here), then cut clip by clip, so that workers
    # stay busy whatever the clips-per-video count.
    planned = run_queue(
        tasks,
        partial(plan_video, raw_dir=raw_dir, out_dir=out_dir, params=params),
        ledger,
        workers=params.workers,
        rows=lambda task, plan: plan[1],
        done=lambda task: _video_done(rows_by_video, task.video["id"], task.fingerprint, out_dir),
        desc="cut: plan",
        unit="video",
        executor=executor,
    )
    jobs = [job for _, (video_jobs, _) in planned.results for job in video_jobs]
    try:
        run_queue(
            jobs,
            partial(cut_clip, out_dir=out_dir, params=params),
            ledger,
            workers=params.workers,
            desc="cut",
            unit="clip",
            executor=executor,
        )
    finally:
        shutil.rmtree(out_dir / REMUX_DIR, ignore_errors=True)
    keep = {
        (r["video_id"], r["clip_index"])
        for r in ledger.rows()
        if r["video_id"] in fps_ and r["fingerprint"] == fps_[r["video_id"]]
    }
    _prune(out_dir, ledger, keep)
    df = ledger.finalise(keep)
    counts = Counter(df["status"])
    log.info("cut: %s in %.1f s", dict(sorted(counts.items())), time.monotonic() - started)
    reasons = Counter(str(r).split(":")[0] for r in df.loc[df["status"] != "ok", "reason"]).most_common()
    for reason, n in reasons:
        log.info("  %5d x %s", n, reason)
    if videos and not counts.get("ok"):
        raise RuntimeError(
            f"cut: no clip succeeded ({', '.join(f'{n} x {r}' for r, n in reasons)}); see {out_dir / LEDGER_NAME}"
        )
    return df


class MissingSourcesError(FileNotFoundError):
    """Videos the download ledger lists as ok are absent from the raw working folder (e.g. a clone that pulled
    only the ledgers and shards)."""


def _require_sources(videos: list[dict[str, Any]], raw_dir: Path) -> None:
    """Fail before any work if a video still to cut is missing from ``raw_dir`` or has another size than its
    ledger row says: the raw videos are a working folder that DVC never pushes."""
    missing = []
    for v in videos:
        path = raw_dir / str(v["path"])
        inside(raw_dir, path)
        size = v.get("bytes")
        if not path.is_file() or (size is not None and size == size and path.stat().st_size != size):  # NaN: unknown
            missing.append(str(v["path"]))
    if missing:
        raise MissingSourcesError(
            f"cut needs {len(missing)} raw video(s) that are not in {raw_dir} (e.g. {', '.join(missing[:3])}): the "
            "raw videos are a working folder that DVC does not share, only their ledger. Fetch them again with "
            f"`dvc repro -f -s download@{raw_dir.parent.name}` (it keeps the ledger and fetches only missing files), "
            "or pull the shards instead of rebuilding (`dvc pull --with-deps shard@<dataset>`)."
        )


def _prune(out_dir: Path, ledger: Ledger, keep: set[tuple]) -> None:
    owned = {
        r[c]
        for r in ledger.rows()
        if (r["video_id"], r["clip_index"]) in keep and r["status"] == "ok"
        for c in ("mp4", "flac")
    }
    for f in sorted(out_dir.rglob("*")):
        if f.is_file() and f.suffix in (".mp4", ".flac") and str(f.relative_to(out_dir)) not in owned:
            f.unlink()
    for d in sorted((p for p in out_dir.iterdir() if p.is_dir()), reverse=True):
        if not any(d.iterdir()):
            shutil.rmtree(d)


def main(params_path: str, dataset: str, raw_dir: str, out_dir: str) -> None:
    """Stage entry: validate the ``cut.<dataset>`` block, read the download ledger, then run."""
    params = load_block(params_path, "cut", CutParams, dataset)
    with open_executor(params_path) as executor:
        run(params, read_ledger_file(Path(raw_dir) / LEDGER_NAME, "download"), raw_dir, out_dir, executor)
