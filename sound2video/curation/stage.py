"""The ``curate`` stage: candidates through the data sets' own download and cut (same ledgers, same quality
checks), automatic scores per clip into a ledger, the automatic decisions, and on the demo the ranking's quality
against the synthetic ground truth (``metrics/curation.json``)."""

from __future__ import annotations

import csv
import logging
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from sound2video.core.fsutil import write_metrics, write_parquet_atomic
from sound2video.core.params_io import load_block
from sound2video.curation.candidates import demo_pool, folder, write_candidates
from sound2video.curation.params import CurateParams
from sound2video.curation.scores import (
    SCORE_TERMS,
    Embedder,
    average_precision,
    centred,
    combined,
    decide,
    precision_recall,
    score_terms,
)
from sound2video.data.classes import ClassTable
from sound2video.data.cut.stage import run as cut_run
from sound2video.data.download.params import DownloadParams
from sound2video.data.download.stage import run as download_run
from sound2video.data.sources.params import SourceParams

log = logging.getLogger(__name__)

SCORES_NAME = "scores.parquet"  # in work/: the scores ledger, one row per candidate
REPORT_NAME = "report.json"  # every figure of the last run (the metrics file keeps the headline numbers)
HEADLINE = ["average_precision"]  # `dvc metrics show` is one wide table; report.json has the decisions' figures


