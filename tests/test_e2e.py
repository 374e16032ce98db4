"""`dvc repro` of the micro profile in a temporary git + DVC repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import webdataset as wds
import yaml

pytestmark = (
    pytest.mark.e2e
)  # `--dist loadfile` (pyproject): one worker runs this module and builds the micro repo once


def sh(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    r = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, f"{args} failed:\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def micro_repo(tmp_path_factory) -> Path:
    repo = Path(__file__).resolve().parents[1]
    d = tmp_path_factory.mktemp("repo")
    for item in ("dvc.yaml", "stages", "sound2video", "configs"):
        src = repo / item
        (
            shutil.copytree(src, d / item, ignore=shutil.ignore_patterns("__pycache__"))
            if src.is_dir()
            else shutil.copy(src, d / item)
        )
    (d / "data").mkdir()
    shutil.copy(repo / "data" / "classes.csv", d / "data" / "classes.csv")
    shutil.copytree(repo / "data" / "lists", d / "data" / "lists")  # label tables and public lists (a stage dep)
    curated = d / "data" / "curation" / "frog_croaking"  # as `sound2video curate new frog_croaking` leaves it
    curated.mkdir(parents=True)
    shutil.copy(repo / "data" / "curation" / "frog_croaking" / "class.json", curated / "class.json")
    shutil.copy(repo / "configs" / "micro.yaml", d / "params.yaml")
    dvc = str(Path(sys.executable).parent / "dvc")
    sh("git", "init", "-q", cwd=d)
    sh(dvc, "init", "-q", cwd=d)
    sh("git", "add", "-A", cwd=d)
    sh("git", "commit", "-qm", "init", cwd=d)
    return d


def dvc(repo: Path, *args: str) -> str:
    r = sh(str(Path(sys.executable).parent / "dvc"), *args, cwd=repo)
    return r.stdout + r.stderr


def test_repro_builds_then_noop_then_partial(micro_repo):
    first = dvc(micro_repo, "repro")
    for stage in ("download", "cut", "shard"):
        for dataset in ("landscape", "vggsound"):
            assert f"Running stage '{stage}@{dataset}'" in first
    assert "Running stage 'train_audio'" in first
    tower = json.loads((micro_repo / "metrics/details/audio_train.json").read_text())
    assert {"zero_shot_top1", "zero_shot_top5", "a2i_r1", "a2i_r5", "i2a_r1", "i2a_r5"} <= set(tower)
    assert set(json.loads((micro_repo / "metrics/audio_train.json").read_text())) == {"zero_shot_top1", "a2i_r1"}
    assert (micro_repo / "models/audio/model.safetensors").is_file()
    assert "Running stage 'stylegan3'" in first and "Running stage 'train_inversion'" in first
    inversion = json.loads((micro_repo / "metrics/details/inversion_train.json").read_text())
    assert {"lpips", "mse", "psnr", "mse_wavg"} <= set(inversion) and "offline_profile" in inversion
    assert (micro_repo / "models/inversion/model.safetensors").is_file()
    assert (micro_repo / "plots/inversion/grid.png").is_file()
    assert "Running stage 'train_video'" in first and "Running stage 'evaluate'" in first
    video = json.loads((micro_repo / "metrics/details/video_train.json").read_text())
    assert {
        "judge_accuracy",
        "judge_accuracy_zero_audio",
        "switch_accuracy",
        "clip_av",
        "clip_at",
        "steps",
        "seconds",
    } <= set(video) and video["steps"] == 4
    assert json.loads((micro_repo / "models/video/config.json").read_text())["format"] == "video"
    assert (micro_repo / "plots/video/samples.png").is_file() and (micro_repo / "plots/video/train_log.csv").is_file()
    rows = {p.stem for p in (micro_repo / "metrics/evaluate").glob("*.json")}
    assert {"real", "model", "zero_audio", "traumerai", "random_walk"} <= rows
    assert (micro_repo / "reports/evaluate/index.html").is_file()
    flac = next((micro_repo / "data/landscape/clips").rglob("*.flac"))
    sh(sys.executable, "-m", "sound2video.cli", "generate", "--audio", str(flac), "--out", "gen.mp4", cwd=micro_repo)
    assert (micro_repo / "gen.mp4").stat().st_size > 0
    shards = sorted((micro_repo / "data/landscape/shards").glob("*.tar"))
    samples = list(wds.WebDataset([str(s) for s in shards], shardshuffle=False, empty_check=False).decode())
    assert len(samples) == 12  # 3 classes x 2 videos x 2 clips
    card = yaml.safe_load((micro_repo / "data/landscape/card.json").read_text())
    assert card["synthetic"] is True and card["clips"] == 12
    metrics = dvc(micro_repo, "metrics", "show")
    assert "metrics/data_landscape.json" in metrics and "metrics/data_vggsound.json" in metrics
    assert "card.json" not in metrics  # the per-class tables stay in the data cards, out of the metrics table
    assert "metrics/evaluate/model.json" in metrics and "metrics/video_train.json" in metrics
    # headline numbers only (DVC prints one column per key across all files: about 3,000 characters wide when the
    # data cards' per-class tables were declared, 826 with every detail key, 240 at most now)
    assert max(len(line) for line in metrics.splitlines()) <= 240, metrics
    headline = json.loads((micro_repo / "metrics/data_landscape.json").read_text())
    assert headline["clips"] == card["clips"] == headline["train"] + headline["val"] + headline["test"]

    second = dvc(micro_repo, "repro")
    assert "Running stage" not in second and "up to date" in second
    dvc(micro_repo, "status", "-q")

    params = yaml.safe_load((micro_repo / "params.yaml").read_text())
    params["cut"]["landscape"]["video"]["crf"] = 30
    (micro_repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    third = dvc(micro_repo, "repro")
    assert "Stage 'download@landscape' didn't change, skipping" in third
    assert "Stage 'train_audio' didn't change, skipping" in third
    assert "Stage 'train_inversion' didn't change, skipping" in third
    assert "Running stage 'cut@landscape'" in third and "Running stage 'shard@landscape'" in third
    assert "Running stage 'download@landscape'" not in third


def _samples(repo: Path, dataset: str) -> dict[str, dict[str, bytes]]:
    """Every sample of a data set's shards as its members' raw bytes, by key."""
    shards = sorted((repo / "data" / dataset / "shards").glob("*.tar"))
    out = {}
    for sample in wds.WebDataset([str(s) for s in shards], shardshuffle=False, empty_check=False):
        out[sample["__key__"]] = {k: v for k, v in sample.items() if not k.startswith("__")}
    return out


def test_models_are_dvc_artifacts(micro_repo, tmp_path):
    """`dvc artifacts get REPO <m>-model` fetches each trained model folder byte for byte from the remote."""
    dvc(micro_repo, "remote", "add", "-d", "store", str(tmp_path / "remote"))
    folders = {"audio-model": "models/audio", "stylegan3-model": "models/stylegan3"}
    folders |= {"inversion-model": "models/inversion", "video-model": "models/video"}
    dvc(micro_repo, "push", *folders.values())
    sh("git", "add", "-A", cwd=micro_repo)
    sh("git", "commit", "-qm", "micro build with a remote", cwd=micro_repo)
    for name, folder in folders.items():
        sh("git", "tag", "-a", f"{name}@v0.1.0", "-m", f"{name} of the micro build", cwd=micro_repo)  # a version
        out = tmp_path / "got" / name
        dvc(tmp_path, "artifacts", "get", str(micro_repo), name, "-o", str(out))
        made = {p.name: p.read_bytes() for p in (micro_repo / folder).iterdir()}
        assert {p.name: p.read_bytes() for p in out.iterdir()} == made and "model.safetensors" in made, name


def test_published_class_joins_the_shards_and_old_samples_stay(micro_repo):
    """curate (ran in the first repro) -> a review accepts the true clips left pending -> publish -> repro of the
    landscape data stages: the new class's clips are added, every existing sample is byte-identical."""
    from sound2video.curation import decisions

    report = json.loads((micro_repo / "data/curation/frog_croaking/report.json").read_text())
    assert report["average_precision"] >= 0.9 and report["mismatches_below_true"] is True
    work = micro_repo / "data/curation/frog_croaking/work"
    scores = pd.read_parquet(work / "scores.parquet")
    truth = pd.read_csv(work / "demo_pool.csv", dtype=str).set_index("id")["truth"]
    for clip in scores.loc[scores["auto"] == "review", "id"]:  # what a reviewer decides on the page
        choice = "accept" if truth.get(clip) == "1" else "reject"
        decisions.record(
            micro_repo / "data/curation/frog_croaking" / decisions.DECISIONS_NAME, "frog_croaking", clip, choice
        )
    before = _samples(micro_repo, "landscape")
    cli = (sys.executable, "-m", "sound2video.cli", "curate", "publish", "frog_croaking", "--dataset", "landscape")
    sh(*cli, cwd=micro_repo)
    params, classes = (micro_repo / "params.yaml").read_text(), (micro_repo / "data/classes.csv").read_text()
    sh(*cli, cwd=micro_repo)  # idempotent
    assert (micro_repo / "params.yaml").read_text() == params and (
        micro_repo / "data/classes.csv"
    ).read_text() == classes
    out = dvc(micro_repo, "repro", "shard@landscape")
    assert "Running stage 'cut@landscape'" in out and "Running stage 'shard@landscape'" in out
    after = _samples(micro_repo, "landscape")
    added = sorted(set(after) - set(before))
    assert added and set(before) <= set(after)
    assert {json.loads(after[k]["json"])["class"] for k in added} == {"frog_croaking"}
    for key, members in before.items():
        assert after[key] == members, key


