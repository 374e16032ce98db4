"""A local folder of videos laid out as ``<folder>/<class label>/<file>``: its manifest, and the fetch (a copy).

Every file under the folder gets a manifest row, whatever its name: the download stage probes the copy, so media that
ffprobe can read goes through and anything else is rejected with ffprobe's reason; nothing is skipped unseen. The
``url`` is the file's path inside the folder, so the ledger does not depend on where the folder sits on a machine.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sound2video.core.fsutil import inside, safe_id
from sound2video.data.classes import ClassTable

if TYPE_CHECKING:  # the download stage's params (annotations only: sources sit below download)
    from sound2video.data.download.params import DownloadParams
    from sound2video.data.sources.params import SourceParams

# Files with these suffixes are keyed by their name without the suffix (``a.mp4`` -> ``a``); any other file keeps its
# suffix in the key, so ``a.ts`` beside ``a.mp4`` is an item of its own rather than a duplicate.
VIDEO_SUFFIXES = {".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v"}


def _item_id(rel: Path) -> str:
    parts = rel.with_suffix("").parts if rel.suffix.lower() in VIDEO_SUFFIXES else rel.parts
    return safe_id("__".join(parts))


def read(src: SourceParams, classes: ClassTable) -> pd.DataFrame:
    root = Path(src.path).expanduser()  # type: ignore[arg-type]
    if not root.is_dir():
        raise FileNotFoundError(f"download.source.path {root} is not a folder (expected <folder>/<class>/<video>)")
    rows = []
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = f.relative_to(root)
        label = classes.resolve(rel.parts[0], src.class_map) if len(rel.parts) > 1 else None
        rows.append(
            {
                "id": _item_id(rel),
                "url": rel.as_posix(),
                "label": label,
                "start": float("nan"),
                "end": float("nan"),
                "source_kind": "local_folder",
                "reject_reason": None if len(rel.parts) > 1 else "file is not inside a class folder",
            }
        )
    return pd.DataFrame(rows)


def fetch(item: Mapping[str, Any], params: DownloadParams, workdir: Path) -> Path:
    """Copy the item's file into ``workdir``; the stage probes the copy, never the original."""
    root = Path(params.source.path).expanduser()  # type: ignore[arg-type]
    src = inside(root, root / item["url"])
    out = workdir / f"media{src.suffix.lower()}"
    shutil.copyfile(src, out)
    return out
