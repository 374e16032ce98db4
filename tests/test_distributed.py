"""Training under torchrun: two CPU processes (gloo) on one global batch end with the weights of one process,
through the real audio tower step (BatchNorm, InfoNCE over the batch, SpecAugment); rank 0 alone writes; a run
interrupted under DDP resumes under DDP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from sound2video.launch import nproc_per_node, torchrun_command
from sound2video.params_base import ParamsError

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().parent / "ddp_audio_run.py"
BLOCK = dict(
    mel={"sample_rate": 16000, "clip_seconds": 1.0, "n_fft": 512, "hop_length": 160, "n_mels": 16, "fmax": 8000},
    encoder={"width": 4, "blocks": [1, 1], "embed_dim": 16, "dropout": 0.0},
    steps=6,
    batch_size=6,
    lr=3e-3,
    warmup_steps=1,
    checkpoint_every=3,
    log_every=1,
    augment_weight=0.5,
    device="cpu",
)


def run_script(tmp_path: Path, nproc: int, ckpt: str, out: str, *stop: str) -> None:
    params = tmp_path / f"params-{nproc}.yaml"
    params.write_text(yaml.safe_dump({"train_audio": BLOCK | {"distributed": {"nproc_per_node": nproc}}}))
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        env.pop(k, None)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(params), str(tmp_path / ckpt), str(tmp_path / out), *stop],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_params_switch_and_the_torchrun_command(tmp_path: Path):
    p = tmp_path / "params.yaml"
    p.write_text("train_audio: {steps: 3}\n")
    assert nproc_per_node(str(p), "train_audio") == 1
    p.write_text("train_audio: {distributed: {nproc_per_node: 0}}\n")
    with pytest.raises(ParamsError, match="train_audio.distributed"):
        nproc_per_node(str(p), "train_audio")
    cmd = torchrun_command(2, ["stages/train_audio.py", "--params", "params.yaml"])
    assert cmd[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    assert cmd[-3:] == ["stages/train_audio.py", "--params", "params.yaml"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_gloo_processes_equal_one_process_and_resume(tmp_path: Path):
    run_script(tmp_path, 1, "one", "one.pt")
    run_script(tmp_path, 2, "two", "two.pt", "3")  # interrupted after the step-3 checkpoint ...
    assert torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=True)["step"] == 3
    run_script(tmp_path, 2, "two", "two.pt")  # ... and resumed, still under DDP
    one, two = torch.load(tmp_path / "one.pt"), torch.load(tmp_path / "two.pt")
    assert one["world"] == 1 and two["world"] == 2
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["checkpoint.pt"]  # rank 0 alone wrote
    assert [h["step"] for h in two["history"]] == [1, 2, 3, 4, 5, 6]
    for a, b in zip(one["history"], two["history"]):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4, abs=1e-5)
    assert one["state"].keys() == two["state"].keys()
    for k, v in one["state"].items():
        assert torch.allclose(v.float(), two["state"][k].float(), rtol=1e-4, atol=1e-5), k
    changed = [k for k, v in one["state"].items() if v.is_floating_point() and "running" not in k]
    assert changed, "the comparison must cover trained weights"
