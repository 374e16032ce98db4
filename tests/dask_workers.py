"""Module-level worker functions for the Dask executor tests: Dask worker processes import them by name."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_square(item: int, out_dir: str, die_on: int | None = None, marker: str | None = None) -> dict:
    """Write ``item**2`` to ``out_dir/<item>.txt`` and return its ledger row. On the first attempt at ``die_on``
    (no ``marker`` file yet) the worker process kills itself mid-item, after writing half a file."""
    out = Path(out_dir) / f"{item}.txt"
    if item == die_on and marker is not None and not Path(marker).exists():
        Path(marker).write_text(str(os.getpid()))
        out.write_text("half")  # a partial output the retry must overwrite
        os._exit(1)  # a dead worker: no exception, no result, the process is gone
    out.write_text(str(item * item))
    return {"id": item, "status": "ok", "reason": None, "value": item * item, "pid": os.getpid()}


def die_after_first(item: Any, worker: Callable[[Any], Any], marker: str) -> Any:
    """``worker(item)``; but the first call of all (across processes: whoever creates ``marker``) kills its worker
    process right after the item's files are written and before its result is returned."""
    result = worker(item)
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return result
    os.close(fd)
    os._exit(1)
