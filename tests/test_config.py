"""The params schema: every profile validates; bad values fail naming the key and what was expected."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from sound2video.config import ParamsError, validate_all
from sound2video.profiles import use


@pytest.fixture(autouse=True)
def _in_repo(repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)


@pytest.fixture
def demo() -> dict:
    return yaml.safe_load(open("params.yaml"))


def _check(tmp_path, data) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    validate_all(path)


@pytest.mark.parametrize("name", ["demo", "paper", "micro"])
def test_profiles_validate(name):
    out = validate_all(f"configs/{name}.yaml")
    assert out["profile"] == name


def test_params_yaml_is_the_demo_profile():
    assert open("params.yaml").read() == open("configs/demo.yaml").read()


def test_paper_profile_matches_the_paper():
    p = validate_all("configs/paper.yaml")
    assert len(p["download"].classes) == 9 and p["download"].source.kind == "authors_csv"
    assert (p["clip"].clip_seconds, p["clip"].clips_per_video, p["clip"].width, p["clip"].height) == (10, 10, 1280, 720)


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["clip"].update(fpz=30), r"clip\.fpz: unknown key"),
    (lambda d: d["clip"].update(fps="thirty"), r"clip\.fps: .*integer.*'thirty'"),
    (lambda d: d["clip"].update(clip_seconds=-10), r"clip\.clip_seconds: .*greater than 0.*-10"),
    (lambda d: d["clip"].update(workers=0), r"clip\.workers: .*greater than or equal to 1"),
    (lambda d: d["download"].update(workers=0), r"download\.workers: .*greater than or equal to 1"),
    (lambda d: d["download"].update(classes=["raining", "lava_lamp"]), r"download\.classes: .*unknown class.*lava_lamp"),
    (lambda d: d["download"]["source"].update(kind="torrent"), r"download\.source\.kind: .*'synthetic'"),
    (lambda d: d["download"]["source"]["synthetic"].update(duration_seconds=-1),
     r"download\.source\.synthetic\.duration_seconds: .*greater than 0"),
    (lambda d: d["clip"].update(clip_seconds=1.05), r"clip: .*whole number of frames"),
    (lambda d: d["clip"]["scene"].update(policy="ignore"), r"clip\.scene\.policy: .*'flag' or 'drop'"),
    (lambda d: d["shard"].update(splits={"train": 0.5, "val": 0.1}), r"shard\.splits: .*sum to 1"),
    (lambda d: d.update(extra_section={}), r"unknown top-level key\(s\) \['extra_section'\]"),
    (lambda d: d["download"].update(rate_limit="fast"), r"download\.rate_limit: .*'5M'"),
])
def test_bad_params_name_the_key(tmp_path, demo, mutate, expected):
    data = copy.deepcopy(demo)
    mutate(data)
    with pytest.raises(ParamsError, match=expected):
        _check(tmp_path, data)


def test_profile_use_switches_params(tmp_path, repo_root):
    target = tmp_path / "params.yaml"
    use("paper", params_path=target)
    assert target.read_text() == (repo_root / "configs" / "paper.yaml").read_text()
    with pytest.raises(ParamsError, match="no profile 'nope'; available: demo, micro, paper"):
        use("nope", params_path=target)


def test_stage_refuses_bad_params_before_work(tmp_path, demo, repo_root):
    demo["download"]["workers"] = 0
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(demo))
    out = tmp_path / "raw"
    r = subprocess.run([sys.executable, "stages/download.py", "--params", str(tmp_path / "p.yaml"), "--out", str(out)],
                       cwd=repo_root, capture_output=True, text=True)
    assert r.returncode == 2 and "download.workers" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
