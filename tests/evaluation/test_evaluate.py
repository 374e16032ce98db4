"""The ``evaluate`` stage on tiny synthetic shards with tiny random models behind its loader: per-row metrics files
(skipped rows with a note), protocol, plots, report videos with sound, resumability, ablation rows, the baselines,
and the metrics' behaviour on frozen videos."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from evaluate_fixtures import CLASSES, FPS, SECONDS, TinyClip, make_shards, stub_loader, tiny_generator, tiny_video
from pydantic import ValidationError

from sound2video.evaluation.baseline_params import RandomWalkParams, TraumerAIParams
from sound2video.evaluation.baselines import random_walk, train_traumerai
from sound2video.evaluation.params import EvaluateParams
from sound2video.evaluation.stage import ROW_HEADLINE, EvaluatePaths, run


def small_params(tmp: Path, **kw) -> EvaluateParams:
    return EvaluateParams(
        **{
            "cache_root": str(tmp / "cache"),
            "fvd": {"frames": 8},
            "inception": {"frames": 8, "splits": 3},
            "traumerai": {"steps": 3, "batch_size": 2},
            **kw,
        }
    )


def stage_paths(shards: Path, model_root: Path, out: Path, work: Path | None = None) -> EvaluatePaths:
    return EvaluatePaths(
        shards=shards,
        model=model_root / "models" / "video",
        classes=Path("data/classes.csv"),
        metrics=out / "metrics",
        plots=out / "plots",
        report=out / "report",
        work=work or out / "work",
    )


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate")
    shards = make_shards(root / "shards")
    calls: list = []
    out = {
        "root": root,
        "shards": shards,
        "metrics": root / "metrics",
        "plots": root / "plots",
        "report": root / "report",
        "work": root / "work",
        "calls": calls,
    }
    out["results"] = run(
        small_params(root),
        stage_paths(shards, root, root),
        loader=stub_loader(calls),
        video_loader=lambda p, d: pytest.fail("no ablation model exists"),
    )
    return out


def test_one_metrics_file_per_row_and_skipped_ablations_say_why(evaluated):
    files = sorted(p.stem for p in evaluated["metrics"].glob("*.json"))
    assert files == sorted(["real", "model", "zero_audio", "no_sound", "first_step", "traumerai", "random_walk"])
    for row in ("no_sound", "first_step"):
        assert json.loads((evaluated["metrics"] / f"{row}.json").read_text()) == {"skipped": True}
        detail = json.loads((evaluated["report"] / "rows" / f"{row}.json").read_text())
        assert detail["skipped"] is True and detail == evaluated["results"][row]
        assert "models/video_" in detail["note"] and "dvc exp run" in detail["note"]
    model = json.loads((evaluated["report"] / "rows" / "model.json").read_text())  # every figure of the row
    headline = json.loads((evaluated["metrics"] / "model.json").read_text())  # what `dvc metrics show` lists
    assert (
        headline
        == {k: model[k] for k in ("fvd", "clip_a2v", "av_align", "motion")}
        == {k: model[k] for k in ROW_HEADLINE}
    )
    for key in ("fvd", "is_mean", "is_std", "clip_t2v", "clip_a2v", "av_align", "av_align_undefined", "motion"):
        assert key in model
    assert model["videos"] == len(CLASSES) and model["offline"] is True
    assert np.isfinite(model["fvd"]) and model["fvd"] >= 0 and model["is_mean"] >= 1.0 - 1e-9
    assert -1 <= model["clip_t2v"] <= 1 and -1 <= model["clip_a2v"] <= 1
    assert model["motion"] > 0


def test_protocol_states_what_moves_the_numbers(evaluated):
    p = json.loads((evaluated["report"] / "protocol.json").read_text())
    assert p["clips"] == len(CLASSES) and p["split"] == "test"
    assert p["videos"]["fps"] == FPS and p["videos"]["resolution"] == 16 and p["videos"]["frames"] == 15
    assert p["fvd"]["reference_split"] == "train" and p["fvd"]["reference_clips"] == 2 * len(CLASSES)
    assert p["fvd"]["detector"]["tiny"] is True and p["is"]["detector"]["tiny"] is True
    assert "undefined" in p["av_align"] and p["notes"] and "check the pipeline" in p["notes"][0]


def test_plots_compare_the_measured_rows(evaluated):
    for metric in ("fvd", "is_mean", "clip_t2v", "clip_a2v", "av_align", "motion"):
        lines = (evaluated["plots"] / f"{metric}.csv").read_text().splitlines()
        assert lines[0] == "row,value"
        assert [ln.split(",")[0] for ln in lines[1:]] == ["real", "model", "zero_audio", "traumerai", "random_walk"]
    assert (evaluated["plots"] / "traumerai_train.csv").read_text().startswith("step,loss")


def test_report_has_the_table_and_a_card_per_sound_with_every_rows_video(evaluated):
    html = (evaluated["report"] / "index.html").read_text()
    assert '<table id="rows">' in html and "skipped:" in html and "check the pipeline" in html
    assert html.count('class="card"') == len(CLASSES)
    assert html.count("<video ") == len(CLASSES) * 5 and 'preload="none"' in html
    assert "http://" not in html and "https://" not in html  # self-contained
    for src in __import__("re").findall(r'src="([^"]+)"', html):
        assert not src.startswith("/") and (evaluated["report"] / src).is_file()


def test_report_videos_carry_the_sound_and_last_as_long_as_the_clip(evaluated):
    mp4 = next((evaluated["report"] / "videos" / "model").glob("*.mp4"))
    info = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-of", "json", "-show_streams", "-show_format", str(mp4)],
            capture_output=True,
            check=True,
        ).stdout
    )
    kinds = sorted(s["codec_type"] for s in info["streams"])
    assert kinds == ["audio", "video"]
    assert float(info["format"]["duration"]) == pytest.approx(SECONDS, abs=1 / FPS)


def test_rerun_reuses_generated_rows_and_gives_the_same_numbers(evaluated, tmp_path):
    rows = {p: p.stat().st_mtime_ns for p in (evaluated["work"] / "rows").glob("*.npy")}
    assert len(rows) == 4  # model, zero_audio, traumerai, random_walk
    again = run(
        small_params(evaluated["root"]),
        stage_paths(evaluated["shards"], evaluated["root"], tmp_path, work=evaluated["work"]),
        loader=stub_loader(),
        video_loader=lambda p, d: None,
    )
    assert {p: p.stat().st_mtime_ns for p in (evaluated["work"] / "rows").glob("*.npy")} == rows
    assert again == evaluated["results"]
    # a reused baseline row still leaves its training log in this run's plots (DVC empties the folder first)
    log = next(tmp_path.rglob("traumerai_train.csv"))
    assert (
        log.read_text().startswith("step,loss,clip_av,clip_at,latent_reg\n") and len(log.read_text().splitlines()) > 1
    )


def test_ablation_rows_come_from_their_own_models(evaluated, tmp_path):
    folder = tmp_path / "video_no_sound"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"stand-in weights")
    loaded = []

    def video_loader(path: Path, device: str):
        loaded.append(path)
        return tiny_video(audio_mode="none")

    res = run(
        small_params(evaluated["root"], rows=["no_sound", "model"], ablation_models={"no_sound": str(folder)}),
        stage_paths(evaluated["shards"], evaluated["root"], tmp_path),
        loader=stub_loader(),
        video_loader=video_loader,
    )
    assert loaded == [folder] and "skipped" not in res["no_sound"]
    assert res["no_sound"]["clip_a2v"] != res["model"]["clip_a2v"]


def test_frozen_videos_score_no_motion_and_no_av_align():
    from sound2video.evaluation.measure import Judges, Sound, measure_row
    from sound2video.metrics.frechet import RunningStats

    stats = RunningStats()
    stats.update(np.random.default_rng(0).normal(size=(4, 3)))
    judges = Judges(
        i3d=lambda c: np.ones((len(c), 3)) + np.arange(len(c))[:, None],
        c3d=lambda c: np.full((len(c), 4), 0.25),
        clip_frames=TinyClip().embed_frames,
        text={"a": np.eye(16)[0]},
        reference=stats,
        fps=FPS,
        params=EvaluateParams(fvd={"frames": 4}, inception={"frames": 4, "splits": 2}),
    )
    frozen = np.repeat(np.random.default_rng(1).integers(0, 255, (1, 1, 32, 32, 3), dtype=np.uint8), 8, axis=1)
    sounds = [Sound("k0", "a", 1.6, [0.4, 1.0], np.eye(16)[1]), Sound("k1", "a", 1.6, [], np.eye(16)[1])]
    summary, per_clip, seconds = measure_row(np.concatenate([frozen, frozen]), sounds, judges)
    assert summary["motion"] < 0.01  # Farneback leaves a residue of ~1e-3 px on identical random frames
    assert per_clip[0]["av_align"] == 0.0 and per_clip[1]["av_align"] is None  # onsets vs none; nothing on either
    assert summary["av_align"] == 0.0 and summary["av_align_undefined"] == 1
    assert summary["is_mean"] == pytest.approx(1.0) and set(seconds) == {"fvd", "is", "clip", "av_align_motion"}


def test_random_walk_is_seeded_and_moves():
    G = tiny_generator()
    a, b = random_walk(G, 6, 3, RandomWalkParams()), random_walk(G, 6, 3, RandomWalkParams())
    assert a.shape == (6, 16, 16, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, random_walk(G, 6, 4, RandomWalkParams()))
    assert np.abs(a[1:].astype(int) - a[:-1]).mean() > 0


def test_traumerai_training_is_seeded_and_lowers_its_clip_loss():
    G, clip = tiny_generator(), TinyClip()
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(8, 16)).astype(np.float32)
    text = np.repeat(np.eye(16, dtype=np.float32)[:2], 4, axis=0)

    def clip_loss(net) -> float:  # the CLIP losses on every training window, not a random batch
        with torch.no_grad():
            img = clip.embed_images(G.synthesis(net(torch.from_numpy(emb))))
            e = torch.nn.functional.normalize(torch.from_numpy(emb), dim=-1)
            return float((2 - (img * e).sum(-1) - (img * torch.from_numpy(text)).sum(-1)).mean())

    params = TraumerAIParams(steps=12, batch_size=8, lr=0.02)
    untrained, _ = train_traumerai(G, clip, emb, text, params.model_copy(update={"steps": 0}))
    net, hist = train_traumerai(G, clip, emb, text, params)
    net2, _ = train_traumerai(G, clip, emb, text, params)
    assert len(hist) == 12
    assert all(torch.equal(p, q) for p, q in zip(net.state_dict().values(), net2.state_dict().values()))
    assert clip_loss(net) < clip_loss(untrained)


def test_params_are_strict_and_name_the_key():
    with pytest.raises(ValidationError, match="bogus"):
        EvaluateParams(bogus=1)
    with pytest.raises(ValidationError, match="repeated row"):
        EvaluateParams(rows=["model", "model"])
    with pytest.raises(ValidationError, match="ablation_models"):
        EvaluateParams(ablation_models={"traumerai": "x"})
    with pytest.raises(ValidationError, match="rows"):
        EvaluateParams(rows=["ours"])
