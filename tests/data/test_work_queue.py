"""The ledgered work queue: every item once, the driver as the only ledger writer, resume, errors, executors."""

from __future__ import annotations

import threading
from functools import partial
from pathlib import Path

import pytest

from sound2video.data.ledger import Ledger
from sound2video.data.work_queue import run_queue

COLUMNS = ["id", "status", "reason", "value"]


def square(item: int, fail_on: int | None = None) -> dict:
    if item == fail_on:
        raise RuntimeError(f"worker bug on {item}")
    return {
        "id": item,
        "status": "ok" if item % 3 else "rejected",
        "reason": None if item % 3 else "multiple of 3",
        "value": item * item,
    }


class WatchedLedger(Ledger):
    """Remembers which threads wrote to it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.writers: set[str] = set()

    def record(self, row):
        self.writers.add(threading.current_thread().name)
        super().record(row)


def test_every_item_once_recorded_by_the_driver_only(tmp_path: Path):
    ledger = WatchedLedger(tmp_path / "l.parquet", COLUMNS)
    out = run_queue(list(range(10)), square, ledger, workers=3, desc="test")
    assert [item for item, _ in out.results] == list(range(10))  # item order, whatever the completion order
    assert [r["value"] for _, r in out.results] == [i * i for i in range(10)]
    assert sorted(r["id"] for r in ledger.rows()) == list(range(10))
    assert ledger.writers == {threading.main_thread().name}
    assert out.skipped == 0 and out.statuses == {"ok": 6, "rejected": 4}
    assert ledger.get(3)["reason"] == "multiple of 3"


def test_resume_skips_what_the_ledger_holds(tmp_path: Path):
    path = tmp_path / "l.parquet"
    run_queue(list(range(4)), square, Ledger(path, COLUMNS), workers=2)  # killed before items 4..7: journal only
    ledger = Ledger(path, COLUMNS)
    calls: list[int] = []

    def counting(item: int) -> dict:
        calls.append(item)
        return square(item)

    out = run_queue(list(range(8)), counting, ledger, workers=2, done=lambda i: ledger.get(i) is not None)
    assert sorted(calls) == [4, 5, 6, 7] and out.skipped == 4
    assert sorted(r["id"] for r in ledger.rows()) == list(range(8))


def test_rows_hook_shapes_the_ledger_rows(tmp_path: Path):
    ledger = Ledger(tmp_path / "l.parquet", COLUMNS)
    out = run_queue(
        [1, 2], square, ledger, workers=2, rows=lambda item, r: [r, r | {"id": item + 100, "status": "extra"}]
    )
    assert sorted(r["id"] for r in ledger.rows()) == [1, 2, 101, 102] and out.statuses["extra"] == 2


def test_worker_exception_stops_the_queue_and_keeps_finished_rows(tmp_path: Path):
    path = tmp_path / "l.parquet"
    with pytest.raises(RuntimeError, match="worker bug on 3"):
        run_queue(list(range(50)), partial(square, fail_on=3), Ledger(path, COLUMNS), workers=1)
    kept = Ledger(path, COLUMNS)  # read back from the journal, as a rerun would
    assert sorted(r["id"] for r in kept.rows()) == [0, 1, 2]  # one worker: results arrive in order


def test_a_row_without_status_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="without 'status'"):
        run_queue([1], lambda i: {"id": i}, Ledger(tmp_path / "l.parquet", COLUMNS), workers=1)


def test_the_executor_is_replaceable(tmp_path: Path):
    def backwards(worker, items, workers):  # completes in reverse order, serially
        for i in reversed(range(len(items))):
            yield i, worker(items[i])

    ledger = Ledger(tmp_path / "l.parquet", COLUMNS)
    out = run_queue([5, 6, 7], square, ledger, workers=4, executor=backwards)
    assert [item for item, _ in out.results] == [5, 6, 7]
    assert ledger.frame()["value"].tolist() == [25, 36, 49]
