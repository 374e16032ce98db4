"""The source registry: per ``download.<ds>.source.kind``, how to read its manifest and how to fetch one item.

Adding a source kind means one module with a reader and a fetch function, one entry in ``SOURCES``, and the kind in
``SourceParams.kind``; nothing in the download stage switches on the kind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sound2video.data.classes import ClassTable
from sound2video.data.sources import (
    authors_csv,
    curated_list,
    landscape,
    local_folder,
    synthetic,
    synthetic_manifest,
    vggsound,
    ytdlp,
)

if TYPE_CHECKING:  # the download stage's params (annotations only: sources sit below download)
    from sound2video.data.download.params import DownloadParams

Reader = Callable[["DownloadParams", ClassTable], pd.DataFrame]
Fetcher = Callable[[Mapping[str, Any], "DownloadParams", Path], Path]


@dataclass(frozen=True)
class Source:
    """One source kind.

    ``read(params, classes)``: the manifest rows (see ``sources.MANIFEST_COLUMNS``), unfiltered.
    ``fetch(item, params, workdir)``: fetch one manifest row into ``workdir`` and return the media file; raises on
    failure (the download stage turns that into a ledger status). The file is a working copy (``media.<ext>``), a
    name that means nothing to the user: errors about it name the item's ``url`` (the stage probes it so).
    ``keep_unknown``: rows whose label did not resolve stay in the manifest as rejects ('unknown class label')
    instead of being dropped, for sources whose labels come from a file someone wrote by hand.
    ``recipe(params)``: what, besides the URL, decides an item's bytes ('' for downloads and copies); a changed
    recipe refetches the item.
    """

    read: Reader
    fetch: Fetcher
    keep_unknown: bool = False
    recipe: Callable[[DownloadParams], str] = lambda params: ""


def _read_synthetic(params: DownloadParams, classes: ClassTable) -> pd.DataFrame:
    return synthetic_manifest.read(params.source.synthetic, params.classes)  # type: ignore[arg-type]


def _fetch_synthetic(item: Mapping[str, Any], params: DownloadParams, workdir: Path) -> Path:
    name, index = synthetic.parse_synthetic_url(item["url"])
    out = workdir / "media.mp4"
    synthetic.render_video(out, name, index, params.source.synthetic)  # type: ignore[arg-type]
    return out


def _synthetic_recipe(params: DownloadParams) -> str:
    """The render params and the renderer's code (every ``synthetic*.py`` of this package); '' without them."""
    if params.source.synthetic is None:
        return ""
    # videos_per_class decides how many items there are, not any item's bytes
    h = hashlib.sha256(params.source.synthetic.model_dump_json(exclude={"videos_per_class"}).encode())  # type: ignore
    for f in sorted(Path(synthetic.__file__).parent.glob("synthetic*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


SOURCES: dict[str, Source] = {
    "synthetic": Source(read=_read_synthetic, fetch=_fetch_synthetic, recipe=_synthetic_recipe),
    "authors_csv": Source(read=lambda p, c: authors_csv.read(p.source, c), fetch=ytdlp.fetch, keep_unknown=True),
    "vggsound_csv": Source(read=lambda p, c: vggsound.read(p.source, c), fetch=ytdlp.fetch),
    "landscape_list": Source(read=lambda p, c: landscape.read(p.source, c), fetch=ytdlp.fetch, keep_unknown=True),
    "curated_list": Source(
        read=lambda p, c: curated_list.read_list(p.source.path),  # type: ignore[arg-type]
        fetch=curated_list.fetch,
        recipe=_synthetic_recipe,
    ),
    "local_folder": Source(
        read=lambda p, c: local_folder.read(p.source, c), fetch=local_folder.fetch, keep_unknown=True
    ),
}


def source_for(kind: str) -> Source:
    """The registered source ``kind``; raises ValueError naming the known kinds."""
    try:
        return SOURCES[kind]
    except KeyError:
        raise ValueError(f"unknown source kind {kind!r}; expected one of {sorted(SOURCES)}") from None
