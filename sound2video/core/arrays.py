"""Derived arrays cached on disk by key: ``<folder>/<name>-<key>.npy`` is reused while its key holds; a new key
remakes it and deletes the same name's files of other keys (made from other inputs: stale)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sound2video.core.fsutil import atomic_path

log = logging.getLogger(__name__)


def cached_array(path: str | Path, make: Callable[[], np.ndarray], mmap: bool = False) -> np.ndarray:
    """``path`` (``<name>-<key>.npy``) when it exists, else ``make()`` saved there atomically, so an interrupted or
    failed ``make`` leaves no file behind. ``mmap``: return a read-only memory map instead of an array in memory."""
    path = Path(path)
    name, dash, key = path.stem.rpartition("-")
    if not (dash and name and key) or path.suffix != ".npy":
        raise ValueError(f"{path}: a cached array is named <name>-<key>.npy")
    if path.is_file():
        log.info("reusing %s", path)
        return np.load(path, mmap_mode="r" if mmap else None)
    for old in path.parent.glob(f"{name}-*.npy"):
        if old.stem.rpartition("-")[0] == name:  # not a longer name sharing the prefix
            old.unlink()  # stale; deleted before making the new one, so the disk never holds both
    array = make()
    with atomic_path(path, suffix=".tmp.npy") as tmp:
        np.save(tmp, array)
    return np.load(path, mmap_mode="r") if mmap else array
