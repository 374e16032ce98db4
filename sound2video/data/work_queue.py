"""One ledgered work queue for the item-parallel data stages: reader -> worker -> writer.

The stage (the driver) reads its items, this module runs a worker function over them in parallel and hands each
result back to the driver as it completes, and the driver turns it into ledger rows. The ledger is the only writer:
workers return values and never touch it, so a run that is killed keeps every finished row (the ledger's journal) and
a rerun skips the items the ledger says are done.

The executor is the one replaceable part: any function ``(worker, items, workers) -> iterator of (index, result)``
that yields results as they complete (a thread pool here; Dask distributed in ``sound2video.data.executor``, chosen by
the ``executor`` params section). Workers therefore must be picklable (module-level functions, ``functools.partial``
of them), never lambdas or closures; ``rows`` and ``done`` run in the driver and may be closures.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sound2video.core.log import progress
from sound2video.data.ledger import Ledger

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

Row = dict[str, Any]
Executor = Callable[[Callable[[T], R], Sequence[T], int], Iterator[tuple[int, R]]]


def thread_executor(worker: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[tuple[int, R]]:
    """Run ``worker`` over ``items`` on ``workers`` threads (the work is ffmpeg/yt-dlp/IO, which release the GIL);
    yield ``(index, result)`` as each completes. Items are submitted in order. A worker exception is re-raised here
    after the items not yet started are cancelled."""
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = {pool.submit(worker, item): i for i, item in enumerate(items)}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def result_is_row(item: Any, result: Row) -> list[Row]:
    """The default ``rows``: the worker's result is the item's ledger row."""
    return [result]


@dataclass
class QueueResult(Generic[T, R]):
    """What a queue run did: ``results`` in item order (only the items that ran), how many were skipped as done,
    and the recorded ledger rows counted by status."""

    results: list[tuple[T, R]]
    skipped: int
    statuses: Counter = field(default_factory=Counter)


def run_queue(
    items: Sequence[T],
    worker: Callable[[T], R],
    ledger: Ledger,
    *,
    workers: int,
    rows: Callable[[T, R], list[Row]] = result_is_row,  # type: ignore[assignment]
    done: Callable[[T], bool] | None = None,
    desc: str | None = None,
    unit: str = "item",
    executor: Executor = thread_executor,
) -> QueueResult[T, R]:
    """Run ``worker`` over the ``items`` that are not ``done`` and record ``rows(item, result)`` in ``ledger``.

    ``done(item)`` is asked once per item before anything runs (resume: skip what the ledger already holds).
    ``rows`` runs in the driver, in completion order; every row must carry a ``status`` (and the ledger's other
    columns, ``reason`` included, as the stage defines them). Workers report item failures in their result; an
    exception from a worker is a bug and stops the queue (rows recorded so far stay in the ledger). ``desc`` names
    the progress bar and the log line; None runs silently.
    """
    todo = [item for item in items if done is None or not done(item)]
    skipped = len(items) - len(todo)
    if desc:
        log.info("%s: %d items, %d to do, %d workers", desc, len(items), len(todo), workers)
    finished: dict[int, R] = {}
    statuses: Counter = Counter()
    bar = progress(total=len(todo), desc=desc, unit=unit) if desc else None
    completed = executor(worker, todo, workers)
    try:
        for index, result in completed:
            for row in rows(todo[index], result):
                if "status" not in row:
                    raise ValueError(f"{desc or 'work queue'}: a ledger row without 'status': {sorted(row)}")
                ledger.record(row)
                statuses[row["status"]] += 1
            finished[index] = result
            if bar is not None:
                bar.update()
    finally:
        close = getattr(completed, "close", None)
        if close is not None:  # stop the executor now (cancel what has not started), not when it is collected
            close()
        if bar is not None:
            bar.close()
    return QueueResult([(todo[i], finished[i]) for i in sorted(finished)], skipped, statuses)
