"""The shard stage on the micro profile's real clips: readable by WebDataset, split by video, byte-identical."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import webdataset as wds

from sound2video.data.classes import ClassTable
from sound2video.data.cut import stage as cut_stage
from sound2video.data.download import stage as download_stage
from sound2video.data.shard import stage as shard_stage
from sound2video.data.shard.split import assign_splits, split_counts
from sound2video.project.validate import load_section


@pytest.fixture(scope="module")
def micro_build(tmp_path_factory):
    """download -> cut -> shard on configs/micro.yaml, called as plain functions (no DVC)."""
    repo_root = Path(__file__).resolve().parents[2]
    d = tmp_path_factory.mktemp("micro")
    params = repo_root / "configs" / "micro.yaml"
    classes = ClassTable.read(repo_root / "data" / "classes.csv")
    downloads = download_stage.run(
        load_section(params, "download", "landscape", repo_root / "data/classes.csv"), classes, d / "raw"
    )
    clips = cut_stage.run(load_section(params, "cut", "landscape"), downloads, d / "raw", d / "clips")
    shard_params = load_section(params, "shard", "landscape")
    card = shard_stage.run(
        shard_params, "micro", classes, downloads, clips, d / "clips", d / "shards", d / "card.json", d / "card.md"
    )
    return {"dir": d, "downloads": downloads, "clips": clips, "card": card, "params": shard_params, "classes": classes}


def _read_all(shards: Path) -> list[dict]:
    urls = [str(p) for p in sorted(shards.glob("*.tar"))]
    return list(wds.WebDataset(urls, shardshuffle=False, empty_check=False).decode())


def test_every_sample_reads_back_and_counts_match(micro_build):
    d, clips = micro_build["dir"], micro_build["clips"]
    samples = _read_all(d / "shards")
    ok = clips[clips["status"] == "ok"]
    assert len(samples) == len(ok) > 0
    assert sorted(s["__key__"] for s in samples) == sorted(ok["key"])
    for s in samples:
        assert set(k for k in s if not k.startswith("__")) == {"mp4", "flac", "json", "cls"}
        assert "." not in s["__key__"]
        meta = s["json"]
        assert s["cls"] == meta["cls"] == micro_build["classes"].index(meta["class"])
        assert meta["prompt"] == micro_build["classes"][meta["class"]].prompt
        row = ok[ok["key"] == s["__key__"]].iloc[0]
        assert s["mp4"] == (d / "clips" / row["mp4"]).read_bytes()
        assert s["flac"] == (d / "clips" / row["flac"]).read_bytes()
        assert (meta["source_id"], meta["start"], meta["end"]) == (row["video_id"], row["start"], row["end"])
        for field in ("source_url", "fps", "sample_rate", "scene_cut", "split"):
            assert field in meta


def test_splits_by_source_video_and_index(micro_build):
    d = micro_build["dir"]
    index = json.loads((d / "shards" / "index.json").read_text())
    split_of_video: dict[str, set] = {}
    per_shard: Counter = Counter()
    for tar in sorted((d / "shards").glob("*.tar")):
        for s in wds.WebDataset(str(tar), shardshuffle=False, empty_check=False).decode():
            split_of_video.setdefault(s["json"]["source_id"], set()).add(s["json"]["split"])
            assert tar.name.startswith(s["json"]["split"] + "-")
            per_shard[tar.name] += 1
    assert all(len(v) == 1 for v in split_of_video.values()), "a video's clips must stay in one split"
    assert {e["shard"]: e["samples"] for e in index["shards"]} == dict(per_shard)
    assert all(e["samples"] <= micro_build["params"].max_samples_per_shard for e in index["shards"])
    card = micro_build["card"]
    assert card["synthetic"] is True and "SYNTHETIC" in card["note"]
    assert (
        card["splits"]["train"]["clips"] + card["splits"]["val"]["clips"]
        == card["clips"]
        == len([1 for _ in _read_all(d / "shards")])
    )
    assert "SYNTHETIC" in (d / "card.md").read_text()


def test_byte_identical_tars(micro_build, tmp_path):
    m = micro_build
    shard_stage.run(
        m["params"],
        "micro",
        m["classes"],
        m["downloads"],
        m["clips"],
        m["dir"] / "clips",
        tmp_path / "again",
        tmp_path / "c.json",
        tmp_path / "c.md",
    )
    first = {p.name: p.read_bytes() for p in (m["dir"] / "shards").iterdir()}
    second = {p.name: p.read_bytes() for p in (tmp_path / "again").iterdir()}
    assert first == second


def test_split_counts_and_assignment_are_stable():
    assert split_counts(4, {"train": 0.5, "val": 0.25, "test": 0.25}) == {"train": 2, "val": 1, "test": 1}
    assert split_counts(3, {"train": 0.6, "val": 0.2, "test": 0.2}) == {"train": 2, "val": 1, "test": 0}
    assert sum(split_counts(97, {"train": 0.8, "val": 0.1, "test": 0.1}).values()) == 97
    videos = {"a": [f"a{i}" for i in range(10)], "b": [f"b{i}" for i in range(7)]}
    ratios = {"train": 0.8, "val": 0.1, "test": 0.1}
    one = assign_splits(videos, ratios, seed=1)
    assert one == assign_splits({k: list(reversed(v)) for k, v in videos.items()}, ratios, seed=1)
    assert one != assign_splits(videos, ratios, seed=2)
    assert Counter(one[v] for v in videos["a"]) == {"train": 8, "val": 1, "test": 1}


def test_jpg_frames_without_mp4(micro_build, tmp_path):
    from PIL import Image

    from sound2video.data.shard.frames import frame_indices
    from sound2video.data.shard.params import ShardParams

    m = micro_build
    params = ShardParams(splits={"train": 1.0}, include_mp4=False, jpg_frames=3)
    shard_stage.run(
        params,
        "micro",
        m["classes"],
        m["downloads"],
        m["clips"],
        m["dir"] / "clips",
        tmp_path / "s",
        tmp_path / "c.json",
        tmp_path / "c.md",
    )
    samples = _read_all(tmp_path / "s")
    assert len(samples) == int((m["clips"]["status"] == "ok").sum())
    for s in samples:
        assert "mp4" not in s and {"frame0.jpg", "frame1.jpg", "frame2.jpg", "flac"} <= set(s)
        import io

        img = Image.open(io.BytesIO(s["frame0.jpg"]))
        assert img.format == "JPEG" and img.size == (320, 180)
    assert frame_indices(10, 3) == [1, 5, 8] and frame_indices(100, 4) == [12, 37, 62, 87]
    again = tmp_path / "again"
    shard_stage.run(
        params,
        "micro",
        m["classes"],
        m["downloads"],
        m["clips"],
        m["dir"] / "clips",
        again,
        tmp_path / "c2.json",
        tmp_path / "c2.md",
    )
    assert {p.name: p.read_bytes() for p in (tmp_path / "s").iterdir()} == {
        p.name: p.read_bytes() for p in again.iterdir()
    }


def test_headline_metrics_are_few_flat_numbers_matching_the_card(micro_build, tmp_path):
    m = micro_build
    card = shard_stage.run(
        m["params"],
        "micro",
        m["classes"],
        m["downloads"],
        m["clips"],
        m["dir"] / "clips",
        tmp_path / "s",
        tmp_path / "c.json",
        tmp_path / "c.md",
        tmp_path / "metrics.json",
    )
    headline = json.loads((tmp_path / "metrics.json").read_text())
    assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in headline.values())
    assert set(headline) == {"clips", "hours", "train", "val", "test"}  # one short row of `dvc metrics show`
    assert headline["clips"] == card["clips"] == sum(headline[s] for s in ("train", "val", "test"))
    assert headline["hours"] == card["hours"]
    # the rest of the numbers live in the card (the detail record)
    assert sum(card["rejects"]["download"].values()) == int((m["downloads"]["status"] != "ok").sum())
    assert sum(card["rejects"]["cut"].values()) == int((m["clips"]["status"] != "ok").sum())
    index = json.loads((tmp_path / "s" / "index.json").read_text())
    assert card["shards"]["count"] == len(index["shards"])
    assert card["shards"]["bytes"] == sum(e["bytes"] for e in index["shards"])
