"""Where the work queue's workers run: the ``executor`` params section and the engines behind it (a thread pool,
Dask distributed). ``executor_for`` turns the params into the work queue's ``Executor`` callable; Dask is imported
only when ``kind: dask``."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from ..params_io import read_yaml, validate_block
from ..work_queue import Executor, thread_executor
from .params import ExecutorParams

SECTION = "executor"

__all__ = ["SECTION", "ExecutorParams", "executor_for", "load_executor"]


def executor_for(params: ExecutorParams) -> Executor:
    """The work queue's executor for ``params``."""
    if params.kind == "local":
        return thread_executor
    from .dask_executor import dask_executor  # noqa: PLC0415 - distributed is heavy: only when asked for

    return partial(dask_executor, params=params)


def load_executor(params_path: str | Path) -> Executor:
    """The executor the ``executor`` section of ``params_path`` asks for; local when the section is absent."""
    data = read_yaml(params_path)
    params = validate_block(data, SECTION, ExecutorParams, None, params_path) if SECTION in data else ExecutorParams()
    return executor_for(params)
