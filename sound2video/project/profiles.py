"""Profiles: complete params files under ``configs/``; switching copies one onto ``params.yaml``."""

from __future__ import annotations

import shutil
from pathlib import Path

from sound2video.project.validate import ParamsError, validate_all

CONFIG_DIR = Path("configs")


def available(config_dir: Path = CONFIG_DIR) -> list[str]:
    return sorted(p.stem for p in config_dir.glob("*.yaml"))


def use(
    name: str,
    params_path: Path = Path("params.yaml"),
    config_dir: Path = CONFIG_DIR,
    classes_csv: Path = Path("data/classes.csv"),
) -> Path:
    """Validate ``configs/<name>.yaml`` and copy it onto ``params.yaml`` (atomically)."""
    src = config_dir / f"{name}.yaml"
    if not src.is_file():
        raise ParamsError(f"no profile {name!r}; available: {', '.join(available(config_dir)) or 'none'}")
    validate_all(src, classes_csv)
    tmp = params_path.with_name(f".{params_path.name}.tmp")
    shutil.copyfile(src, tmp)
    tmp.replace(params_path)
    return src
