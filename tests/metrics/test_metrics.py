"""Metrics against independent references: closed forms, torchmetrics, hand computations, PIL, lpips itself."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import webdataset as wds
from media import ffmpeg

from sound2video.core.frozen_clip import CLIP_MEAN, CLIP_STD, clip_preprocess
from sound2video.metrics.frechet import RunningStats, feature_stats, frechet_distance
from sound2video.metrics.inception import inception_score

# ---------------------------------------------------------------------------------------------- Fréchet ----


def test_frechet_closed_form_diagonal_gaussians():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    v1, v2 = rng.uniform(0.1, 3, 6), rng.uniform(0.1, 3, 6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(v1 + v2 - 2 * np.sqrt(v1 * v2))
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-10)


def test_frechet_of_identical_sets_is_zero_and_symmetric():
    x = np.random.default_rng(1).normal(size=(500, 8)) @ np.random.default_rng(2).normal(size=(8, 8))
    y = np.random.default_rng(3).normal(size=(400, 8)) * 2
    mx, sx = feature_stats(x)
    my, sy = feature_stats(y)
    assert abs(frechet_distance(mx, sx, mx, sx)) < 1e-8
    assert frechet_distance(mx, sx, my, sy) == pytest.approx(frechet_distance(my, sy, mx, sx), rel=1e-9)


def test_frechet_matches_torchmetrics_with_matched_estimator():
    from torchmetrics.image.fid import FrechetInceptionDistance

    class Features(torch.nn.Module):  # hands precomputed features through unchanged
        num_features = 16

        def forward(self, x):
            return x

    rng = np.random.default_rng(4)
    real = rng.normal(size=(300, 16)) @ rng.normal(size=(16, 16))
    fake = rng.normal(loc=0.3, size=(250, 16)) @ rng.normal(size=(16, 16))
    fid = FrechetInceptionDistance(feature=Features(), normalize=False)
    fid.update(torch.from_numpy(real).float(), real=True)
    fid.update(torch.from_numpy(fake).float(), real=False)
    theirs = float(fid.compute())
    # torchmetrics accumulates float32 inputs in float64 with the N-1 estimator
    r32, f32 = real.astype(np.float32).astype(np.float64), fake.astype(np.float32).astype(np.float64)
    ours = frechet_distance(*feature_stats(r32, ddof=1), *feature_stats(f32, ddof=1))
    assert ours == pytest.approx(theirs, rel=1e-6)


def test_running_stats_equal_numpy_in_batches():
    x = np.random.default_rng(5).normal(size=(103, 7))
    s = RunningStats()
    for chunk in np.array_split(x, 5):
        s.update(chunk)
    assert np.allclose(s.mean(), x.mean(0)) and np.allclose(s.cov(0), np.cov(x, rowvar=False, ddof=0))
    assert np.allclose(s.cov(1), np.cov(x, rowvar=False, ddof=1))
    with pytest.raises(ValueError, match="feature dim changed"):
        s.update(np.zeros((2, 3)))


def test_frechet_singular_covariance_falls_back_to_finite():
    x = np.zeros((50, 4))
    x[:, 0] = np.random.default_rng(6).normal(size=50)  # rank 1
    m, s = feature_stats(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = frechet_distance(m, s, m + 1, s)
    assert math.isfinite(d) and d == pytest.approx(4.0, abs=1e-3)


# ---------------------------------------------------------------------------------------------------- IS ----


def test_inception_score_hand_computation():
    probs = np.array([[0.5, 0.5], [1.0, 0.0]])
    # marginal (0.75, 0.25); KL rows: 0.5 ln(0.5/0.75) + 0.5 ln(0.5/0.25) and ln(1/0.75)
    kl = (0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25) + math.log(1 / 0.75)) / 2
    mean, std = inception_score(probs, splits=1)
    assert mean == pytest.approx(math.exp(kl), rel=1e-12) and std == 0.0
    assert inception_score(np.full((20, 5), 0.2), splits=10)[0] == pytest.approx(1.0)
    assert inception_score(np.eye(4)[np.arange(40) % 4], splits=1)[0] == pytest.approx(4.0)


def test_inception_score_splits_follow_the_seeded_shuffle():
    p = np.random.default_rng(7).dirichlet(np.ones(6) * 0.3, size=40)
    shuffled = p.copy()
    np.random.RandomState(3).shuffle(shuffled)
    halves = [shuffled[:20], shuffled[20:]]
    by_hand = [math.exp(np.mean(np.sum(h * (np.log(h) - np.log(h.mean(0, keepdims=True))), axis=1))) for h in halves]
    mean, std = inception_score(p, splits=2, seed=3)
    assert mean == pytest.approx(np.mean(by_hand), rel=1e-12) and std == pytest.approx(np.std(by_hand), rel=1e-9)
    assert inception_score(p, splits=2, seed=3) == inception_score(p, splits=2, seed=3)


# -------------------------------------------------------------------------------------------------- CLIP ----


@pytest.mark.parametrize("shape", [(720, 1280), (1920, 1080), (301, 257), (224, 224)])
def test_clip_preprocess_matches_pil_reference(shape):
    from PIL import Image
    from torchvision import transforms as T

    frame = np.random.default_rng(8).integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    reference = T.Compose(
        [
            T.Resize(224, interpolation=T.InterpolationMode.BICUBIC),
            T.CenterCrop(224),
            T.ToTensor(),
            T.Normalize(CLIP_MEAN, CLIP_STD),
        ]
    )(Image.fromarray(frame)).numpy()
    ours = clip_preprocess(frame[None], 224)[0]
    assert ours.shape == (3, 224, 224) and np.abs(ours - reference).max() < 1e-5


# ------------------------------------------------------------------------------------------------ LPIPS ----


def test_lpips_with_local_backbone_matches_the_package(tmp_path):
    import lpips
    from torchvision.models import alexnet

    from sound2video.metrics.image import load_lpips, mse, psnr

    torch.manual_seed(0)
    backbone = alexnet(weights=None)
    torch.save(backbone.state_dict(), tmp_path / "alexnet.pth")
    ours = load_lpips("alex", tmp_path / "alexnet.pth")
    reference = lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False)
    feats = backbone.features
    for slice_, idx in (
        (reference.net.slice1, 0),
        (reference.net.slice2, 3),
        (reference.net.slice3, 6),
        (reference.net.slice4, 8),
        (reference.net.slice5, 10),
    ):
        getattr(slice_, str(idx)).weight.data.copy_(feats[idx].weight.data)
        getattr(slice_, str(idx)).bias.data.copy_(feats[idx].bias.data)
    a, b = torch.rand(3, 3, 64, 64) * 2 - 1, torch.rand(3, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(ours(a, b), reference(a, b), atol=1e-6)
    assert torch.allclose(mse(a, a + 0.1), torch.full((3,), 0.01), atol=1e-6)
    assert torch.allclose(psnr(a, a + 0.1), torch.full((3,), 10 * math.log10(4 / 0.01)), atol=1e-3)


# ----------------------------------------------------------------------------------- FVD / IS end to end ----


@pytest.fixture(scope="module")
def video_sets(tmp_path_factory):
    """Two folders of small videos (moving test pattern vs mandelbrot zoom) and a shard of the first."""
    d = tmp_path_factory.mktemp("videos")
    for name, src in (("a", "testsrc2"), ("b", "mandelbrot")):
        (d / name).mkdir()
        for i in range(6):
            extra = f",hue=h={i * 40}" if src == "testsrc2" else f",crop=iw-{i * 8}:ih-{i * 4},scale=160:96"
            ffmpeg(
                "-f",
                "lavfi",
                "-i",
                f"{src}=s=160x96:r=10{extra}",
                "-t",
                "2",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                str(d / name / f"v{i}.mp4"),
            )
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=160x96:r=10:d=0.5",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        str(d / "a" / "z_short.mp4"),
    )
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=2", str(d / "tone.flac"))
    with wds.TarWriter(str(d / "a-000000.tar"), mtime=0) as w:
        for f in sorted((d / "a").glob("v*.mp4")):
            w.write(
                {
                    "__key__": f.stem,
                    "mp4": f.read_bytes(),
                    "flac": (d / "tone.flac").read_bytes(),
                    "json": {"prompt": "a test pattern"},
                }
            )
    return d


@pytest.fixture(scope="module")
def tiny_i3d(tmp_path_factory) -> Path:
    from sound2video.metrics.tiny import save_tiny

    path = save_tiny("i3d", tmp_path_factory.mktemp("det") / "tiny_i3d.pt", dim=16)
    return path


def _cli(*args: str, cwd: Path) -> dict:
    r = subprocess.run([sys.executable, "-m", "sound2video", "metrics", *args], capture_output=True, text=True, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_tiny_detector_has_the_i3d_signature(tiny_i3d):
    det = torch.jit.load(str(tiny_i3d))
    x = torch.randint(0, 256, (2, 3, 16, 96, 160), dtype=torch.uint8)
    assert det(x, rescale=True, resize=True, return_features=True).shape == (2, 16)


def test_fvd_same_set_zero_different_sets_positive(video_sets, tiny_i3d, repo_root):
    a, b = str(video_sets / "a"), str(video_sets / "b")
    same = _cli("fvd", "--real", a, "--fake", a, "--detector", str(tiny_i3d), "--frames", "16", cwd=repo_root)
    diff = _cli("fvd", "--real", a, "--fake", b, "--detector", str(tiny_i3d), "--frames", "16", cwd=repo_root)
    assert abs(same["fvd"]) < 1e-6 and diff["fvd"] > 1e-3
    assert same["real"]["clips"] == 6 and same["real"]["skipped_short"] == 1
    proto = same["protocol"]
    assert proto["detector"]["tiny"] is True and len(proto["detector"]["sha256"]) == 64
    assert proto["covariance"].startswith("population") and "16 frames" in proto["clip"]
    assert same["warnings"], "6 samples for 16-d features must warn about a rank-deficient covariance"
    again = _cli("fvd", "--real", a, "--fake", b, "--detector", str(tiny_i3d), "--frames", "16", cwd=repo_root)
    assert again["fvd"] == diff["fvd"]


def test_fvd_from_shards_equals_from_files(video_sets, tiny_i3d, repo_root):
    from sound2video.metrics.detectors import load_torchscript
    from sound2video.metrics.fvd import i3d_features_fn, video_stats

    fn = i3d_features_fn(load_torchscript(str(tiny_i3d)).model)
    from_files, _ = video_stats(str(video_sets / "a"), fn, 16, 1, 4)
    from_shard, counts = video_stats(str(video_sets / "a-000000.tar"), fn, 16, 1, 4)
    assert counts["used"] == 6 and np.allclose(from_files.mean(), from_shard.mean())
    limited, counts = video_stats(str(video_sets / "a"), fn, 8, 2, 4, limit=3)
    assert limited.count == 3 and counts["used"] == 3


def test_detector_checksum_is_enforced(tiny_i3d):
    from sound2video.core.remote import FetchError
    from sound2video.metrics.detectors import load_torchscript

    with pytest.raises(FetchError, match="sha256 mismatch"):
        load_torchscript(str(tiny_i3d), sha256="0" * 64)


def test_is_per_frame_inception_and_c3d(video_sets, tmp_path, repo_root):
    from torchvision.models import inception_v3

    torch.manual_seed(0)
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=True).state_dict(), tmp_path / "inc.pth")
    res = _cli(
        "is",
        str(video_sets / "a"),
        "--weights",
        str(tmp_path / "inc.pth"),
        "--frames",
        "2",
        "--splits",
        "2",
        cwd=repo_root,
    )
    assert res["samples"] == 14 and res["clips"] == 7 and 1.0 <= res["is_mean"] <= 1000  # 7 videos x 2 frames
    assert res["protocol"]["splits"] == 2 and res["protocol"]["shuffle_seed"] == 42
    subprocess.run(
        [sys.executable, "-m", "sound2video", "metrics", "tiny-detector", "c3d", str(tmp_path / "c3d.pt")],
        check=True,
        cwd=repo_root,
        capture_output=True,
    )
    c3d = _cli("is", str(video_sets / "a"), "--c3d", str(tmp_path / "c3d.pt"), "--splits", "2", cwd=repo_root)
    assert c3d["samples"] == 6 and c3d["protocol"]["detector"]["tiny"] is True and c3d["is_mean"] >= 1.0


def test_clipsim_text_and_audio(video_sets, tmp_path, repo_root):
    cfg = tmp_path / "tiny-clip-test.json"
    cfg.write_text(
        json.dumps(
            {
                "embed_dim": 32,
                "vision_cfg": {"image_size": 64, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
                "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
            }
        )
    )
    (tmp_path / "fake_audio_tower.py").write_text(
        "import numpy as np\n"
        "def embed(wave, sr):\n"
        "    assert sr == 16000 and abs(len(wave) - 32000) < 100\n"
        "    return np.ones(32, np.float32)\n"
    )
    args = [
        "clipsim",
        str(video_sets / "a-000000.tar"),
        "--clip-model",
        "tiny-clip-test",
        "--clip-config",
        str(cfg),
        "--pretrained",
        "none",
        "--frames",
        "4",
        "--per-video",
    ]
    env_path = f"{tmp_path}"
    r = subprocess.run(
        [sys.executable, "-m", "sound2video", "metrics", *args, "--audio", "fake_audio_tower:embed"],
        capture_output=True,
        text=True,
        cwd=repo_root,
        env={**__import__("os").environ, "PYTHONPATH": env_path},
    )
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["videos"] == 6 and all(v["prompt"] == "a test pattern" for v in res["per_video"])
    assert -1 <= res["t2v"] <= 1 and -1 <= res["a2v"] <= 1
    assert all(v["a2v"] is not None for v in res["per_video"])
    text_only = _cli(*args, "--text", "a mandelbrot", cwd=repo_root)
    assert text_only["per_video"][0]["prompt"] == "a mandelbrot" and text_only["protocol"]["image_size"] == 64
