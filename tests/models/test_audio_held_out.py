"""The audio tower over a data set's whole label table, evaluated on a fixed held-out list (VGG-Sound's official
test split): matching by segment id, coverage, leak and no-match errors, and the stage end to end on micro shards."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from sound2video.data.classes import ClassTable
from sound2video.data.sources.synthetic import rng_for
from sound2video.data.sources.synthetic_audio import render_audio
from sound2video.models.audio.configuration_audio import HeldOutListParams
from sound2video.models.audio.data import Features
from sound2video.models.audio.held_out import read_held_out, restrict_to

DATA = Path(__file__).parents[1] / "fixtures"


def _features(source_ids: list[str]) -> Features:
    n = len(source_ids)
    return Features([f"k{i}" for i in range(n)], np.arange(n), np.zeros((n, 2, 3)), None, list(source_ids))


def test_the_shipped_test_split_gives_vggsound_segment_ids():
    held = read_held_out(HeldOutListParams(path="data/lists/vggsound_test.csv"))
    assert held.rows == 15446 and len(held.ids) == 15446 and held.unreadable == 0
    assert "glLQrEijrKg_000300" in held.ids and "6jiO0tPLK7U_000090" in held.ids


def test_a_wrong_checksum_is_refused():
    with pytest.raises(Exception, match="sha256"):
        read_held_out(HeldOutListParams(path=str(DATA / "vggsound_test_micro.csv"), sha256="0" * 64))


def test_restrict_keeps_listed_clips_and_reports_coverage():
    held = read_held_out(HeldOutListParams(path=str(DATA / "vggsound_test_micro.csv")))
    evaluated = _features(["hO7Y77gKIMo_000150", "zzzzzzzzzzz_000001", "2v_KyNpsyKs_000030"])
    kept, coverage = restrict_to(held, evaluated, _features(["aaaaaaaaaaa_000010"]))
    assert kept.source_ids == ["hO7Y77gKIMo_000150", "2v_KyNpsyKs_000030"] and list(kept.labels) == [0, 2]
    # the list's 'notanid.mp4' row has no start time: counted, never matched
    assert coverage == {"held_out_rows": 6, "held_out_unreadable": 1, "held_out_found": 2, "held_out_coverage": 2 / 5}


def test_a_list_that_overlaps_training_or_matches_nothing_is_refused():
    held = read_held_out(HeldOutListParams(path=str(DATA / "vggsound_test_micro.csv")))
    with pytest.raises(ValueError, match="in the training shards"):
        restrict_to(held, _features(["hO7Y77gKIMo_000150"]), _features(["ebRLSVHIGEE_000050"]))
    with pytest.raises(ValueError, match="none of the 1 evaluation clips"):
        restrict_to(held, _features(["zzzzzzzzzzz_000001"]), _features(["aaaaaaaaaaa_000010"]))


def _write_shards(folder: Path, split: str, rows: list[tuple[str, str]]) -> None:
    """Micro shards in the shard stage's layout: ``rows`` of (source segment id, label) with synthetic sound."""
    import webdataset as wds

    folder.mkdir(parents=True, exist_ok=True)
    name = f"{split}-000000.tar"
    with wds.TarWriter(str(folder / name), mtime=0) as w:
        for i, (source, cls) in enumerate(rows):
            wave = render_audio("raining", rng_for(cls, i, 1), 1.0, 16000).mean(axis=1)
            buf = io.BytesIO()
            sf.write(buf, wave, 16000, format="FLAC")
            w.write({"__key__": f"{source}_00", "flac": buf.getvalue(), "json": {"class": cls, "source_id": source}})
    index = folder / "index.json"
    entries = json.loads(index.read_text())["shards"] if index.exists() else []
    index.write_text(json.dumps({"shards": [*entries, {"shard": name, "samples": len(rows)}]}))


def test_stage_zero_shot_over_the_whole_table_on_the_held_out_list(tmp_path, repo_root, monkeypatch):
    from dataclasses import replace

    from sound2video.models.audio.stage import AudioStagePaths, main_from_files

    monkeypatch.chdir(repo_root)
    table = ClassTable.read(DATA / "vggsound_stat_micro.csv")  # 6 labels, as the 309 of the real table
    shards = tmp_path / "shards"
    _write_shards(shards, "train", [(f"trn{i:08d}_{i:06d}", table.names[i % 4 + 2]) for i in range(8)])
    _write_shards(  # two listed test clips, one unlisted (not evaluated)
        shards,
        "test",
        [("hO7Y77gKIMo_000150", "raining"), ("ebRLSVHIGEE_000050", "thunder"), ("x" * 11 + "_0", "raining")],
    )
    params = {
        "label_tables": {"vggsound": str(DATA / "vggsound_stat_micro.csv")},
        "train_audio": {
            "dataset": "vggsound",
            "mel": {"sample_rate": 16000, "clip_seconds": 1, "n_fft": 512, "hop_length": 160, "n_mels": 16},
            "encoder": {"width": 4, "blocks": [1], "embed_dim": 64},
            "clip_model": {"model": "tiny-clip", "pretrained": None, "config": "configs/clip/tiny-clip.json"},
            "held_out_list": {"path": str(DATA / "vggsound_test_micro.csv")},
            "steps": 3,
            "batch_size": 3,
            "warmup_steps": 0,
            "num_workers": 0,
        },
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    paths = AudioStagePaths(
        classes=Path("data/classes.csv"),
        shards=shards,
        out=tmp_path / "model",
        checkpoints=tmp_path / "ckpt",
        metrics=tmp_path / "metrics.json",
        plots=tmp_path / "plots",
    )
    result = main_from_files(tmp_path / "params.yaml", paths)
    assert result["classes"] == 6 and result["samples"] == 2  # every label of the table; the listed clips only
    assert result["held_out_rows"] == 6 and result["held_out_found"] == 2
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["classes"] == table.names  # the model answers over the whole table
    detail = json.loads((tmp_path / "details" / "metrics.json").read_text())
    assert detail["held_out_found"] == 2 and 0 <= detail["zero_shot_top1"] <= detail["zero_shot_top5"] <= 1

    params["train_audio"]["label_set"] = "present"  # only the 4 classes the shards hold
    params["train_audio"].pop("held_out_list")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    paths = replace(paths, out=tmp_path / "model2", checkpoints=tmp_path / "ckpt2")
    result = main_from_files(tmp_path / "params.yaml", paths)
    assert result["classes"] == 4 and result["samples"] == 3 and "held_out_rows" not in result
