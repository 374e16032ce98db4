"""A curated candidate or accepted list (``id,url,label[,start,end]``, written by ``sound2video curate``): its
manifest, and the fetch, which goes by the URL: ``synthetic://`` renders (variants included), ``http(s)://`` and
``ytsearchN:`` go through yt-dlp, anything else is a local file copied (relative paths from the list's folder).

Labels are taken as written (a curated class need not be in the class table yet); the stage's ``classes`` still
selects which rows are fetched.
"""

from __future__ import annotations

import csv
import math
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sound2video.core.fsutil import safe_id
from sound2video.data.sources import synthetic, ytdlp

if TYPE_CHECKING:  # the download stage's params (annotations only: sources sit below download)
    from sound2video.data.download.params import DownloadParams

COLUMNS = ("id", "url", "label")
REMOTE_PREFIXES = ("http://", "https://", "ytsearch")


def _float(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f if math.isfinite(f) else float("nan")


def read_list(path: str | Path) -> pd.DataFrame:
    """The manifest rows of one list; ``url`` of a local file becomes absolute (resolved from the list's folder)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"curated list {path} not found (expected a CSV with columns {','.join(COLUMNS)})")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: columns {missing} not found; a curated list has {','.join(COLUMNS)}")
        raw = list(reader)
    rows = []
    for n, r in enumerate(raw, start=2):
        url = (r["url"] or "").strip()
        reason = None if url else f"line {n}: empty url"
        if url and not url.startswith(("synthetic://", *REMOTE_PREFIXES)):
            url = str((path.parent / url).resolve()) if not Path(url).is_absolute() else url
        rows.append(
            {
                "id": safe_id(r["id"] or f"line{n:06d}"),
                "url": url,
                "label": (r["label"] or "").strip() or None,
                "start": _float(r.get("start")),
                "end": _float(r.get("end")),
                "source_kind": "curated_list",
                "reject_reason": reason,
            }
        )
    return pd.DataFrame(rows, columns=["id", "url", "label", "start", "end", "source_kind", "reject_reason"])


def fetch(item: Mapping[str, Any], params: DownloadParams, workdir: Path) -> Path:
    """Render, download or copy one list row into ``workdir``."""
    url = str(item["url"])
    if url.startswith("synthetic://"):
        if params.source.synthetic is None:
            raise ValueError(f"{url}: a synthetic row needs download.source.synthetic (the render recipe)")
        v = synthetic.parse_variant_url(url)
        out = workdir / "media.mp4"
        recipe = params.source.synthetic.model_copy(update={"seed": v.seed})  # the URL's seed: the clip reviewed
        synthetic.render_video(out, v.picture, v.index, recipe, sound=v.sound, static=v.static)
        return out
    if url.startswith(REMOTE_PREFIXES):
        return ytdlp.fetch(item, params, workdir)
    src = Path(url)
    if not src.is_file():
        raise FileNotFoundError(f"local candidate {src} not found")
    out = workdir / f"media{src.suffix.lower()}"
    shutil.copyfile(src, out)
    return out
