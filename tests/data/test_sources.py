"""Manifest readers: the authors' CSV, VGG-Sound's CSV, a local folder, the synthetic source."""

from __future__ import annotations

import math

import pytest

from sound2video.core.fsutil import inside, safe_id
from sound2video.data.classes import ClassTable
from sound2video.data.download.params import DownloadParams
from sound2video.data.sources import read_manifest
from sound2video.data.sources.youtube import youtube_id


def _params(**source) -> DownloadParams:
    return DownloadParams.model_validate(
        {"classes": ["raining", "thunderstorm", "fire_crackling"], "source": source},
        context={"known_classes": ClassTable.read().names},
    )


@pytest.fixture(autouse=True)
def _in_repo(repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)


def test_vggsound_csv(tmp_path):
    csv = tmp_path / "vggsound.csv"
    csv.write_text(
        "-0Ab_cdEfGh,30,raining,train\n"
        "xYz123456_7,0,thunder,test\n"
        'AAAAAAAAAAA,12,"dog barking, growling",train\n'
        "bad id,5,raining,train\n"
    )
    df = read_manifest(_params(kind="vggsound_csv", path=str(csv)), ClassTable.read())
    rows = df.set_index("id")
    assert list(df["id"]) == sorted(df["id"])
    assert "AAAAAAAAAAA_000012" not in rows.index  # not one of the selected classes
    r = rows.loc["-0Ab_cdEfGh_000030"]
    assert r["url"] == "https://www.youtube.com/watch?v=-0Ab_cdEfGh" and r["label"] == "raining"
    assert (r["start"], r["end"]) == (30.0, 40.0)
    assert rows.loc["xYz123456_7_000000", "label"] == "thunderstorm"
    assert "bad YouTube id" in rows.loc[[i for i in rows.index if i.startswith("bad")][0], "reject_reason"]


def test_authors_csv_with_column_mapping(tmp_path):
    csv = tmp_path / "DATASET.csv"
    csv.write_text(
        "video,label,t0\nhttps://youtu.be/abcdefghijk,Raining,\nABCDEFGHIJK,Fire Crackling,12.5\n"
        "https://example.org/v.mp4,thunderstorm,\nftp://x/y,raining,\nLMNOPQRSTUV,underwater bubbling,\n"
    )
    src = dict(
        kind="authors_csv", path=str(csv), columns={"url": "video", "label": "label", "start": "t0"}, use_ranges=True
    )
    df = read_manifest(_params(**src), ClassTable.read()).set_index("id")
    assert df.loc["abcdefghijk", "url"] == "https://www.youtube.com/watch?v=abcdefghijk"
    assert df.loc["abcdefghijk", "label"] == "raining" and math.isnan(df.loc["abcdefghijk", "start"])
    seg = df.loc["ABCDEFGHIJK_000012500ms"]
    assert (seg["label"], seg["start"], seg["end"]) == ("fire_crackling", 12.5, 22.5)
    web = df[df["url"] == "https://example.org/v.mp4"].iloc[0]
    assert "." not in web.name and web["label"] == "thunderstorm"
    assert "not a URL" in df[df["url"] == "ftp://x/y"].iloc[0]["reject_reason"]
    assert "LMNOPQRSTUV" not in df.index  # a known class that is not selected is left out


def test_authors_csv_missing_column_is_explained(tmp_path):
    csv = tmp_path / "DATASET.csv"
    csv.write_text("link,cls\nabcdefghijk,raining\n")
    with pytest.raises(ValueError, match=r"columns \['url', 'class'\] not found; the file has \['link', 'cls'\]"):
        read_manifest(_params(kind="authors_csv", path=str(csv)), ClassTable.read())


def test_local_folder(tmp_path):
    for rel in ("raining/a.mp4", "Fire_Crackling/b c.mkv", "stray.mp4", "raining/notes.txt", "dogs/d.mp4"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    df = read_manifest(_params(kind="local_folder", path=str(tmp_path)), ClassTable.read())
    by_url = df.set_index("url")
    assert by_url.loc["raining/a.mp4", "label"] == "raining"
    assert by_url.loc["Fire_Crackling/b c.mkv", "label"] == "fire_crackling"
    assert by_url.loc["stray.mp4", "reject_reason"] == "file is not inside a class folder"
    assert by_url.loc["dogs/d.mp4", "reject_reason"] == "unknown class label"
    assert all("." not in i and "/" not in i for i in df["id"])


def test_synthetic_urls_round_trip():
    from sound2video.data.sources.synthetic import parse_synthetic_url, synthetic_url

    assert parse_synthetic_url(synthetic_url("fire_crackling", 12, 3)) == ("fire_crackling", 12)
    for bad in ("synthetic://../etc/1?seed=0", "http://x/1", "synthetic://raining/x?seed=0"):
        with pytest.raises(ValueError, match="not a synthetic source URL"):
            parse_synthetic_url(bad)


def test_synthetic_manifest():
    p = _params(kind="synthetic", synthetic={"videos_per_class": 2})
    df = read_manifest(p, ClassTable.read())
    assert len(df) == 6 and set(df["label"]) == {"raining", "thunderstorm", "fire_crackling"}
    assert df["url"].str.startswith("synthetic://").all()


def test_youtube_ids_and_safe_names(tmp_path):
    assert youtube_id("https://www.youtube.com/watch?v=-0Ab_cdEfGh&t=3") == "-0Ab_cdEfGh"
    assert youtube_id("https://www.youtube.com/shorts/abcdefghijk") == "abcdefghijk"
    assert youtube_id("https://example.org/watch?v=abcdefghijk") is None
    assert safe_id("abc_DEF-1") == "abc_DEF-1"
    assert safe_id("clip_10.5s") != safe_id("clip_10_5s") and "." not in safe_id("clip_10.5s")
    assert "/" not in safe_id("../../etc/passwd") and not safe_id("-rf").startswith("-")
    with pytest.raises(ValueError, match="escapes"):
        inside(tmp_path, tmp_path / ".." / "x")


def test_source_registry_covers_every_kind_params_accept():
    import typing

    from sound2video.data.sources.params import SourceParams
    from sound2video.data.sources.registry import SOURCES, source_for

    assert set(SOURCES) == set(typing.get_args(SourceParams.model_fields["kind"].annotation))
    with pytest.raises(ValueError, match="unknown source kind 'ftp'.*'local_folder'"):
        source_for("ftp")
