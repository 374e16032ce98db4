"""LHQ inversion: encoder shapes, losses, training (loss goes down, resume equivalence), images, stage, CLI."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from tiny_models import TINY_G

from sound2video.cli import main as cli
from sound2video.core.fsutil import sha256_file
from sound2video.metrics.image import load_lpips
from sound2video.models.inversion.configuration_inversion import (
    EncoderParams,
    ImageSourceParams,
    LossParams,
    LpipsParams,
    TrainInversionParams,
)
from sound2video.models.inversion.encoder import GradualStyleEncoder
from sound2video.models.inversion.images import generated_images, load_real, prepare_image, split, synthetic_pictures
from sound2video.models.inversion.losses import InversionLoss, LpipsLoss
from sound2video.models.inversion.train import checkpoint_fingerprint, train
from sound2video.models.stylegan3.stage import random_generator
from sound2video.project.validate import ParamsError, load_single


@pytest.fixture(scope="module")
def G():
    return random_generator(TINY_G)


@pytest.mark.parametrize(
    "backbone,num_ws,res", [("resnet34", 16, 64), ("resnet34", 10, 32), ("ir_se50", 18, 64), ("ir_se50", 6, 32)]
)
def test_encoder_output_shapes(backbone, num_ws, res):
    enc = GradualStyleEncoder(EncoderParams(backbone=backbone, width=8, blocks=[1, 1, 1, 1]), num_ws, 24, res)
    out = enc(torch.randn(2, 3, res, res))
    assert out.shape == (2, num_ws, 24)
    coarse, middle = min(3, num_ws), min(7, num_ws)
    # pSp's split: the heads of coarse ws read the 1/16 map (log2 of its size stride-2 convs), middle 1/8, fine 1/4
    n_convs = [sum(isinstance(m, torch.nn.Conv2d) for m in head.convs) for head in enc.styles]
    want = (
        [int(np.log2(res // 16))] * coarse
        + [int(np.log2(res // 8))] * (middle - coarse)
        + [int(np.log2(res // 4))] * (num_ws - middle)
    )
    assert n_convs == [max(1, w) for w in want]


def test_real_size_encoders_match_psp_structure():
    """pSp's IR-SE-50 GradualStyleEncoder for StyleGAN3-256 (16 ws): 86 head convs, about 238 M parameters."""
    enc = GradualStyleEncoder(EncoderParams(backbone="ir_se50"), 16, 512, 256)
    assert [len(stage) for stage in enc.body.stages] == [3, 4, 14, 3] and enc.body.channels == [128, 256, 512]
    assert sum(isinstance(m, torch.nn.Conv2d) for head in enc.styles for m in head.convs) == 86
    assert sum(p.numel() for p in enc.parameters()) / 1e6 == pytest.approx(238, abs=1)
    r34 = GradualStyleEncoder(EncoderParams(backbone="resnet34"), 16, 512, 256)
    assert [len(stage) for stage in r34.body.stages] == [3, 4, 6, 3]


