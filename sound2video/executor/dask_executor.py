"""The work queue on Dask distributed: an existing scheduler (``address``) or a LocalCluster the stage starts and
stops. Items are submitted in their order, results come back as they finish; the driver alone writes the ledger.

A worker process that dies mid-item costs a re-run of that item only: the scheduler reschedules the tasks of a lost
worker (up to ``distributed.scheduler.allowed-failures`` times), and ``retries`` re-runs an item whose worker raised.
Workers write their files straight into the stage's output folder, so on several machines that folder (the
repository) must be on a shared filesystem at the same path.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from .params import ExecutorParams

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def _task_name(worker: Callable[..., Any]) -> str:
    inner = getattr(worker, "func", worker)  # functools.partial
    return str(getattr(inner, "__name__", "item")).replace("_", "-")


def dask_executor(
    worker: Callable[[T], R], items: Sequence[T], workers: int, *, params: ExecutorParams
) -> Iterator[tuple[int, R]]:
    """Run ``worker`` over ``items`` on Dask; yield ``(index, result)`` as each completes. ``workers`` (the stage's
    own) sizes a LocalCluster when ``params.n_workers`` is null. A worker exception (after ``retries``) is re-raised
    here; closing the iterator cancels what has not run and stops a LocalCluster it started."""
    if not items:
        return
    from distributed import Client, LocalCluster, as_completed  # noqa: PLC0415 - heavy, only for kind: dask

    cluster = None
    if params.address:
        client = Client(params.address, timeout=params.connect_timeout_seconds)
        log.info("dask: scheduler %s, %d workers", params.address, len(client.scheduler_info()["workers"]))
    else:
        n = params.n_workers or workers
        per_worker = {k: v * params.threads_per_worker for k, v in params.resources.items()}
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=params.threads_per_worker,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            resources=per_worker or None,
        )
        client = Client(cluster, timeout=params.connect_timeout_seconds)
        log.info("dask: LocalCluster of %d worker processes x %d threads", n, params.threads_per_worker)
    futures: list[Any] = []
    try:
        prefix = _task_name(worker)
        run = uuid.uuid4().hex[:8]  # task keys unique to this run: a shared scheduler may hold another stage's
        keys = [f"{prefix}-{run}-{i}" for i in range(len(items))]
        futures = client.map(
            worker, list(items), key=keys, retries=params.retries, pure=False, resources=params.resources or None
        )
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):
            yield index[fut.key], fut.result()
    finally:
        if futures:
            client.cancel(futures)
        client.close()
        if cluster is not None:
            cluster.close()