def _rows(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def prepare(params: CurateParams, work: Path) -> tuple[Path, set[str]]:
    """One list to fetch (``work/fetch.csv``: the candidates and the known-good exemplars) and the exemplars' ids.
    The demo writes its pool (``work/demo_pool.csv``, with the ground truth) and exemplars first; real runs read
    ``candidates`` and ``exemplars`` (e.g. a first review's accepts) from params."""
    if params.demo_pool is None:
        candidates = _rows(params.candidates)  # type: ignore[arg-type]
        exemplars = [r for lst in params.exemplars for r in _rows(lst)]
    else:
        candidates, exemplars = demo_pool(params.name, params.demo_pool)
        write_candidates(work / "demo_pool.csv", candidates)
    ids = {r["id"] for r in candidates}
    exemplars = [r | {"id": f"exemplar_{r['id']}" if r["id"] in ids else r["id"]} for r in exemplars]
    write_candidates(work / "fetch.csv", candidates + exemplars)
    return work / "fetch.csv", {r["id"] for r in exemplars}


def fetch_and_cut(params: CurateParams, fetch_list: Path, work: Path) -> pd.DataFrame:
    """Every candidate and exemplar through the download and cut stages' code; returns the clips ledger."""
    synthetic = params.demo_pool.synthetic if params.demo_pool else None
    dl = DownloadParams(
        classes=[params.name],
        source=SourceParams(kind="curated_list", path=str(fetch_list), synthetic=synthetic),
        min_height=min(params.cut.height, 144),
        workers=params.workers,
        min_success_ratio=0.0,  # failures are candidates' verdicts here, not a broken stage
    )
    downloads = download_run(dl, ClassTable.read(), work / "raw")
    return cut_run(params.cut, downloads, work / "raw", work / "clips")


def score_clips(
    params: CurateParams, clips: pd.DataFrame, clips_dir: Path, embedder: Any, exemplar_ids: set[str]
) -> pd.DataFrame:
    """One row per candidate video (exemplars excluded): its first clip's quality verdict, score terms, combined
    score, automatic decision and rank."""
    prompt = embedder.prompt()
    first = clips.sort_values(["video_id", "clip_index"]).groupby("video_id", sort=True).head(1)
    rows = first.to_dict("records")
    raw = {r["video_id"]: embedder.clip_row(r, clips_dir) for r in rows if r["status"] == "ok"}
    centre = centred(raw)
    exemplars = [e for vid, e in sorted(centre.items()) if vid in exemplar_ids]
    out = []
    for r in rows:
        if r["video_id"] in exemplar_ids:
            continue
        rec: dict[str, Any] = {"id": r["video_id"], "clip": r["key"], "mp4": r["mp4"], "flac": r["flac"]}
        rec["quality"] = "ok" if r["status"] == "ok" else str(r["reason"])
        if r["video_id"] in raw:
            own = score_terms(raw[r["video_id"]], prompt, [])  # prompt and audio-visual terms: raw CLIP space
            terms = score_terms(centre[r["video_id"]], prompt, exemplars)
            terms |= {k: own[k] for k in ("audio_prompt", "frames_prompt", "audio_visual")}
            rec |= {k: round(v, 6) for k, v in terms.items()}
            rec["score"] = round(combined(terms, params.weights), 6)
        else:
            rec |= {k: math.nan for k in SCORE_TERMS} | {"score": math.nan}
        rec["auto"] = decide(None if math.isnan(rec["score"]) else rec["score"], params)
        out.append(rec)
    df = pd.DataFrame(out)
    df["rank"] = df["score"].fillna(-math.inf).rank(ascending=False, method="first").astype(int)
    return df.sort_values("rank").reset_index(drop=True)


def demo_metrics(scores: pd.DataFrame, truth: dict[str, int], params: CurateParams) -> dict[str, Any]:
    """AP of the ranking and precision/recall of the automatic decisions against the synthetic ground truth."""
    t = [truth[i] for i in scores["id"]]
    s = scores["score"].fillna(-math.inf).tolist()
    acc_p, acc_r = precision_recall([a == "accept" for a in scores["auto"]], t)
    keep_p, keep_r = precision_recall([a != "reject" for a in scores["auto"]], t)
    rej_p, rej_r = precision_recall([a == "reject" for a in scores["auto"]], [1 - x for x in t])
    kinds = Counter(i.split("_")[0] for i in scores["id"])
    mism = scores[scores["id"].str.startswith(("picture_", "sound_"))]["score"].fillna(-math.inf)
    true = scores[scores["id"].str.startswith("true_")]["score"].fillna(-math.inf)
    return {
        "candidates": len(scores),
        "true": int(sum(t)),
        "average_precision": round(average_precision(s, t), 4),
        "accept_precision": round(acc_p, 4),
        "accept_recall": round(acc_r, 4),
        "not_rejected_precision": round(keep_p, 4),
        "not_rejected_recall": round(keep_r, 4),
        "reject_precision": round(rej_p, 4),
        "reject_recall": round(rej_r, 4),
        "auto": dict(sorted(Counter(scores["auto"]).items())),
        "mismatches_below_true": bool(len(mism) == 0 or float(mism.max()) < float(true.min())),
        "pool": dict(sorted(kinds.items())),
        "quality_rejects": int((scores["quality"] != "ok").sum()),
        "thresholds": {"accept_above": params.accept_above, "reject_below": params.reject_below},
    }


def main(params_path: str, out_root: str, metrics: str) -> None:
    """Stage entry: validate the ``curate`` block, fetch + cut + score the candidates, write the ledger/metrics."""
    params = load_block(params_path, "curate", CurateParams)
    root = folder(params.name, out_root)
    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    if params.demo_pool is None and params.candidates is not None and not Path(params.candidates).is_file():
        # a profile may name a class whose candidates nobody has gathered yet (the paper profile's sea_waves):
        # say so and let the rest of `dvc repro` go on, instead of failing the whole pipeline
        waiting = (
            f"curate.candidates: {params.candidates} does not exist yet; gather candidates with "
            f"`sound2video curate new {params.name}` and `sound2video curate candidates {params.name} ...`"
        )
        log.warning("curate %s: nothing to score: %s", params.name, waiting)
        write_metrics(
            metrics, {"class": params.name, "candidates": 0, "waiting": waiting}, HEADLINE, root / REPORT_NAME
        )
        return
    fetch_list, exemplar_ids = prepare(params, work)
    clips = fetch_and_cut(params, fetch_list, work)
    scores = score_clips(params, clips, work / "clips", Embedder(params), exemplar_ids)
    write_parquet_atomic(scores, work / SCORES_NAME)
    result: dict[str, Any] = {"class": params.name, "candidates": len(scores), "clips": len(clips)}
    if params.demo_pool is not None:
        truth_df = pd.read_csv(work / "demo_pool.csv", dtype=str)
        result |= demo_metrics(scores, {i: int(t) for i, t in zip(truth_df["id"], truth_df["truth"])}, params)
    result["auto"] = dict(sorted(Counter(scores["auto"]).items()))
    result["weights"] = params.weights.model_dump()
    write_metrics(metrics, result, HEADLINE, root / REPORT_NAME)
    log.info("curate %s: %s", params.name, result)