def test_lpips_wrapper_matches_the_lpips_package(tmp_path):
    import lpips

    model = load_lpips("alex", "random")
    independent = lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False)
    independent.load_state_dict(model.state_dict())
    a, b = torch.rand(3, 3, 64, 64) * 2 - 1, torch.rand(3, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        ours = LpipsLoss(model)(a, b)
        theirs = torch.stack([independent(a[i : i + 1], b[i : i + 1]).flatten() for i in range(3)]).flatten()
    assert ours.shape == (3,)
    torch.testing.assert_close(ours, theirs)
    with torch.no_grad():
        assert LpipsLoss(model)(a, a).abs().max() < 1e-6


def test_loss_terms_follow_their_definitions(G):
    w_avg = G.mapping.w_avg
    lpips = LpipsLoss(load_lpips("alex", "random"))
    x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    ws = w_avg + torch.randn(2, G.num_ws, G.w_dim)
    total, parts = InversionLoss(LossParams(l2=2.0, lpips=0.5, clip=0, w_norm=0.1), lpips, None, w_avg)(x, y, ws)
    want_w = float(np.mean([np.linalg.norm((ws[i] - w_avg).numpy()) for i in range(2)]))
    assert parts["l2"] == pytest.approx(float(((x - y) ** 2).mean()), rel=1e-5)
    assert parts["w_norm"] == pytest.approx(want_w, rel=1e-5)
    assert float(total) == pytest.approx(2 * parts["l2"] + 0.5 * parts["lpips"] + 0.1 * parts["w_norm"], rel=1e-5)
    with pytest.raises(ValueError, match="no model"):
        InversionLoss(LossParams(clip=1.0), lpips, None, w_avg)


def _params(**over) -> TrainInversionParams:
    base = dict(
        images=ImageSourceParams(generated_images=24),
        encoder=EncoderParams(width=8, blocks=[1, 1, 1, 1]),
        loss=LossParams(l2=1.0, lpips=0.0, clip=0.0, w_norm=0.0),
        lpips=LpipsParams(backbone="random"),
        steps=8,
        batch_size=4,
        lr=1e-3,
        hflip=True,
        checkpoint_every=2,
        log_every=1,
        device="cpu",
    )
    base.update(over)
    return TrainInversionParams(**base)


def test_a_few_steps_lower_the_loss(tmp_path, G):
    params = _params(steps=40)
    data = generated_images(G, 24, 0.7, seed=0)
    loss_fn = InversionLoss(params.loss, None, None, G.mapping.w_avg)
    inverter, history = train(params, G, data.images, loss_fn, tmp_path, "fp")
    first = np.mean([h["l2"] for h in history[:5]])
    last = np.mean([h["l2"] for h in history[-5:]])
    assert last < 0.8 * first, (first, last)


def test_resume_gives_the_same_weights(tmp_path, G):
    params = _params(steps=6)
    data = generated_images(G, 12, 0.7, seed=1).images
    loss_fn = InversionLoss(params.loss, None, None, G.mapping.w_avg)
    full, hist_full = train(params, G, data, loss_fn, tmp_path / "a", "fp")
    train(params, G, data, loss_fn, tmp_path / "b", "fp", stop_after=3)  # "killed" after step 3 (checkpointed at 2)
    resumed, hist_resumed = train(params, G, data, loss_fn, tmp_path / "b", "fp")
    for k, v in full.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    assert hist_full == hist_resumed
    other, _ = train(params, G, data, loss_fn, tmp_path / "b", "other-fingerprint")  # not resumed: starts over
    assert all(torch.equal(v, other.state_dict()[k]) for k, v in full.state_dict().items())


def test_fingerprint_covers_params_and_generator():
    a = checkpoint_fingerprint(_params(), "g1")
    assert a == checkpoint_fingerprint(_params(checkpoint_every=7, device="cpu"), "g1")
    assert a != checkpoint_fingerprint(_params(lr=2e-3), "g1") and a != checkpoint_fingerprint(_params(), "g2")


def test_prepare_image_crops_the_centre_and_resizes_with_lanczos(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, (60, 90, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    got = prepare_image(tmp_path / "a.png", 32)
    want = np.asarray(Image.fromarray(arr[:, 15:75]).resize((32, 32), Image.LANCZOS))
    assert np.array_equal(got, want)


def test_real_images_from_folder_and_url_tar(tmp_path, http_root):
    root, base = http_root
    folder = tmp_path / "lhq"
    folder.mkdir()
    for i in range(5):
        Image.fromarray(np.full((40, 40, 3), i * 40, np.uint8)).save(folder / f"{i:03d}.png")
    (folder / "bad.jpg").write_bytes(b"not a jpeg")
    imgs = load_real(ImageSourceParams(kind="folder", path=str(folder)), 32, cache=tmp_path / "real.npy")
    assert imgs.images.shape == (5, 32, 32, 3) and imgs.keys[0] == "000.png"
    assert [r["key"] for r in imgs.rejected] == ["bad.jpg"]
    assert int(imgs.images[3].mean()) == 120
    with tarfile.open(root / "lhq-000.tar", "w") as tar:
        for p in sorted(folder.iterdir()):
            tar.add(p, arcname=f"images/{p.name}")
    digest = sha256_file(root / "lhq-000.tar")
    tar_imgs = load_real(ImageSourceParams(kind="tar", path=f"{base}/lhq-000.tar", sha256=digest, limit=3), 32)
    assert len(tar_imgs) == 3 and np.array_equal(tar_imgs.images, imgs.images[:3])
    with pytest.raises(FileNotFoundError, match="not a folder"):
        load_real(ImageSourceParams(kind="folder", path=str(tmp_path / "missing")), 32)


def test_split_is_per_source_and_seeded(G):
    from sound2video.models.inversion.images import concat

    data = concat([synthetic_pictures(10, 32, 0), generated_images(G, 20, 0.7, 0)], (G.num_ws, G.w_dim))
    tr, va = split(data, 0.2, seed=3)
    assert len(set(tr) & set(va)) == 0 and len(tr) + len(va) == 30
    assert sum(data.sources[i] == "synthetic" for i in va) == 2 and sum(data.sources[i] == "generated" for i in va) == 4
    assert np.array_equal(va, split(data, 0.2, seed=3)[1]) and not np.array_equal(va, split(data, 0.2, seed=4)[1])
    assert np.isnan(data.latents[:10]).all() and not np.isnan(data.latents[10:]).any()


def test_params_errors_name_the_key(tmp_path):
    bad = {"train_inversion": {"images": {"kind": "folder"}}}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(ParamsError, match="train_inversion.images"):
        load_single(tmp_path / "p.yaml", "train_inversion")
    (tmp_path / "q.yaml").write_text(yaml.safe_dump({"stylegan3": {"network": None}}))
    with pytest.raises(ParamsError, match="either 'network'"):
        load_single(tmp_path / "q.yaml", "stylegan3")


def test_stage_and_cli_invert(tmp_path, monkeypatch, repo_root):
    from sound2video.models.inversion import stage as inv_stage
    from sound2video.models.stylegan3 import stage as g_stage

    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs/clip").mkdir(parents=True)
    (tmp_path / "configs/clip/tiny-clip.json").write_bytes((repo_root / "configs/clip/tiny-clip.json").read_bytes())
    params = {
        "stylegan3": {"network": None, "random": TINY_G.model_dump()},
        "train_inversion": {
            "images": {"kind": "synthetic", "synthetic_images": 6, "generated_images": 12, "val_fraction": 0.25},
            "encoder": {"width": 8, "blocks": [1, 1, 1, 1]},
            "loss": {"l2": 1.0, "lpips": 0.8, "clip": 0.5, "w_norm": 0.01},
            "lpips": {"backbone": "random"},
            "clip_model": {"model": "tiny-clip", "pretrained": None, "config": "configs/clip/tiny-clip.json"},
            "steps": 4,
            "batch_size": 4,
            "checkpoint_every": 2,
            "log_every": 1,
            "grid_images": 4,
            "device": "cpu",
        },
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    g_stage.main_from_files("params.yaml", Path("models/stylegan3"))
    paths = inv_stage.InversionStagePaths(
        generator=Path("models/stylegan3"),
        out=Path("models/inversion"),
        checkpoints=Path("checkpoints/inversion"),
        metrics=Path("metrics/inversion_train.json"),
        plots=Path("plots/inversion"),
    )
    result = inv_stage.main_from_files("params.yaml", paths)
    saved = json.loads(Path("metrics/details/inversion_train.json").read_text())  # everything the stage measured
    assert saved == json.loads(json.dumps(result))
    headline = json.loads(Path("metrics/inversion_train.json").read_text())  # what `dvc metrics show` lists
    assert headline == {k: saved[k] for k in inv_stage.HEADLINE} == {"lpips": saved["lpips"], "psnr": saved["psnr"]}
    assert saved["generator"]["random_init"] is True
    assert {"lpips", "mse", "psnr", "mse_wavg", "by_source", "offline_profile"} <= set(saved)
    assert saved["by_source"]["generated"]["images"] == 3 and "latent_mse" in saved["by_source"]["generated"]
    assert "latent_mse" not in saved["by_source"]["synthetic"]
    assert Image.open("plots/inversion/grid.png").size == (4 * 32, 2 * 32)
    log = Path("plots/inversion/train_log.csv").read_text().splitlines()
    assert log[0] == "step,loss,l2,lpips,clip,w_norm,lr" and len(log) == 5
    Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save("photo.png")
    assert cli(["invert", "photo.png", "--out", "recon.png", "--latent", "w.npy"]) == 0
    assert Image.open("recon.png").size == (32, 32)
    assert np.load("w.npy").shape == (TINY_G.num_layers + 2, TINY_G.w_dim)
    assert cli(["invert", "missing.png", "--out", "r.png"]) == 1