def test_paper_profile_plans(micro_repo):
    shutil.copy(micro_repo / "configs" / "paper.yaml", micro_repo / "params.yaml")
    dag = dvc(micro_repo, "dag")
    for stage in ("download", "cut", "shard"):
        for dataset in ("landscape", "vggsound"):
            assert f"{stage}@{dataset}" in dag
    assert "stylegan3" in dag and "train_inversion" in dag
    # `repro --dry` needs every planned stage's dependencies to exist (DVC #9818): the data stages depend on the
    # previous stages' ledgers (not on the raw/clips working folders), so with the micro build in place the whole
    # paper pipeline dry-runs.
    dry = dvc(micro_repo, "repro", "--dry")
    assert "Running stage 'download@vggsound'" in dry and "--dataset vggsound" in dry
    assert "Running stage 'download@landscape'" in dry  # paper params differ from micro's
    assert "Running stage 'shard@landscape'" in dry and "Running stage 'evaluate'" in dry


def test_paper_profile_dry_runs_every_stage_on_a_fresh_clone(micro_repo, tmp_path):
    """Nothing built: `dvc repro --dry --force` lists every stage of the paper profile with its command (plain
    `--dry` stops at the first stage whose dependency is yet to be made, treeverse/dvc#9818)."""
    fresh = tmp_path / "fresh"
    sh("git", "clone", "-q", str(micro_repo), str(fresh), cwd=tmp_path)
    shutil.copy(fresh / "configs" / "paper.yaml", fresh / "params.yaml")
    dry = dvc(fresh, "repro", "--dry", "--force")
    stages = [f"{s}@{d}" for s in ("download", "cut", "shard") for d in ("landscape", "vggsound")]
    for stage in [*stages, "train_audio", "stylegan3", "train_inversion", "train_video", "evaluate"]:
        assert f"Running stage '{stage}'" in dry
    assert (
        "--dataset vggsound" in dry and not (fresh / "data" / "landscape" / "raw" / "ledger.parquet").exists()
    )  # nothing ran
