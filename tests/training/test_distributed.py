"""Training under torchrun: two CPU processes (gloo) on one global batch end with the weights of one process,
through real step functions — the audio tower (BatchNorm, InfoNCE over the batch, SpecAugment) and the video GAN
(D with time reversal and R1, G with CLIP terms); rank 0 alone writes; a run interrupted under DDP resumes with
another process count. The single-process reference runs in the test's own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from ddp_train_run import run

from sound2video.core.params_base import ParamsError
from sound2video.training.launch import nproc_per_node, torchrun_command

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parents[1] / "ddp_train_run.py"
AUDIO = dict(
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
VIDEO = dict(
    fps=4,
    frames=3,
    window_seconds=0.5,
    start={"kind": "mapping", "psi": 0.5},
    encoder={"width": 8, "blocks": [1, 1, 1, 1], "style_channels": 8, "sound_dim": 8},
    recurrent={"groups": [2, 4], "gru_layers": 1, "hidden": 8, "noise_dim": 4},
    discriminator={
        "image": {"width": 8, "layers": 2},
        "video": {"width": 8, "layers": 2, "temporal_kernel": 2, "two_scales": False},
        "loss": "nonsat_r1",
        "time_reverse_real": 0.5,
    },
    loss={"clip_av": 1.0, "clip_at": 1.0, "consistency": 0.1, "adv_image": 0.05, "adv_video": 0.05, "latent": 1.0},
    steps=3,
    batch_size=4,
    lr=0.003,
    warmup_steps=0,
    checkpoint_every=3,
    log_every=1,
    device="cpu",
)


# Biases of the convolutions that feed an InstanceNorm: the norm subtracts them again, so their gradient is zero up
# to float rounding, and Adam turns that rounding (which differs with the summation order over ranks) into steps of
# up to lr. They change no output; everything else matches within float tolerance.
NOISE_ONLY = {"d_image.net.2.bias": 3 * VIDEO["lr"], "d_video.scales.0.net.2.conv.bias": 3 * VIDEO["lr"]}


def params_file(tmp_path: Path, section: str, block: dict, nproc: int) -> str:
    path = tmp_path / f"{section}-{nproc}.yaml"
    path.write_text(yaml.safe_dump({section: block | {"distributed": {"nproc_per_node": nproc}}}))
    return str(path)


def torchrun(tmp_path: Path, kind: str, params: str, ckpt: str, out: str, *stop: str) -> dict:
    """Run the script as a stage runs: the launcher relaunches it under torchrun (2 processes)."""
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        env.pop(k, None)
    cmd = [sys.executable, str(SCRIPT), kind, params, str(tmp_path / ckpt), str(tmp_path / out), *stop]
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "training processes" in done.stderr  # it did relaunch under torchrun
    return torch.load(tmp_path / out, weights_only=True)  # tensors, lists and floats the run script saved


def assert_same_run(one: dict, two: dict) -> None:
    assert [h["step"] for h in one["history"]] == [h["step"] for h in two["history"]]
    for a, b in zip(one["history"], two["history"]):
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == pytest.approx(b[k], rel=1e-4, abs=1e-5), (a["step"], k)
    assert one["state"].keys() == two["state"].keys()
    for k, v in one["state"].items():
        if k in NOISE_ONLY:  # at most a few Adam steps apart, and without effect on any output
            assert torch.allclose(v.float(), two["state"][k].float(), atol=NOISE_ONLY[k]), k
        else:
            assert torch.allclose(v.float(), two["state"][k].float(), rtol=1e-4, atol=1e-5), k


def test_the_params_switch_and_the_torchrun_command(tmp_path: Path):
    p = tmp_path / "params.yaml"
    p.write_text("train_audio: {steps: 3}\n")
    assert nproc_per_node(str(p), "train_audio") == 1
    p.write_text("train_audio: {distributed: {nproc_per_node: 0}}\n")
    with pytest.raises(ParamsError, match="train_audio.distributed"):
        nproc_per_node(str(p), "train_audio")
    with pytest.raises(ValueError, match="multiple of distributed.nproc_per_node"):
        from sound2video.models.audio.configuration_audio import TrainAudioParams

        TrainAudioParams.model_validate({"batch_size": 5, "distributed": {"nproc_per_node": 2}})
    cmd = torchrun_command(2, ["stages/train_audio.py", "--params", "params.yaml"])
    assert cmd[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    assert cmd[-3:] == ["stages/train_audio.py", "--params", "params.yaml"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_audio_tower_two_gloo_processes_equal_one_and_resume_across_process_counts(tmp_path: Path):
    one = run("audio", params_file(tmp_path, "train_audio", AUDIO, 1), str(tmp_path / "one"), None)
    two_params = params_file(tmp_path, "train_audio", AUDIO, 2)
    two = torchrun(tmp_path, "audio", two_params, "two", "two.pt", "3")  # interrupted after the step-3 checkpoint
    assert two["world"] == 2 and torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=True)["step"] == 3
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["checkpoint.pt"]  # rank 0 alone wrote
    resumed = run("audio", two_params, str(tmp_path / "two"), None)  # the DDP checkpoint resumes in one process
    assert_same_run(one, resumed)
    assert any("running_mean" in k for k in two["state"]), "BatchNorm statistics are compared too"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_video_gan_two_gloo_processes_equal_one(tmp_path: Path):
    one = run("video", params_file(tmp_path, "train_video", VIDEO, 1), str(tmp_path / "one"), None)
    two = torchrun(tmp_path, "video", params_file(tmp_path, "train_video", VIDEO, 2), "two", "two.pt")
    assert two["world"] == 2 and {"loss_d", "r1", "loss_g", "adv_g"} <= set(two["history"][-1])
    assert_same_run(one, two)
