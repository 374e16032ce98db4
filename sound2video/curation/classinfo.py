"""A curated class's record (``data/curation/<name>/class.json``, in git): name, prompt, labels, and the sources
its candidates came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sound2video.core.fsutil import write_json_atomic
from sound2video.curation.candidates import CurationError, check_slug
from sound2video.data.classes import ClassTable

INFO_NAME = "class.json"


def start(name: str, prompt: str, root: Path, classes_csv: Path, vggsound_label: str | None, query: str | None) -> Path:
    """Validate the name and create the class's curation folder with its record; returns the folder."""
    check_slug(name)
    if not prompt.strip():
        raise CurationError("--prompt must not be empty: it is the text the zero-shot scores compare against")
    table = ClassTable.read(classes_csv)
    if name in table:
        raise CurationError(f"{name!r} is already a class in {classes_csv}; choose another name")
    where = root / name
    if (where / INFO_NAME).exists():
        raise CurationError(f"{where / INFO_NAME} exists: curation of {name!r} has already started")
    info = {"name": name, "prompt": prompt.strip(), "vggsound_label": vggsound_label, "query": query, "sources": []}
    write_json_atomic(where / INFO_NAME, info)
    return where


def read_info(where: Path) -> dict[str, Any]:
    path = where / INFO_NAME
    if not path.is_file():
        raise CurationError(
            f"{path} not found: start the class with `sound2video curate new {where.name} --prompt ...`"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def add_source(where: Path, source: str, count: int) -> None:
    info = read_info(where)
    info["sources"] = [s for s in info.get("sources", []) if s["source"] != source] + [
        {"source": source, "candidates": count}
    ]
    write_json_atomic(where / INFO_NAME, info)
