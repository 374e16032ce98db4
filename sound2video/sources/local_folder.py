"""A local folder of videos laid out as ``<folder>/<class label>/<file>``: its manifest, and the fetch (a copy)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TYPE_CHECKING

import pandas as pd

from ..classes import ClassTable
from ..fsutil import safe_id

if TYPE_CHECKING:   # the download stage's params (annotations only: sources sit below download)
    from ..download.params import DownloadParams, SourceParams

VIDEO_SUFFIXES = {".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v"}


def read(src: SourceParams, classes: ClassTable) -> pd.DataFrame:
    root = Path(src.path).expanduser()  # type: ignore[arg-type]
    if not root.is_dir():
        raise FileNotFoundError(f"download.source.path {root} is not a folder (expected <folder>/<class>/<video>)")
    rows = []
    for f in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES):
        rel = f.relative_to(root)
        label = classes.resolve(rel.parts[0]) if len(rel.parts) > 1 else None
        rows.append({
            "id": safe_id("__".join(rel.with_suffix("").parts)),
            "url": str(f.resolve()),
            "label": label,
            "start": float("nan"),
            "end": float("nan"),
            "source_kind": "local_folder",
            "reject_reason": None if len(rel.parts) > 1 else "file is not inside a class folder",
        })
    return pd.DataFrame(rows)


def fetch(item: Mapping[str, Any], params: DownloadParams, workdir: Path) -> Path:
    """Copy the item's file into ``workdir``; the stage probes the copy, never the original."""
    src = Path(item["url"])
    out = workdir / f"media{src.suffix.lower()}"
    shutil.copyfile(src, out)
    return out
