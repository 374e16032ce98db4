"""Run the download stage: read the source's manifest, fetch every item once through the ledgered work queue,
validate it, and keep a ledger row per item."""

from __future__ import annotations

import json
import logging
import re
import shutil
import socket
import time
from collections import Counter
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from sound2video.core.fsutil import inside, sha256_file, write_json_atomic
from sound2video.core.params_io import label_table_for, load_block, read_yaml
from sound2video.core.remote import resolve
from sound2video.data.classes import ClassTable
from sound2video.data.download.params import DownloadParams
from sound2video.data.executor import open_executor
from sound2video.data.ledger import LEDGER_NAME, SOURCE_NAME, Ledger
from sound2video.data.sources import read_manifest
from sound2video.data.sources.registry import source_for
from sound2video.data.sources.ytdlp import WINDOWS_NAME, classify_error
from sound2video.data.work_queue import Executor, run_queue, thread_executor
from sound2video.media.probe import ProbeError, probe
from sound2video.media.runner import require_ffmpeg

log = logging.getLogger(__name__)

PARTIAL_DIR = ".partial"
CURATION_CARD_NAME = "card.json"  # beside a curated list: where its clips came from and how they were chosen
RUN_LOG_NAME = "download_log.jsonl"  # beside the output folder, untracked: timings and host, one line per fetch
LEDGER_COLUMNS = [
    "id",
    "url",
    "class",
    "source_kind",
    "start",
    "end",
    "split",
    "status",
    "reason",
    "attempts",
    "path",
    "sha256",
    "bytes",
    "width",
    "height",
    "fps",
    "duration",
    "vcodec",
    "acodec",
    "sample_rate",
    "channels",
    "recipe",
    "windows",
]


class DownloadStageError(RuntimeError):
    """Too few items succeeded; the message summarises failures by reason."""


def _needs_work(prev: dict[str, Any] | None, out_dir: Path, max_attempts: int, current_recipe: str) -> bool:
    if prev is None or (prev["recipe"] or "") != current_recipe:
        return True
    if prev["status"] == "ok":
        path = out_dir / str(prev["path"])
        return not (path.is_file() and path.stat().st_size == prev["bytes"])
    if prev["status"] == "transient":
        return int(prev["attempts"] or 0) < max_attempts
    return False


def fetch_item(item: dict[str, Any], params: DownloadParams, out_dir: Path) -> dict[str, Any]:
    """Fetch one item into ``out_dir/<id>.mp4`` and return its ledger fields (never raises for item errors)."""
    final = out_dir / f"{item['id']}.mp4"
    work = out_dir / PARTIAL_DIR / item["id"]
    inside(out_dir, final)
    inside(out_dir, work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    row: dict[str, Any] = {"status": "ok", "reason": None}
    try:
        media = source_for(item["source_kind"]).fetch(item, params, work)
        # the fetched file is a working copy (``media.mp4``): a reason names the item's URL or path instead
        info = probe(media, name=str(item["url"]))
        if not info.has_video:
            return {"status": "rejected", "reason": "no video stream"}
        w, h = info.display_size or (0, 0)
        if min(w, h) < params.min_height:
            return {"status": "rejected", "reason": f"resolution {w}x{h} below the minimum {params.min_height}p"}
        row.update(info.as_ledger_fields())
        row.update(sha256=sha256_file(media), bytes=media.stat().st_size, path=final.name)
        windows = work / WINDOWS_NAME  # only the planned clip windows were fetched (download.ranges)
        row["windows"] = windows.read_text(encoding="utf-8") if windows.is_file() else None
        media.replace(final)  # complete and probed: only now does it get its final name
        return row
    except ProbeError as e:
        return {"status": "rejected", "reason": f"downloaded file is unreadable: {e}"}
    except Exception as e:  # noqa: BLE001 - any item failure becomes a ledger row, never a crashed stage
        status, reason = classify_error(e)
        return {"status": status, "reason": reason}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def source_record(params: DownloadParams, manifest: pd.DataFrame) -> dict[str, Any]:
    """What the items came from: the source kind, its path as given in params, the list's sha256 and row count."""
    src = params.source
    record: dict[str, Any] = {
        "kind": src.kind,
        "path": src.path,
        "sha256": None,
        "rows": int(len(manifest)),
        "selected_classes": len(params.classes),
    }
    if src.kind not in ("synthetic", "local_folder") and src.path:
        record["sha256"] = sha256_file(resolve(src.path, src.sha256))
    if src.extra_lists:  # published curated classes; their curation card (beside the list) goes into the data card
        record["extra_lists"] = [_extra_record(Path(p)) for p in src.extra_lists]
    return record


def _extra_record(path: Path) -> dict[str, Any]:
    card = path.parent / CURATION_CARD_NAME
    return {
        "path": path.as_posix(),
        "sha256": sha256_file(path),
        "curation": json.loads(card.read_text(encoding="utf-8")) if card.is_file() else None,
    }


class RunLog:
    """Timings and host-specific facts of a run, appended to a JSON-lines file outside the DVC-tracked folder, so
    that the ledger holds only what every machine computes alike."""

    def __init__(self, path: Path | None):
        self.path = path
        self.host = socket.gethostname()

    def write(self, **fields: Any) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "host": self.host, **fields}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line, sort_keys=True, default=str) + "\n")


