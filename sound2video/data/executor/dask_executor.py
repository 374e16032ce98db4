"""The work queue on Dask distributed: an existing scheduler (``address``) or a LocalCluster the stage starts once
(on its first queue) and stops when it ends. Items are submitted in their order, results come back as they finish;
the driver alone writes the ledger.

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

from sound2video.data.executor.params import ExecutorParams

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def _task_name(worker: Callable[..., Any]) -> str:
    inner = getattr(worker, "func", worker)  # functools.partial
    return str(getattr(inner, "__name__", "item")).replace("_", "-")


class DaskExecutor:
    """The work queue's ``Executor`` on Dask; one client (and LocalCluster) for all the queues of a stage. Use it
    as a context manager (or call ``close``) so that a LocalCluster it started is stopped."""

    def __init__(self, params: ExecutorParams):
        self.params = params
        self._client: Any = None
        self._cluster: Any = None

    def _connect(self, workers: int) -> Any:
        if self._client is not None:
            return self._client
        from distributed import Client, LocalCluster  # noqa: PLC0415 - heavy, only for kind: dask

        p = self.params
        if p.address:
            self._client = Client(p.address, timeout=p.connect_timeout_seconds)
            log.info("dask: scheduler %s, %d workers", p.address, len(self._client.scheduler_info()["workers"]))
        else:
            n = p.n_workers or workers
            per_worker = {k: v * p.threads_per_worker for k, v in p.resources.items()}
            self._cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=p.threads_per_worker,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                resources=per_worker or None,
            )
            self._client = Client(self._cluster, timeout=p.connect_timeout_seconds)
            log.info("dask: LocalCluster of %d worker processes x %d threads", n, p.threads_per_worker)
        return self._client

    def __call__(self, worker: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[tuple[int, R]]:
        """Run ``worker`` over ``items``; yield ``(index, result)`` as each completes. ``workers`` (the stage's own)
        sizes a LocalCluster when ``n_workers`` is null. A worker exception (after ``retries``) is re-raised here;
        closing the iterator cancels what has not run."""
        if not items:
            return
        from distributed import as_completed  # noqa: PLC0415

        client = self._connect(workers)
        run = uuid.uuid4().hex[:8]  # task keys unique to this queue: a shared scheduler may hold other stages' tasks
        keys = [f"{_task_name(worker)}-{run}-{i}" for i in range(len(items))]
        futures = client.map(
            worker,
            list(items),
            key=keys,
            retries=self.params.retries,
            pure=False,
            resources=self.params.resources or None,
        )
        try:
            index = {f.key: i for i, f in enumerate(futures)}
            for fut in as_completed(futures):
                yield index[fut.key], fut.result()
        finally:
            client.cancel(futures)

    def close(self) -> None:
        """Disconnect, and stop a LocalCluster this executor started."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
