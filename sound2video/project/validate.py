"""Load and validate ``params.yaml``: each stage validates and reads only its own section.

Which class validates which section is listed once, in ``project/registry.py``. Errors name the key and what was
expected, e.g. ``params.yaml: cut.fps: must be greater than 0 (got -5)``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sound2video.core.params_base import ParamsError
from sound2video.core.params_io import label_table_for, read_yaml, validate_block
from sound2video.data.classes import DEFAULT_CLASSES_CSV, ClassTable
from sound2video.data.cut.params import CutParams
from sound2video.data.download.params import DownloadParams
from sound2video.project.registry import PER_DATASET, PROJECT_WIDE

# Layout: ``datasets: [landscape, vggsound]`` lists the data sets the pipeline builds; each stage section holds one
# block per data set (``download.landscape``, ``clip.vggsound``, ...), and a stage reads only its own block.

SECTIONS: dict[str, type[BaseModel]] = PER_DATASET
TOP_LEVEL = {"profile", "datasets", "label_tables"}
_DATASET_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def datasets_of(data: dict[str, Any], path: str | Path = "params.yaml") -> list[str]:
    """The ``datasets`` list: non-empty, unique, lower-case names usable in paths."""
    names = data.get("datasets")
    if not isinstance(names, list) or not names:
        raise ParamsError(f"{path}: datasets: expected a non-empty list of data set names, got {names!r}")
    bad = [n for n in names if not isinstance(n, str) or not _DATASET_NAME.match(n)]
    if bad or len(set(names)) != len(names):
        raise ParamsError(f"{path}: datasets: names must be unique and match [a-z][a-z0-9_]*, got {names!r}")
    return names


def validate_section(
    data: dict[str, Any],
    section: str,
    dataset: str,
    path: str | Path = "params.yaml",
    classes_csv: str | Path = DEFAULT_CLASSES_CSV,
) -> Any:
    """Validate the ``section.dataset`` block of already-loaded params; raises ParamsError naming the key."""
    path = Path(path)
    if section not in SECTIONS:
        raise ParamsError(f"unknown section {section!r}; expected one of {sorted(SECTIONS)}")
    block = data.get(section)
    if not isinstance(block, dict):
        raise ParamsError(f"{path}: section '{section}' is missing (expected one block per data set)")
    if dataset not in block:
        raise ParamsError(f"{path}: {section}.{dataset} is missing; {section} has {sorted(block)}")
    context: dict[str, Any] = {}
    if section == "download":
        context["known_classes"] = ClassTable.read(label_table_for(data, dataset, classes_csv, path)).names
    return validate_block(data, section, SECTIONS[section], dataset, path, context)


def load_section(path: str | Path, section: str, dataset: str, classes_csv: str | Path = DEFAULT_CLASSES_CSV) -> Any:
    """Read ``path`` and return the validated model of one stage's block for one data set."""
    return validate_section(read_yaml(path), section, dataset, path, classes_csv)


def validate_all(path: str | Path, classes_csv: str | Path = DEFAULT_CLASSES_CSV) -> dict[str, Any]:
    """Validate a whole params file: every registered section present, every section's block for every listed data
    set, nothing unknown, and the rules across sections (``ranges_match_cut``). One ParamsError lists every problem."""
    data = read_yaml(path)
    known = set(SECTIONS) | set(PROJECT_WIDE) | TOP_LEVEL
    unknown = sorted(set(data) - known)
    if unknown:
        raise ParamsError(f"{path}: unknown top-level key(s) {unknown}; expected {sorted(known)}")
    names = datasets_of(data, path)
    missing = [s for s in (*SECTIONS, *PROJECT_WIDE) if s not in data]
    errors = [
        f"{path}: section '{s}' is missing; every params file needs each section registered in project/registry.py"
        for s in missing
    ]
    extra_tables = sorted(set(data.get("label_tables") or {}) - set(names))
    if extra_tables:
        errors.append(f"{path}: label_tables: {extra_tables} are not in datasets {names}")
    out: dict[str, Any] = {section: {} for section in SECTIONS}
    for section in SECTIONS:
        if section in missing:
            continue
        extra = sorted(set(data.get(section) or {}) - set(names))
        if extra:
            errors.append(f"{path}: {section}: blocks {extra} are not in datasets {names}")
        for name in names:
            try:
                out[section][name] = validate_section(data, section, name, path, classes_csv)
            except ParamsError as e:
                errors.append(str(e))
    for section in sorted(set(PROJECT_WIDE) - set(missing)):
        try:
            out[section] = load_single(path, section, data)
        except ParamsError as e:
            errors.append(str(e))
    for name in names:
        if name in out["download"] and name in out["cut"]:
            errors += ranges_match_cut(out["download"][name], out["cut"][name], name, path)
    if errors:
        raise ParamsError("\n".join(errors))
    out["profile"] = str(data.get("profile", "custom"))
    out["datasets"] = names
    return out


# What the download's range planning shares with the cut: both plan with media.windows.plan_windows, so a ranged
# download fetches exactly the windows the cut then cuts.
RANGE_CLIP_SETTINGS = ("clip_seconds", "clips_per_video", "placement")


def ranges_match_cut(download: DownloadParams, cut: CutParams, dataset: str, path: str | Path) -> list[str]:
    """One error per clip setting of ``download.<dataset>.ranges`` that differs from ``cut.<dataset>``'s."""
    if download.ranges is None:
        return []
    errors = []
    for key in RANGE_CLIP_SETTINGS:
        mine, cuts = getattr(download.ranges, key), getattr(cut, key)
        if mine != cuts:
            ranged, cut_key = f"download.{dataset}.ranges.{key}", f"cut.{dataset}.{key}"
            errors.append(f"{path}: {ranged} ({_shown(mine)}) must equal {cut_key} ({_shown(cuts)})")
    return errors


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def load_single(path: str | Path, section: str, data: dict[str, Any] | None = None) -> Any:
    """Validate a project-wide section (e.g. ``train_audio``); raises ParamsError naming the key."""
    path = Path(path)
    data = read_yaml(path) if data is None else data
    if section not in PROJECT_WIDE:
        raise ParamsError(f"unknown section {section!r}; expected one of {sorted(PROJECT_WIDE)}")
    return validate_block(data, section, PROJECT_WIDE[section], None, path)
