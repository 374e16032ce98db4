"""The data card: what the data set holds, as JSON and as readable Markdown, and its headline numbers (the DVC
metrics: `dvc metrics show` stays one short row per data set; the per-class tables live in the card)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd


def _reason_code(reason: Any) -> str:
    return str(reason).split(":")[0] if reason else "unknown"


def build_card(
    profile: str,
    samples: pd.DataFrame,
    clips: pd.DataFrame,
    downloads: pd.DataFrame,
    shards: list[dict[str, Any]],
    class_names: list[str],
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Summarise the sharded data set. ``samples`` has one row per sharded clip with a ``split`` column; ``source``
    is the download stage's record of the list used (kind, path, sha256, rows)."""
    kinds = sorted(set(downloads["source_kind"].dropna()))
    # synthetic when every item was rendered (published curated classes of the demo are renders too)
    synthetic = bool(len(downloads)) and bool(downloads["url"].astype(str).str.startswith("synthetic://").all())
    per_split: dict[str, Any] = {}
    for split in ("train", "val", "test"):
        part = samples[samples["split"] == split]
        per_split[split] = {
            "clips": int(len(part)),
            "videos": int(part["video_id"].nunique()),
            "hours": round(float((part["frames"] / part["fps"]).sum()) / 3600, 4) if len(part) else 0.0,
            "per_class": {c: int((part["class"] == c).sum()) for c in class_names},
        }
    dl_failed = downloads[downloads["status"] != "ok"]
    cut_rejected = clips[clips["status"] != "ok"]
    sizes = sorted({f"{int(w)}x{int(h)}" for w, h in zip(samples["width"], samples["height"])})
    fetched = int(downloads.loc[downloads["status"] == "ok", "bytes"].fillna(0).sum())
    return {
        "profile": profile,
        "synthetic": synthetic,
        "note": (
            "SYNTHETIC offline demo data rendered by sound2video: no real footage or sound"
            if synthetic
            else f"built from sources: {', '.join(kinds)}"
        ),
        "source_kinds": kinds,
        "source_list": source,
        "download_bytes": fetched,
        "download_bytes_per_clip": round(fetched / len(samples)) if len(samples) else None,
        "classes": class_names,
        "clips": int(len(samples)),
        "videos": int(samples["video_id"].nunique()),
        "hours": round(float((samples["frames"] / samples["fps"]).sum()) / 3600, 4) if len(samples) else 0.0,
        "resolution": sizes[0] if len(sizes) == 1 else sizes,
        "fps": sorted({int(v) for v in samples["fps"]}),
        "sample_rate": sorted({int(v) for v in samples["sample_rate"]}),
        "scene_cut_flagged": int(samples["scene_cut"].fillna(False).astype(bool).sum()),
        "splits": per_split,
        "downloads": {
            "total": int(len(downloads)),
            **{k: int(v) for k, v in sorted(Counter(downloads["status"]).items())},
        },
        "rejects": {
            "download": {
                f"{s}: {r}": int(n)
                for (s, r), n in sorted(
                    Counter(zip(dl_failed["status"], dl_failed["reason"].map(_reason_code))).items()
                )
            },
            "cut": {k: int(v) for k, v in sorted(Counter(cut_rejected["reason"].map(_reason_code)).items())},
        },
        "shards": {"count": len(shards), "bytes": int(sum(s["bytes"] for s in shards))},
    }


def headline(card: dict[str, Any]) -> dict[str, Any]:
    """The card's headline numbers for ``metrics/data_<ds>.json``: clips, hours and clips per split. Flat, with short
    keys: `dvc metrics show` prints one column per key across all metrics files; sizes and rejects stay in the card."""
    return {
        "clips": card["clips"],
        "hours": card["hours"],
        **{split: card["splits"][split]["clips"] for split in ("train", "val", "test")},
    }


def render_markdown(card: dict[str, Any]) -> str:
    """A readable version of the card."""
    lines = [f"# Data card ({card['profile']} profile)", ""]
    if card["synthetic"]:
        lines += [f"> **{card['note']}.**", ""]
    else:
        lines += [card["note"] + ".", ""]
    src = card.get("source_list")
    if src and src.get("path"):
        sha = f", sha256 {src['sha256'][:12]}…" if src.get("sha256") else ""
        lines += [f"Source list: `{src['path']}` ({src['kind']}, {src['rows']} rows{sha}).", ""]
    for extra in (src or {}).get("extra_lists") or []:  # published curated classes
        cur = extra.get("curation") or {}
        lines += [
            f"Curated class `{cur.get('class', '?')}` from `{extra['path']}`: {cur.get('candidates', '?')} candidates "
            f"({', '.join(s['source'] for s in cur.get('candidates_from', [])) or 'unknown sources'}), "
            f"{cur.get('scored', '?')} scored, {cur.get('auto_accepted', '?')} auto-accepted, "
            f"{cur.get('reviewed', '?')} reviewed, {cur.get('accepted', '?')} accepted; rejected by reason "
            f"{cur.get('rejected_by_reason', {})}; thresholds {cur.get('thresholds')}.",
            "",
        ]
    res = card["resolution"] if isinstance(card["resolution"], str) else ", ".join(card["resolution"])
    lines += [
        f"- {card['clips']} clips from {card['videos']} source videos, {card['hours']:.3f} hours",
        f"- resolution {res}, fps {card['fps']}, audio {card['sample_rate']} Hz",
        f"- clips flagged with a scene cut: {card['scene_cut_flagged']}",
        f"- shards: {card['shards']['count']} ({card['shards']['bytes'] / 1e6:.1f} MB)",
        f"- downloaded: {card['download_bytes'] / 1e6:.1f} MB, {(card['download_bytes_per_clip'] or 0) / 1e6:.2f} MB "
        "per kept clip",
        "",
        "## Clips per class and split",
        "",
        "| class | train | val | test |",
        "|---|---:|---:|---:|",
    ]
    for c in card["classes"]:
        lines.append(
            f"| {c} | " + " | ".join(str(card["splits"][s]["per_class"][c]) for s in ("train", "val", "test")) + " |"
        )
    lines.append(
        "| **total** | " + " | ".join(str(card["splits"][s]["clips"]) for s in ("train", "val", "test")) + " |"
    )
    lines += ["", "## Rejected", "", f"Downloads: {card['downloads']}", ""]
    for stage in ("download", "cut"):
        for reason, n in card["rejects"][stage].items():
            lines.append(f"- {stage}: {reason}: {n}")
    if not any(card["rejects"].values()):
        lines.append("- none")
    return "\n".join(lines) + "\n"
