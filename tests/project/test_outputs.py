"""`make clean-data` is derived from dvc.yaml: every declared output and working folder, never a source file."""

from __future__ import annotations

from pathlib import Path

from sound2video.project.outputs import removable, stage_outputs

REPO = Path(__file__).resolve().parents[2]


def test_every_declared_output_and_working_folder_is_removable():
    paths = set(removable(REPO))
    for stage in stage_outputs(REPO):
        assert set(stage.declared) <= paths, stage.stage
    for ds in ("landscape", "vggsound"):  # the data stages' working folders (no DVC output of their own)
        assert {f"data/{ds}/raw", f"data/{ds}/clips", f"data/{ds}/shards", f"metrics/data_{ds}.json"} <= paths
    for m in ("audio", "inversion", "video"):
        assert {f"models/{m}", f"checkpoints/{m}", f"metrics/{m}_train.json"} <= paths
    assert {"models/stylegan3", "reports/evaluate", "metrics/evaluate", "metrics/curation.json"} <= paths


def test_sources_are_never_removable():
    paths = removable(REPO)
    for source in ("params.yaml", "data/classes.csv", "data/lists", "data/curation", "configs", "stages"):
        assert not any(p == source or source.startswith(p + "/") for p in paths), source
    assert not any(p.endswith("class.json") for p in paths)
