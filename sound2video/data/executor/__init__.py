"""Where the work queue's workers run: the ``executor`` params section and the engines behind it (a thread pool,
Dask distributed). ``open_executor`` gives a stage its ``Executor`` for the length of a ``with`` block (a Dask
LocalCluster is started once and stopped at the end); Dask is imported only when ``kind: dask``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sound2video.core.params_io import read_yaml, validate_block
from sound2video.data.executor.params import ExecutorParams
from sound2video.data.work_queue import Executor, thread_executor

SECTION = "executor"

__all__ = ["SECTION", "ExecutorParams", "executor_for", "load_params", "open_executor"]


def load_params(params_path: str | Path) -> ExecutorParams:
    """The ``executor`` section of ``params_path``, validated; the local default when the section is absent."""
    data = read_yaml(params_path)
    return validate_block(data, SECTION, ExecutorParams, None, params_path) if SECTION in data else ExecutorParams()


def executor_for(params: ExecutorParams) -> Any:
    """The work queue's executor for ``params``: ``thread_executor``, or a ``DaskExecutor`` (a context manager)."""
    if params.kind == "local":
        return thread_executor
    from sound2video.data.executor.dask_executor import DaskExecutor  # noqa: PLC0415 - distributed is heavy: only when asked for

    return DaskExecutor(params)


@contextlib.contextmanager
def open_executor(params: ExecutorParams | str | Path) -> Iterator[Executor]:
    """The executor ``params`` (or the params file's ``executor`` section) asks for, closed when the block ends."""
    chosen = executor_for(params if isinstance(params, ExecutorParams) else load_params(params))
    try:
        yield chosen
    finally:
        close = getattr(chosen, "close", None)
        if close is not None:
            close()
