"""Review decisions of a curated class (``data/curation/<name>/decisions.json``, in git): read strictly, written
atomically after every decision, so a reload or a killed review server loses nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sound2video.core.fsutil import write_json_atomic

DECISIONS_NAME = "decisions.json"
CHOICES = ("accept", "reject", "skip")


class DecisionsError(ValueError):
    """The decisions file is not what ``sound2video curate review`` writes."""


def read(path: Path, name: str) -> dict[str, str]:
    """Clip id -> 'accept' | 'reject' | 'skip'; {} when there is no file yet. Anything else is an error naming the
    file, the entry and what was expected (a hand edit gone wrong must not silently drop decisions)."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DecisionsError(
            f"{path}: not valid JSON ({e}); expected {{'class': ..., 'decisions': {{id: choice}}}}"
        ) from e
    if not isinstance(data, dict) or not isinstance(data.get("decisions"), dict):
        raise DecisionsError(f"{path}: expected an object with 'class' and 'decisions' (clip id -> choice)")
    if data.get("class") != name:
        raise DecisionsError(f"{path}: 'class' is {data.get('class')!r}, expected {name!r}")
    out: dict[str, str] = {}
    for clip, choice in data["decisions"].items():
        if choice not in CHOICES:
            raise DecisionsError(f"{path}: decision for {clip!r} is {choice!r}; expected one of {list(CHOICES)}")
        out[str(clip)] = choice
    return out


def write(path: Path, name: str, decisions: dict[str, str]) -> None:
    for clip, choice in decisions.items():
        if choice not in CHOICES:
            raise DecisionsError(f"decision for {clip!r} is {choice!r}; expected one of {list(CHOICES)}")
    payload: dict[str, Any] = {"class": name, "decisions": dict(sorted(decisions.items()))}
    write_json_atomic(path, payload)


def record(path: Path, name: str, clip: str, choice: str) -> dict[str, str]:
    """Add one decision (re-reading the file first, so two tabs do not undo each other) and save at once."""
    current = read(path, name)
    current[clip] = choice
    write(path, name, current)
    return current


def final(auto: str, human: str | None) -> str:
    """The clip's verdict: a reviewer's accept/reject wins over the automatic one; 'skip' leaves it to review."""
    if human in ("accept", "reject"):
        return human
    return auto
