"""Reading one stage's block of ``params.yaml`` with the stage's own params class. A leaf beside
``params_base``: a stage that loads its block through here depends on its params module alone, so editing another
stage's params schema never invalidates it in ``dvc repro`` (the whole-file check, ``config.validate_all``, goes
through the registry)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from sound2video.core.params_base import ParamsError

Block = TypeVar("Block", bound=BaseModel)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The params file as a mapping of sections; ParamsError when missing, not YAML, or not a mapping."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file {path} not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of sections at the top level")
    return data


def format_errors(path: Path, prefix: str, err: ValidationError) -> str:
    """One line per error: ``params.yaml: cut.landscape.fps: <what was expected> (got <value>)``."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in (prefix, *e["loc"]))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check spelling; see the params reference in README.md)"
        elif "input" in e and e["type"] != "missing" and not isinstance(e["input"], dict):
            msg = f"{msg} (got {e['input']!r})"
        lines.append(f"{path}: {loc}: {msg}")
    return "\n".join(lines)


def validate_block(
    data: dict[str, Any],
    section: str,
    cls: type[Block],
    dataset: str | None = None,
    path: str | Path = "params.yaml",
    context: dict[str, Any] | None = None,
) -> Block:
    """Validate ``section`` (or ``section.dataset`` for per-data-set stages) of loaded params with ``cls``."""
    path = Path(path)
    block = data.get(section)
    if dataset is None:
        if section not in data:
            raise ParamsError(f"{path}: section '{section}' is missing")
        where = section
    else:
        if not isinstance(block, dict):
            raise ParamsError(f"{path}: section '{section}' is missing (expected one block per data set)")
        if dataset not in block:
            raise ParamsError(f"{path}: {section}.{dataset} is missing; {section} has {sorted(block)}")
        block, where = block[dataset], f"{section}.{dataset}"
    try:
        return cls.model_validate(block, context=context or {})
    except ValidationError as e:
        raise ParamsError(format_errors(path, where, e)) from None


def load_block(
    path: str | Path, section: str, cls: type[Block], dataset: str | None = None, context: dict[str, Any] | None = None
) -> Block:
    """Read ``path`` and validate one stage's block with its own class (what a stage calls)."""
    return validate_block(read_yaml(path), section, cls, dataset, path, context)


def label_table_for(data: dict[str, Any], dataset: str, default: str | Path, path: str | Path = "params.yaml") -> Path:
    """The class table of ``dataset``: ``label_tables.<dataset>`` when given, else ``default`` (data/classes.csv)."""
    tables = data.get("label_tables") or {}
    if not isinstance(tables, dict) or not all(isinstance(v, str) and v for v in tables.values()):
        raise ParamsError(
            f"{path}: label_tables: expected a mapping of data set name -> class table path, got {tables!r}"
        )
    return Path(tables.get(dataset, default))