def _timed_fetch(item: dict[str, Any], params: DownloadParams, out_dir: Path) -> dict[str, Any]:
    started = time.monotonic()
    row = fetch_item(item, params, out_dir)
    return row | {"_seconds": round(time.monotonic() - started, 3)}


def run(
    params: DownloadParams,
    classes: ClassTable,
    out_dir: str | Path,
    log_path: str | Path | None = None,
    executor: Executor = thread_executor,
) -> pd.DataFrame:
    """Download every item of the configured source into ``out_dir`` on ``executor``; returns the ledger.
    ``log_path`` (optional, outside ``out_dir``) receives per-item timings."""
    require_ffmpeg()
    out_dir = Path(out_dir).absolute()  # workers in other processes need not share the driver's working directory
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out_dir / PARTIAL_DIR, ignore_errors=True)  # leftovers of a killed run are never trusted
    manifest = read_manifest(params, classes)
    if params.source.limit:
        manifest = manifest.head(params.source.limit)
    if manifest.empty:
        raise DownloadStageError(f"the {params.source.kind} source gave no items for classes {params.classes}")
    ledger = Ledger(out_dir / LEDGER_NAME, LEDGER_COLUMNS)
    current = source_for(params.source.kind).recipe(params)
    write_json_atomic(out_dir / SOURCE_NAME, source_record(params, manifest))
    run_log = RunLog(Path(log_path) if log_path else None)

    def base(item: dict[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in ("id", "url", "source_kind", "start", "end", "split")} | {
            "class": item["label"],
            "recipe": current,
        }

    def rows(item: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
        prev = ledger.get(item["id"])
        attempts = int(prev["attempts"] or 0) + 1 if prev else 1
        run_log.write(
            id=item["id"],
            status=result["status"],
            seconds=result.get("_seconds"),
            attempt=attempts,
            bytes=result.get("bytes"),
        )
        return [base(item) | {"attempts": attempts} | {k: v for k, v in result.items() if not k.startswith("_")}]

    items = []
    for item in manifest.to_dict("records"):
        if isinstance(item["reject_reason"], str):  # NaN/None mean valid
            ledger.record(base(item) | {"status": "rejected", "reason": item["reject_reason"], "attempts": 0})
        else:
            items.append(item)
    started = time.monotonic()
    run_queue(
        items,
        partial(_timed_fetch, params=params, out_dir=out_dir),
        ledger,
        workers=params.workers,
        rows=rows,
        done=lambda item: not _needs_work(ledger.get(item["id"]), out_dir, params.max_attempts, current),
        desc="download",
        unit="video",
        executor=executor,
    )
    keep = {(i,) for i in manifest["id"]}
    _prune_orphans(out_dir, ledger, keep)
    df = ledger.finalise(keep)
    shutil.rmtree(out_dir / PARTIAL_DIR, ignore_errors=True)
    seconds = time.monotonic() - started
    run_log.write(
        event="run", seconds=round(seconds, 3), items=int(len(df)), statuses=dict(sorted(Counter(df["status"]).items()))
    )
    _report(df, params.min_success_ratio, seconds)
    return df


def _prune_orphans(out_dir: Path, ledger: Ledger, keep: set[tuple]) -> None:
    """Remove media files that no current ledger row owns, so the output is a function of params and inputs."""
    owned = {r["path"] for r in ledger.rows() if (r["id"],) in keep and r["status"] == "ok"}
    for f in sorted(out_dir.glob("*.mp4")):
        if f.name not in owned:
            log.warning("download: removing %s (not in the current manifest or not ok)", f.name)
            f.unlink()


def reason_group(reason: object) -> str:
    """A failure reason without the item-specific part ('[generic] abc: ...' -> '[generic] ...'), for summaries."""
    return re.sub(r"\[(\w+)\] [^:]+: ", r"[\1] ", str(reason))


def _report(df: pd.DataFrame, min_ratio: float, seconds: float) -> None:
    counts = Counter(df["status"])
    ratio = counts.get("ok", 0) / max(len(df), 1)
    log.info("download: %s in %.1f s; success ratio %.3f", dict(sorted(counts.items())), seconds, ratio)
    failed = df[df["status"] != "ok"]
    by_reason = Counter(f"{s}: {reason_group(r)}" for s, r in zip(failed["status"], failed["reason"]))
    for reason, n in by_reason.most_common(10):
        log.info("  %5d x %s", n, reason)
    if ratio < min_ratio:
        lines = "\n".join(f"  {n} x {r}" for r, n in by_reason.most_common(10))
        raise DownloadStageError(
            f"only {counts.get('ok', 0)} of {len(df)} items succeeded (ratio {ratio:.3f} < min_success_ratio "
            f"{min_ratio}); the ledger is kept and a rerun retries transient failures. Failures by reason:\n{lines}"
        )


def main(params_path: str, classes_csv: str, dataset: str, out_dir: str) -> None:
    """Stage entry: validate the ``download.<dataset>`` block, then run."""
    table = ClassTable.read(label_table_for(read_yaml(params_path), dataset, classes_csv, params_path))
    params = load_block(params_path, "download", DownloadParams, dataset, context={"known_classes": table.names})
    with open_executor(params_path) as executor:
        run(params, table, out_dir, Path(out_dir).parent / RUN_LOG_NAME, executor)
