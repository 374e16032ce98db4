"""The ``executor`` section: the work queue and the cut stage on Dask distributed (a LocalCluster of 2 worker
processes on 127.0.0.1) give byte-identical outputs and ledgers to the local thread pool, survive a killed worker,
and resume across engines."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
from dask_workers import die_after_first, write_square
from media import make_video
from test_cut import downloads_for

from sound2video.core.params_base import ParamsError
from sound2video.data.cut.params import CutParams
from sound2video.data.cut.stage import cut_clip
from sound2video.data.cut.stage import run as cut_run
from sound2video.data.executor import ExecutorParams, executor_for, load_params, open_executor
from sound2video.data.ledger import LEDGER_NAME, Ledger
from sound2video.data.work_queue import run_queue, thread_executor

COLUMNS = ["id", "status", "reason", "value"]
DASK2 = ExecutorParams(kind="dask", n_workers=2, threads_per_worker=1, retries=1)


class KillOneCutWorker:
    """An executor around another that kills the worker process of the first clip cut (after its files are
    written, before its result comes back)."""

    def __init__(self, inner, marker: Path):
        self.inner, self.marker = inner, marker

    def __call__(self, worker, items, workers):
        if getattr(worker, "func", None) is cut_clip:
            worker = partial(die_after_first, worker=worker, marker=str(self.marker))
        return self.inner(worker, items, workers)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, with its bytes."""
    return {str(f.relative_to(folder)): f.read_bytes() for f in sorted(folder.rglob("*")) if f.is_file()}


def test_params_validated_and_local_by_default(tmp_path: Path):
    p = tmp_path / "params.yaml"
    p.write_text("datasets: [landscape]\n")
    assert executor_for(load_params(p)) is thread_executor  # no section: the embedded default
    p.write_text("executor: {kind: local, address: 'tcp://127.0.0.1:8786'}\n")
    with pytest.raises(ParamsError, match="executor: .*only to kind: dask"):
        load_params(p)
    p.write_text("executor: {kind: dask, address: 'localhost:8786'}\n")
    with pytest.raises(ParamsError, match="executor.address"):
        load_params(p)
    p.write_text("executor: {kind: slurm}\n")
    with pytest.raises(ParamsError, match="executor.kind"):
        load_params(p)


def test_dask_is_imported_only_for_kind_dask():
    code = (
        "import sys; import sound2video.data.cut.stage, sound2video.data.download.stage, sound2video.data.executor as e;"
        "e.executor_for(e.ExecutorParams(kind='dask'));"
        "assert not [m for m in ('dask', 'distributed') if m in sys.modules], 'dask imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_killed_worker_costs_one_retry_and_nothing_is_lost(tmp_path: Path):
    marker = tmp_path / "died"
    ledger = Ledger(tmp_path / "dask" / "ledger.parquet", COLUMNS)
    (tmp_path / "dask").mkdir()
    worker = partial(write_square, out_dir=str(tmp_path / "dask"), die_on=3, marker=str(marker))
    with open_executor(DASK2) as dask:
        out = run_queue(list(range(8)), worker, ledger, workers=2, executor=dask)
    assert marker.exists(), "the worker for item 3 must have died once"
    assert [i for i, _ in out.results] == list(range(8)) and out.statuses == {"ok": 8}
    assert os.getpid() not in {r["pid"] for _, r in out.results}, "items ran in worker processes"
    df = ledger.finalise()
    assert list(df["id"]) == list(range(8))  # every item once
    local = Ledger(tmp_path / "local" / "ledger.parquet", COLUMNS)
    (tmp_path / "local").mkdir()
    run_queue(list(range(8)), partial(write_square, out_dir=str(tmp_path / "local")), local, workers=2)
    local.finalise()
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")  # the half-written file was redone


@pytest.mark.slow
def test_interrupted_on_dask_resumes_locally(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger.parquet", COLUMNS)
    worker = partial(write_square, out_dir=str(tmp_path))
    with open_executor(DASK2) as dask:
        run_queue(list(range(4)), worker, ledger, workers=2, executor=dask)  # killed before 4..7
    resumed = Ledger(tmp_path / "ledger.parquet", COLUMNS)  # a new process: journal only
    out = run_queue(list(range(8)), worker, resumed, workers=2, done=lambda i: resumed.get(i) is not None)
    assert out.skipped == 4 and [i for i, _ in out.results] == [4, 5, 6, 7]
    assert list(resumed.finalise()["id"]) == list(range(8))


@pytest.mark.slow
def test_cut_stage_byte_identical_on_local_and_dask_with_a_worker_killed(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    make_video(src / "a.mp4", size=(320, 180), seconds=2.2)
    make_video(src / "b.mp4", size=(320, 180), seconds=1.2)
    make_video(src / "short.mp4", size=(320, 180), seconds=0.4)  # rejected source: a plan-queue ledger row
    p = CutParams.model_validate(
        dict(
            clip_seconds=1,
            clips_per_video=2,
            width=160,
            height=90,
            fps=10,
            video={"preset": "ultrafast", "crf": 30},
            audio={"sample_rate": 16000, "channels": 1},
            workers=2,
        )
    )
    local = cut_run(p, downloads_for(src), src, tmp_path / "local")
    marker = tmp_path / "killed"
    with open_executor(DASK2) as executor:  # one LocalCluster for both of the stage's queues (plan, cut)
        dask = cut_run(p, downloads_for(src), src, tmp_path / "dask", KillOneCutWorker(executor, marker))
    assert marker.exists(), "a worker process must have died mid-stage"
    assert sorted(local["status"]) == ["ok", "ok", "ok", "rejected"]
    assert not dask.duplicated(["video_id", "clip_index"]).any()  # every clip once
    assert local.equals(dask)
    files = tree(tmp_path / "local")
    assert LEDGER_NAME in files and sum(f.endswith(".mp4") for f in files) == 3
    assert files == tree(tmp_path / "dask")  # clips and the ledger's parquet, byte for byte


@pytest.mark.slow
def test_download_stage_byte_identical_on_local_and_dask(tmp_path: Path, repo_root: Path, monkeypatch, caplog):
    """The dask side runs through the stage's entry (``main``), which reads the ``executor`` section."""
    import yaml

    from sound2video.data.classes import ClassTable
    from sound2video.data.download.params import DownloadParams
    from sound2video.data.download.stage import main as download_main
    from sound2video.data.download.stage import run as download_run

    monkeypatch.chdir(repo_root)
    block = {
        "classes": ["raining", "thunderstorm"],
        "min_height": 180,
        "workers": 2,
        "source": {
            "kind": "synthetic",
            "synthetic": {
                "videos_per_class": 2,
                "duration_seconds": 1.0,
                "resolutions": [[320, 180]],
                "fps": 10,
                "sample_rate": 16000,
            },
        },
    }
    p = DownloadParams.model_validate(block, context={"known_classes": ClassTable.read().names})
    local = download_run(p, ClassTable.read(), tmp_path / "local")
    params = tmp_path / "params.yaml"
    executor = {"kind": "dask", "n_workers": 2, "retries": 1}
    params.write_text(
        yaml.safe_dump({"datasets": ["landscape"], "download": {"landscape": block}, "executor": executor})
    )
    caplog.set_level(logging.INFO, logger="sound2video.data.executor")
    download_main(str(params), "data/classes.csv", "landscape", str(tmp_path / "dask" / "raw"))
    assert "LocalCluster of 2 worker processes" in caplog.text
    assert list(local["status"]) == ["ok"] * 4
    assert tree(tmp_path / "local") == tree(tmp_path / "dask" / "raw")  # media, ledger and source record
