"""The public lists (micro copies through the source readers, and the shipped lists' counts), per-data-set label
tables, splits kept from a source list, the paper profile and `sound2video plan`."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sound2video.data.classes import ClassTable
from sound2video.data.download.params import DownloadParams
from sound2video.data.shard.split import assign_splits
from sound2video.data.sources import read_manifest
from sound2video.project.plan import build_plan
from sound2video.project.validate import ParamsError, load_section, validate_all

DATA = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(autouse=True)
def _in_repo(repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)


def _params(table: ClassTable, classes, **source) -> DownloadParams:
    return DownloadParams.model_validate({"classes": classes, "source": source}, context={"known_classes": table.names})


def test_landscape_list_micro_through_the_reader():
    table = ClassTable.read()
    p = _params(
        table,
        ["wind_noise", "waterfall_burbling", "thunderstorm", "volcano_eruption", "underwater_bubbling", "raining"],
        kind="landscape_list",
        path=str(DATA / "landscape_micro.csv"),
        use_ranges=True,
        class_map={"explosion": "volcano_eruption", "thunder": "thunderstorm"},
    )
    df = read_manifest(p, table).set_index("id")
    assert len(df) == 8  # every row of the list has a manifest row, rejects included
    r = df.loc["MJ9-HmGWw1k_000180"]
    assert (r["url"], r["label"], r["start"], r["end"], r["split"]) == (
        "https://www.youtube.com/watch?v=MJ9-HmGWw1k",
        "wind_noise",
        180.0,
        190.0,
        "train",
    )
    assert df.loc["CQSfI_tXZLY_000180", "split"] == "test"
    assert df.loc["aT66uumZ0Zo_000005", "label"] == "volcano_eruption"  # mapped in params
    assert df.loc["E6JO0WfnFQ0_000002", "label"] == "thunderstorm"
    assert pd.isna(df.loc["o4zEYvQlk-U_000030", "reject_reason"])
    assert df.loc["o4zEYvQlk-U_000030__dup1", "reject_reason"].startswith("duplicate of o4zEYvQlk-U_000030")
    assert "bad YouTube id 'n4DEfAKk0&t'" in df.loc["line000007_000000", "reject_reason"]
    assert "set 'holdout'" in df.loc["qBAPsQkS8QI_000007", "reject_reason"]
    assert df["reject_reason"].notna().sum() == 3


def test_landscape_list_header_is_checked(tmp_path):
    bad = tmp_path / "l.csv"
    bad.write_text("ytid,start,class\nMJ9-HmGWw1k,0,raining\n")
    with pytest.raises(ValueError, match=r"columns \['start_time', 'set'\] not found"):
        read_manifest(_params(ClassTable.read(), ["raining"], kind="landscape_list", path=str(bad)), ClassTable.read())


def test_vggsound_label_table_and_test_list_micro():
    table = ClassTable.read(DATA / "vggsound_stat_micro.csv")
    assert table.names == [
        "ambulance_siren",
        "basketball_bounce",
        "bird_chirping_tweeting",
        "fire_crackling",
        "raining",
        "thunder",
    ]
    assert table["bird_chirping_tweeting"].prompt == "bird chirping, tweeting" and table["thunder"].expected == 325
    p = DownloadParams.model_validate(
        {"classes": "all", "source": {"kind": "vggsound_csv", "path": str(DATA / "vggsound_test_micro.csv")}},
        context={"known_classes": table.names},
    )
    assert p.classes == table.names
    df = read_manifest(p, table).set_index("id")
    assert len(df) == 6 and (df["split"] == "test").all()
    r = df.loc["PljzqcsQ62U_000030"]
    assert (r["label"], r["start"], r["end"]) == ("bird_chirping_tweeting", 30.0, 40.0)
    assert df.loc["-0Ab_cdEfGh_000007", "url"] == "https://www.youtube.com/watch?v=-0Ab_cdEfGh"
    assert "bad YouTube id" in df.loc[[i for i in df.index if i.startswith("notanid")][0], "reject_reason"]
    with pytest.raises(ValueError, match="'all' needs the class table"):
        DownloadParams.model_validate({"classes": "all", "source": {"kind": "vggsound_csv", "path": "x"}})


def test_shipped_lists_match_their_published_counts():
    stat = ClassTable.read("data/lists/vggsound_stat.csv")
    assert len(stat.names) == 309 and len(set(stat.names)) == 309
    landscape = ClassTable.read()
    nine = landscape.names[:9]
    assert all(landscape.resolve(landscape[c].vggsound_label) == c for c in nine)
    assert {landscape[c].vggsound_label for c in nine} <= {stat[n].prompt for n in stat.names}  # each maps to a label
    test = pd.read_csv("data/lists/vggsound_test.csv", header=None, names=["file", "label"])
    assert len(test) == 15_446 and set(test["label"].str.strip()) == {stat[n].prompt for n in stat.names}
    lst = pd.read_csv("data/lists/landscape_tempotokens.csv")
    assert len(lst) == 1_178 and lst["set"].value_counts().to_dict() == {"train": 1_076, "test": 102}


def test_splits_from_source_keep_the_list_and_nothing_else_changes():
    videos = {"a": [f"a{i}" for i in range(20)], "b": [f"b{i}" for i in range(7)]}
    ratios = {"train": 0.8, "val": 0.1, "test": 0.1}
    plain = assign_splits(videos, ratios, 3)
    assert assign_splits(videos, ratios, 3, {}) == plain == assign_splits(videos, ratios, 3, None)
    fixed = {f"a{i}": ("test" if i < 4 else "train") for i in range(20)}
    out = assign_splits(videos, {"train": 0.9, "val": 0.1, "test": 0.0}, 3, fixed)
    assert {v for v, s in out.items() if s == "test"} == {"a0", "a1", "a2", "a3"}
    assert sum(1 for i in range(4, 20) if out[f"a{i}"] == "val") == 2  # 10 % of the list's 16 train videos, rounded
    assert all(out[f"b{i}"] in ("train", "val") for i in range(7))  # not listed: split as usual


def test_paper_profile_validates_and_uses_the_lists():
    out = validate_all("configs/paper.yaml")
    land, vgg = out["download"]["landscape"], out["download"]["vggsound"]
    assert land.source.kind == "landscape_list" and land.source.path == "data/lists/landscape_tempotokens.csv"
    assert len(vgg.classes) == 309 and out["shard"]["landscape"].splits_from_source


def test_label_tables_must_name_listed_data_sets(tmp_path):
    data = yaml.safe_load(Path("configs/micro.yaml").read_text())
    data["label_tables"] = {"nosuch": "data/lists/vggsound_stat.csv"}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ParamsError, match=r"label_tables: \['nosuch'\] are not in datasets"):
        validate_all(tmp_path / "p.yaml")


def test_plan_counts_match_the_lists():
    plan = build_plan("configs/paper.yaml")
    land, vgg = plan["datasets"]
    assert (land["items"]["rows"], land["items"]["rejected"], land["items"]["to_fetch"]) == (1_178, 8, 1_170)
    assert land["items"]["list_splits"] == {"test": 102, "train": 1_076} and land["expected_clips"] == 1_170
    stat = pd.read_csv("data/lists/vggsound_stat.csv", header=None, names=["label", "count", "category"])
    assert vgg["items"]["rows"] == stat["count"].sum() == 199_176
    assert len(vgg["items"]["per_class"]) == 309 and vgg["items"]["per_class"]["thunder"] == 325
    assert land["needs"]["network"] and all(v is not None and v > 0 for v in land["disk_gb"].values())
    assert {m["stage"] for m in plan["models"]} >= {"train_audio", "train_inversion"}


def test_plan_cli_json(repo_root):
    res = subprocess.run(
        [sys.executable, "-m", "sound2video", "plan", "paper", "--json"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    plan = json.loads(res.stdout)
    assert plan["profile"] == "paper" and [d["dataset"] for d in plan["datasets"]] == ["landscape", "vggsound"]
    stages = {m["stage"]: m for m in plan["models"]}
    assert list(stages) == ["train_audio", "stylegan3", "train_inversion", "train_video", "evaluate"]
    assert stages["train_audio"]["held_out_list"] == "data/lists/vggsound_test.csv"
    assert stages["train_audio"]["label_set"] == "table" and stages["train_video"]["needs"]["gpu"] == "required"
    table = subprocess.run(
        [sys.executable, "-m", "sound2video", "plan", "paper"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert table.returncode == 0 and "1,178" in table.stdout and "199,176" in table.stdout


@pytest.mark.parametrize(
    "random, message",
    [
        ({"resolution": 65}, "img_resolution must be a power of two"),
        ({"resolution": 64, "channel_base": 16}, "channel_base 16 is too small"),
    ],
)
def test_stylegan3_random_init_validates_the_architecture(tmp_path, random, message):
    data = yaml.safe_load(Path("configs/micro.yaml").read_text())
    data["stylegan3"] = {"network": None, "random": random}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ParamsError, match=rf"stylegan3.random: .*{message}"):
        validate_all(tmp_path / "p.yaml")
    ok = {"network": None, "random": {"resolution": 64}}
    data["stylegan3"] = ok
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    assert validate_all(tmp_path / "p.yaml")["stylegan3"].random.resolution == 64


def test_micro_landscape_rows_are_whole_clips():
    # every valid row of the shipped list is one 10 s segment inside the video's first hours
    p = load_section("configs/paper.yaml", "download", "landscape")
    df = read_manifest(p, ClassTable.read())
    ok = df[df["reject_reason"].isna()]
    assert ((ok["end"] - ok["start"]) == 10).all() and not ok["start"].map(math.isnan).any()
