"""The synthetic source: deterministic bytes, and classes separable by sound alone and by picture alone."""

from __future__ import annotations

import numpy as np
import pytest

from sound2video.data.sources.params import SyntheticParams
from sound2video.data.sources.synthetic import render_video, rng_for
from sound2video.data.sources.synthetic_audio import SOUNDS, render_audio
from sound2video.data.sources.synthetic_classes import SYNTHETIC_CLASSES, recipes
from sound2video.data.sources.synthetic_picture import PICTURES
from sound2video.media.probe import probe

CLASSES = sorted(SYNTHETIC_CLASSES)
SR = 16000


def audio_features(x: np.ndarray, n_fft: int = 1024, bands: int = 24) -> np.ndarray:
    """A spectrogram summary: per band (log-spaced), the mean and the temporal spread of the log energy."""
    mono = x.mean(axis=1)
    frames = mono[: len(mono) // n_fft * n_fft].reshape(-1, n_fft) * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1 / SR)
    edges = np.geomspace(30, SR / 2, bands + 1)
    logband = np.log(
        np.stack(
            [power[:, (freqs >= lo) & (freqs < hi)].sum(axis=1) + 1e-9 for lo, hi in zip(edges, edges[1:])], axis=1
        )
    )
    mean = logband.mean(axis=0)
    return np.concatenate([mean - mean.max(), logband.std(axis=0)])


def picture_features(name: str, seed: int) -> np.ndarray:
    frame = PICTURES[name](rng_for(name, seed, 0), 54, 96, 10)
    frames = np.stack([frame(i) for i in range(0, 20, 2)])
    return np.concatenate(
        [
            frames.mean(axis=(0, 1, 2)),
            frames.std(axis=(1, 2)).mean(axis=0),
            [np.abs(np.diff(frames, axis=0)).mean() * 10],
        ]
    )


def nearest_centroid_accuracy(train: dict[str, list[np.ndarray]], test: dict[str, list[np.ndarray]]) -> float:
    all_train = np.stack([f for fs in train.values() for f in fs])
    mu, sd = all_train.mean(axis=0), all_train.std(axis=0) + 1e-6
    centroids = {c: ((np.stack(fs) - mu) / sd).mean(axis=0) for c, fs in train.items()}
    hits = total = 0
    for c, fs in test.items():
        for f in fs:
            z = (f - mu) / sd
            guess = min(centroids, key=lambda k: np.linalg.norm(z - centroids[k]))
            hits += guess == c
            total += 1
    return hits / total


def test_every_class_is_named_once_with_a_picture_and_a_sound():
    assert len(SYNTHETIC_CLASSES) == len(set(SYNTHETIC_CLASSES)) == 14
    assert list(SOUNDS) == list(PICTURES) == list(SYNTHETIC_CLASSES)
    assert all(SOUNDS[c].__name__ == PICTURES[c].__name__ == c for c in SYNTHETIC_CLASSES)
    with pytest.raises(ImportError, match=r"no synthetic sound recipe for class\(es\) \['ocean_waves'\]"):
        recipes({k: v for k, v in SOUNDS.items() if k != "ocean_waves"}, "sound")


def test_classes_separable_by_sound_alone():
    feats = {c: [audio_features(render_audio(c, rng_for(c, seed, 7), 3.0, SR)) for seed in range(6)] for c in CLASSES}
    acc = nearest_centroid_accuracy({c: f[:3] for c, f in feats.items()}, {c: f[3:] for c, f in feats.items()})
    assert acc == 1.0


def test_classes_separable_by_picture_alone():
    feats = {c: [picture_features(c, seed) for seed in range(6)] for c in CLASSES}
    acc = nearest_centroid_accuracy({c: f[:3] for c, f in feats.items()}, {c: f[3:] for c, f in feats.items()})
    assert acc == 1.0


def test_audio_is_deterministic_and_seeded():
    a = render_audio("raining", rng_for("raining", 0, 1), 1.0, SR)
    b = render_audio("raining", rng_for("raining", 0, 1), 1.0, SR)
    c = render_audio("raining", rng_for("raining", 1, 1), 1.0, SR)
    assert a.shape == (SR, 2) and a.dtype == np.float32 and np.array_equal(a, b) and not np.array_equal(a, c)
    assert 0.5 < np.abs(a).max() <= 0.7 + 1e-6


@pytest.mark.parametrize("index, size", [(0, (480, 270)), (1, (320, 180))])
def test_rendered_video_is_byte_identical_and_as_configured(tmp_path, index, size):
    p = SyntheticParams(duration_seconds=1.5, fps=10, resolutions=[(480, 270), (320, 180)], sample_rate=16000)
    render_video(tmp_path / "a.mp4", "fire_crackling", index, p)
    render_video(tmp_path / "b.mp4", "fire_crackling", index, p)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    info = probe(tmp_path / "a.mp4")
    assert (info.width, info.height, info.nb_frames, info.sample_rate) == (*size, 15, 16000)
    assert info.vcodec == "h264" and info.acodec == "aac" and abs(info.duration - 1.5) < 0.1


def test_unknown_class_has_no_renderer(tmp_path):
    with pytest.raises(KeyError, match="no synthetic renderer for class 'lava_lamp'"):
        render_video(tmp_path / "x.mp4", "lava_lamp", 0, SyntheticParams())


def test_download_stage_rerenders_when_synthetic_params_change(tmp_path, repo_root, monkeypatch):
    from sound2video.data.classes import ClassTable
    from sound2video.data.download.params import DownloadParams
    from sound2video.data.download.stage import run

    monkeypatch.chdir(repo_root)

    def params(duration: float) -> DownloadParams:
        return DownloadParams.model_validate(
            {
                "classes": ["raining"],
                "min_height": 180,
                "workers": 1,
                "source": {
                    "kind": "synthetic",
                    "synthetic": {
                        "videos_per_class": 1,
                        "duration_seconds": duration,
                        "resolutions": [[320, 180]],
                        "fps": 10,
                        "sample_rate": 16000,
                    },
                },
            }
        )

    first = run(params(1.0), ClassTable.read(), tmp_path).iloc[0]
    same = run(params(1.0), ClassTable.read(), tmp_path).iloc[0]
    assert same["sha256"] == first["sha256"] and same["attempts"] == 1  # nothing redone
    longer = run(params(2.0), ClassTable.read(), tmp_path).iloc[0]
    assert longer["sha256"] != first["sha256"] and abs(longer["duration"] - 2.0) < 0.1
