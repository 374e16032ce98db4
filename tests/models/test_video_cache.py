"""The training data cache of the video model (``models/video/cache.py``): decoded frames and mel windows of the
shards, keyed by their params."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from media import ffmpeg
from video_fixtures import SR

from sound2video.models.audio.mel import MelParams
from sound2video.models.video.audio_windows import decode_audio, frame_windows


def shard_row(key: str, cls: str, mp4: Path) -> dict:
    """A clips-ledger row as the shard stage reads it (only what ``sample_json`` needs)."""
    return {
        "key": key,
        "class": cls,
        "video_id": f"vid_{key}",
        "source_url": f"file:///{key}.mp4",
        "source_kind": "synthetic",
        "clip_index": 0,
        "start": 0.0,
        "end": 1.0,
        "fps": 10,
        "frames": 10,
        "width": 64,
        "height": 48,
        "sample_rate": 16000,
        "audio_samples": 16000,
        "channels": 1,
        "scene_cut": False,
        "mp4": mp4,
    }


@pytest.fixture(scope="module")
def tiny_shards(tmp_path_factory, classes_table) -> Path:
    """Landscape-layout shards written by the shard stage's own writer: 3 good clips and 1 corrupt one."""
    from media import make_video

    from sound2video.core.fsutil import write_json_atomic
    from sound2video.data.shard.stage import INDEX_NAME, sample_json
    from sound2video.data.shard.write import write_split

    d = tmp_path_factory.mktemp("shards")
    clips = d / "clips"
    clips.mkdir()
    plan = {
        "train": [
            ("a_clip", "raining", "color"),
            ("c_clip", "thunderstorm", "testsrc2"),
            ("d_broken", "raining", "testsrc2"),
        ],
        "val": [("b_clip", "fire_crackling", "testsrc2")],
    }
    out = d / "shards"
    out.mkdir()
    index = []
    for split, items in plan.items():
        samples = []
        for key, cls, picture in sorted(items):
            mp4 = make_video(clips / f"{key}.mp4", size=(64, 48), seconds=1.0, fps=10, layout="mono", picture=picture)
            ffmpeg("-i", str(mp4), "-vn", "-ar", "16000", "-ac", "1", "-c:a", "flac", str(clips / f"{key}.flac"))
            data = mp4.read_bytes()
            if key == "d_broken":
                data = data[: len(data) // 3]  # truncated download: the mp4 does not decode
            samples.append(
                {
                    "__key__": key,
                    "mp4": data,
                    "flac": (clips / f"{key}.flac").read_bytes(),
                    "json": json.dumps(sample_json(shard_row(key, cls, mp4), classes_table, split)).encode(),
                    "cls": str(classes_table.index(cls)).encode(),
                }
            )
        index += write_split(samples, out, split, max_count=2, max_bytes=10_000_000)
    write_json_atomic(out / INDEX_NAME, {"shards": index, "samples": 4})
    return out


@pytest.fixture(scope="module")
def classes_table():
    from sound2video.data.classes import ClassTable

    return ClassTable.read(Path(__file__).resolve().parents[2] / "data" / "classes.csv")


def test_build_cache_shapes_labels_and_skips(tiny_shards, classes_table, tmp_path):
    from sound2video.models.video.cache import VideoCache, build_cache

    mel = MelParams(sample_rate=SR, n_fft=512, hop_length=160, n_mels=32)
    cache = build_cache(tiny_shards, tmp_path / "cache", classes_table.names, 10.0, 32, 0.5, mel)
    assert isinstance(cache, VideoCache)
    assert cache.keys == ["a_clip", "b_clip", "c_clip"]
    assert cache.splits == ["train", "val", "train"]
    assert cache.class_names == ["thunderstorm", "fire_crackling", "raining"]  # table order, present classes
    assert cache.labels.dtype == np.int64 and cache.labels.tolist() == [2, 1, 0]
    assert cache.frames.dtype == np.uint8 and cache.frames.shape == (3, 10, 32, 32, 3)
    assert cache.mels.dtype == np.float16 and cache.mels.shape == (3, 10, 32, 51)
    assert isinstance(cache.frames, np.memmap) and isinstance(cache.mels, np.memmap)
    assert cache.rows("train").tolist() == [0, 2] and cache.rows("test").tolist() == []
    assert [s["key"] for s in cache.skipped] == ["d_broken"] and "decode" in cache.skipped[0]["reason"]
    meta = json.loads((cache.folder / "cache.json").read_text())
    assert meta["skipped"] == cache.skipped and meta["key"] == cache.key
    # The frames are the clip's centre square, resized: the flat colour clip stays that colour (0x406080).
    np.testing.assert_allclose(cache.frames[0].reshape(-1, 3).mean(axis=0), (0x40, 0x60, 0x80), atol=4)
    assert cache.frames[2, 0].std() > 10 and np.abs(cache.frames[2, 0].astype(int) - cache.frames[2, 9]).mean() > 1
    # The mels are the generation front-end's windows of the clip's sound.
    wave = decode_audio(tiny_shards.parent / "clips" / "c_clip.flac", SR)
    np.testing.assert_array_equal(cache.mels[2], frame_windows(wave, mel, 10.0, 0.5).astype(np.float16))
    assert cache.mels[2, 2:8].max() > 0.5  # the 440 Hz tone is there
    reopened = VideoCache.open(cache.folder)
    assert reopened.keys == cache.keys and np.array_equal(reopened.frames, cache.frames)


def test_build_cache_is_reused_and_keyed_by_its_params(tiny_shards, classes_table, tmp_path, monkeypatch):
    from sound2video.models.video import cache as cache_mod

    mel = MelParams(sample_rate=SR, n_fft=512, hop_length=160, n_mels=32)
    root = tmp_path / "cache"
    first = cache_mod.build_cache(tiny_shards, root, classes_table.names, 4.0, 16, 0.5, mel)
    assert first.frames.shape == (3, 4, 16, 16, 3)

    def no_decoding(*args, **kwargs):
        raise AssertionError("the cache was decoded again")

    monkeypatch.setattr(cache_mod, "_decode_clip", no_decoding)
    again = cache_mod.build_cache(tiny_shards, root, classes_table.names, 4.0, 16, 0.5, mel)
    assert again.folder == first.folder and again.key == first.key
    monkeypatch.undo()
    other = cache_mod.build_cache(tiny_shards, root, classes_table.names, 4.0, 24, 0.5, mel)
    assert other.folder != first.folder and other.frames.shape == (3, 4, 24, 24, 3)
    assert sorted(p.name for p in root.iterdir()) == sorted([first.folder.name, other.folder.name])  # no temp
    keys = {
        cache_mod.cache_key([("train-000000.tar", "0" * 64)], classes_table.names, 4.0, 16, 0.5, m, ("train",))
        for m in (mel, MelParams(sample_rate=SR, n_fft=512, hop_length=160, n_mels=40))
    }
    assert len(keys) == 2
