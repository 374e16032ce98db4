"""Curating a new class: bad inputs get clear messages, scores rank true clips first, decisions are saved strictly,
the review server refuses requests without its token, and publishing is idempotent and keeps old splits."""

from __future__ import annotations

import json
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from curation_fixtures import NAME, make_curation

from sound2video.core.params_io import load_block
from sound2video.curation import decisions as dec
from sound2video.curation.candidates import CurationError, demo_pool, from_folder, write_candidates
from sound2video.curation.classinfo import start
from sound2video.curation.params import DemoPoolParams, WeightParams
from sound2video.curation.publish import publish
from sound2video.curation.review_server import HOST, Review, make_server
from sound2video.curation.scores import Embeddings, average_precision, centred, combined, score_terms
from sound2video.data.classes import ClassTable
from sound2video.data.download.params import DownloadParams
from sound2video.data.shard.split import assign_splits
from sound2video.data.sources import read_manifest
from sound2video.data.sources.synthetic import Variant, parse_variant_url, variant_url
from sound2video.project.validate import validate_all

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the demo params and class table to publish into."""
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "data").mkdir()
    shutil.copy(REPO / "data/classes.csv", tmp_path / "data/classes.csv")
    return tmp_path


@pytest.mark.parametrize(
    ("name", "prompt", "message"),
    [
        ("thunderstorm", "x", "already a class"),
        ("../etc", "x", "not a safe slug"),
        ("Frog", "x", "not a safe slug"),
        ("frog_croaking", " ", "--prompt must not be empty"),
    ],
)
def test_new_rejects_bad_names(tmp_path, name, prompt, message):
    with pytest.raises(CurationError, match=message):
        start(name, prompt, tmp_path, REPO / "data/classes.csv", None, None)
    assert not any(tmp_path.iterdir())


def test_cli_new_names_the_problem(tmp_path, capsys):
    from sound2video.cli import main

    rc = main(["curate", "new", "thunderstorm", "--prompt", "x", "--root", str(tmp_path)])
    assert rc != 0 and "'thunderstorm' is already a class" in capsys.readouterr().err
    assert main(["curate", "new", "frog_croaking", "--prompt", "frog", "--root", str(tmp_path)]) == 0
    assert (tmp_path / "frog_croaking/class.json").is_file()


def test_new_records_the_class_once(tmp_path):
    where = start("frog_croaking", "frog croaking", tmp_path, REPO / "data/classes.csv", "frog", "frogs at night")
    info = json.loads((where / "class.json").read_text())
    assert info == {"name": "frog_croaking", "prompt": "frog croaking", "vggsound_label": "frog",
                    "query": "frogs at night", "sources": []}  # fmt: skip
    with pytest.raises(CurationError, match="already started"):
        start("frog_croaking", "frog croaking", tmp_path, REPO / "data/classes.csv", None, None)


def test_empty_candidate_list_is_an_error(tmp_path):
    (tmp_path / "videos").mkdir()
    with pytest.raises(CurationError, match="empty list"):
        write_candidates(tmp_path / "candidates.csv", from_folder("frog_croaking", tmp_path / "videos"))
    assert not (tmp_path / "candidates.csv").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["accept"]', "expected an object"),
        ('{"class": "other", "decisions": {}}', "expected 'frog_test'"),
        ('{"class": "frog_test", "decisions": {"a": "maybe"}}', "'maybe'; expected one of"),
    ],
)
def test_hand_edited_decisions_are_refused(tmp_path, text, message):
    path = tmp_path / "decisions.json"
    path.write_text(text)
    with pytest.raises(dec.DecisionsError, match=message):
        dec.read(path, NAME)


def test_decisions_round_trip_and_final_verdict(tmp_path):
    path = tmp_path / "decisions.json"
    dec.record(path, NAME, "a", "accept")
    dec.record(path, NAME, "b", "skip")
    dec.record(path, NAME, "a", "reject")  # a changed mind: the last decision counts
    assert dec.read(path, NAME) == {"a": "reject", "b": "skip"}
    assert [dec.final("review", h) for h in ("accept", "reject", "skip", None)] == [
        "accept",
        "reject",
        "review",
        "review",
    ]


def test_variant_urls_round_trip():
    for v in (Variant("frog_croaking", 3, 7, "frog_croaking"), Variant("frog_croaking", 1, 0, "silent", static=True)):
        assert parse_variant_url(variant_url(v)) == v
    with pytest.raises(ValueError, match="not a synthetic source URL"):
        parse_variant_url("synthetic://frog/1?seed=0&sound=../x")


def test_demo_pool_has_each_kind_of_distractor():
    rows, exemplars = demo_pool("frog_croaking", DemoPoolParams(true_clips=2, other_classes=["wind_noise"]))
    kinds = {r["id"].split("_")[0]: r["truth"] for r in rows}
    assert kinds == {"true": "1", "other": "0", "picture": "0", "sound": "0", "silent": "0", "static": "0"}
    urls = [r["url"] for r in rows + exemplars]
    assert len(set(urls)) == len(urls)  # no exemplar or distractor repeats a candidate


def test_exemplar_score_ranks_mismatches_below_true_clips():
    """Sound and picture must BOTH match the exemplars: a true picture with another sound (or the reverse) ranks
    below every true clip; centring removes the common direction small encoders put every input on."""
    rng = np.random.default_rng(0)
    common = rng.normal(size=16) * 5
    cls_a, cls_i, oth_a, oth_i = (rng.normal(size=16) for _ in range(4))

    def emb(a, i):
        noise = rng.normal(size=(2, 16)) * 0.3
        unit = lambda v: v / np.linalg.norm(v)  # noqa: E731
        return Embeddings(unit(common + a + noise[0]), unit(common + i + noise[1]))

    clips = {f"true_{k}": emb(cls_a, cls_i) for k in range(4)}
    clips |= {"picture_0": emb(oth_a, cls_i), "sound_0": emb(cls_a, oth_i), "other_0": emb(oth_a, oth_i)}
    clips |= {f"exemplar_{k}": emb(cls_a, cls_i) for k in range(2)}
    c = centred(clips)
    ex = [c[k] for k in sorted(c) if k.startswith("exemplar_")]
    ids = [k for k in sorted(c) if not k.startswith("exemplar_")]
    scores = [combined(score_terms(c[k], np.zeros(16), ex), WeightParams()) for k in ids]
    truth = [int(k.startswith("true_")) for k in ids]
    assert average_precision(scores, truth) == 1.0
    assert average_precision([0.1, 0.9, 0.5], [1, 0, 1]) == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_publish_is_idempotent_and_reads_back(project, tmp_path):
    root = project / "data/curation"
    where = make_curation(root, project / "data/classes.csv")
    dec.record(where / "decisions.json", NAME, "true_001", "accept")
    dec.record(where / "decisions.json", NAME, "sound_x_00", "reject")
    params, classes = project / "params.yaml", project / "data/classes.csv"
    first = publish(NAME, "landscape", root, params, classes)
    assert first["accepted"] == 2 and first["class_added"] and first["params_changed"]
    snapshot = {p: p.read_bytes() for p in (params, classes, where / "accepted.csv", where / "card.json")}
    second = publish(NAME, "landscape", root, params, classes)
    assert not second["class_added"] and not second["params_changed"]
    assert {p: p.read_bytes() for p in snapshot} == snapshot
    assert validate_all(params, classes)["datasets"] == ["landscape", "vggsound"]
    original = (REPO / "params.yaml").read_text().splitlines()
    changed = [ln for ln in params.read_text().splitlines() if ln not in original]
    assert len(changed) == 2  # the class list's last line and the new extra_lists line; nothing else reflowed
    card = json.loads((where / "card.json").read_text())
    assert card["auto_accepted"] == 1 and card["reviewed"] == 2 and card["accepted"] == 2
    assert card["rejected_by_reason"] == {"reviewer": 1, "score below reject_below": 1, "silent_audio": 1}
    table = ClassTable.read(classes)
    assert NAME in table and table.names[:12] == ClassTable.read(REPO / "data/classes.csv").names
    block = load_block(params, "download", DownloadParams, "landscape", context={"known_classes": table.names})
    manifest = read_manifest(block, table)
    mine = manifest[manifest["label"] == NAME]
    assert sorted(mine["id"]) == [f"cur_{NAME}_true_000", f"cur_{NAME}_true_001"]
    assert set(mine["source_kind"]) == {"curated_list"}
    assert (manifest["label"] != NAME).sum() == 9 * 4  # the existing classes' items are untouched


def test_publish_without_accepted_clips_says_so(project):
    root = project / "data/curation"
    where = make_curation(root, project / "data/classes.csv")
    scores = pd.read_parquet(where / "work/scores.parquet")
    scores["auto"] = "reject"
    scores.to_parquet(where / "work/scores.parquet")
    with pytest.raises(CurationError, match="no accepted clips"):
        publish(NAME, "landscape", root, project / "params.yaml", project / "data/classes.csv")
    with pytest.raises(CurationError, match="no download.nope block"):
        dec.record(where / "decisions.json", NAME, "true_001", "accept")
        publish(NAME, "nope", root, project / "params.yaml", project / "data/classes.csv")


def test_splits_of_existing_videos_do_not_move_when_a_class_is_added():
    ratios = {"train": 0.5, "val": 0.25, "test": 0.25}
    old = {c: [f"syn_{c}_{i:04d}" for i in range(4)] for c in ("fire_crackling", "raining", "wind_noise")}
    before = assign_splits(old, ratios, seed=0)
    after = assign_splits(old | {NAME: [f"cur_{NAME}_true_{i:03d}" for i in range(5)]}, ratios, seed=0)
    assert {v: after[v] for v in before} == before
    assert {after[f"cur_{NAME}_true_{i:03d}"] for i in range(5)} == {"train", "val", "test"}


def _get(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_review_server_needs_its_token_and_saves_decisions(tmp_path):
    where = make_curation(tmp_path, REPO / "data/classes.csv")
    review = Review(NAME, "frog croaking", where)
    server = make_server(review)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert server.server_address[0] == HOST == "127.0.0.1"
        base = f"http://{HOST}:{server.server_address[1]}"
        for path in ("/", "/?token=wrong", "/media/true_001.mp4", f"/media/true_001.mp4?token={review.token[:-1]}"):
            status, body = _get(base + path)
            assert status == 403 and b"token" in body, path
        status, _ = _get(f"{base}/decide", json.dumps({"id": "true_001", "decision": "accept"}).encode())
        assert status == 403 and not (where / "decisions.json").exists()
        status, page = _get(f"{base}/?token={review.token}")
        assert status == 200 and page.index(b"true_001") < page.index(b"true_002") < page.index(b"sound_x_00")
        assert b"other_x_00" not in page  # auto-rejected clips are not up for review
        status, mp4 = _get(f"{base}/media/true_001.mp4?token={review.token}")
        assert status == 200 and mp4[4:8] == b"ftyp"
        assert _get(f"{base}/media/..%2F..%2Fclass.json.mp4?token={review.token}")[0] == 404
        ok = _get(f"{base}/decide?token={review.token}", json.dumps({"id": "true_001", "decision": "accept"}).encode())
        assert ok[0] == 200 and dec.read(where / "decisions.json", NAME) == {"true_001": "accept"}
        bad = _get(f"{base}/decide?token={review.token}", json.dumps({"id": "true_001", "decision": "yes"}).encode())
        assert bad[0] == 400 and b"expected one of" in bad[1]
        assert dec.read(where / "decisions.json", NAME) == {"true_001": "accept"}
    finally:
        server.shutdown()
        server.server_close()


def test_candidates_from_urls_and_folder(tmp_path, capsys):
    from sound2video.cli import main

    root = tmp_path / "cur"
    assert main(["curate", "new", "frog_croaking", "--prompt", "frog", "--root", str(root)]) == 0
    urls = tmp_path / "urls.txt"
    urls.write_text("# frogs\nhttps://www.youtube.com/watch?v=abcdefghijk\n\nhttps://example.org/frog.mp4\n")
    (tmp_path / "vids/a").mkdir(parents=True)
    (tmp_path / "vids/a/one.mp4").write_bytes(b"x")
    (tmp_path / "vids/notes.txt").write_text("not a video")
    args = ["curate", "candidates", "frog_croaking", "--root", str(root)]
    assert main([*args, "--urls", str(urls), "--folder", str(tmp_path / "vids")]) == 0
    rows = pd.read_csv(root / "frog_croaking/candidates.csv", dtype=str, keep_default_na=False)
    assert list(rows["id"]) == ["a__one", "abcdefghijk", "url00001"] and set(rows["label"]) == {"frog_croaking"}
    info = json.loads((root / "frog_croaking/class.json").read_text())
    assert [s["candidates"] for s in info["sources"]] == [2, 1]
    (tmp_path / "empty").mkdir()
    assert main([*args, "--folder", str(tmp_path / "empty")]) != 0
    assert "no candidates found" in capsys.readouterr().err
    assert main(args) != 0 and "give at least one of" in capsys.readouterr().err


def test_data_card_source_records_the_curation_card(tmp_path):
    from sound2video.data.download.stage import source_record
    from sound2video.data.sources.params import SourceParams

    (tmp_path / "accepted.csv").write_text("id,url,label\na,synthetic://frog_croaking/1?seed=7,frog_croaking\n")
    (tmp_path / "card.json").write_text(json.dumps({"class": "frog_croaking", "accepted": 1}))
    src = SourceParams(kind="synthetic", synthetic={}, extra_lists=[str(tmp_path / "accepted.csv")])
    params = DownloadParams(classes=["raining"], source=src)
    record = source_record(params, pd.DataFrame({"id": ["a"]}))
    assert record["extra_lists"][0]["curation"] == {"class": "frog_croaking", "accepted": 1}
    assert len(record["extra_lists"][0]["sha256"]) == 64


@pytest.mark.parametrize("flow", [None, False])
def test_publish_edits_params_written_by_pyyaml(tmp_path, flow):
    """A params.yaml rewritten by yaml.safe_dump (block lists at their key's indent) is edited as safely as ours."""
    import yaml

    from sound2video.curation.publish import add_to_params

    data = yaml.safe_load((Path(__file__).parents[2] / "configs" / "micro.yaml").read_text())
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, default_flow_style=flow))
    accepted = Path("data/curation/frog_croaking/accepted.csv")
    assert add_to_params(path, "landscape", "frog_croaking", accepted) is True
    assert add_to_params(path, "landscape", "frog_croaking", accepted) is False  # idempotent
    after = yaml.safe_load(path.read_text())
    block = after["download"]["landscape"]
    assert block["classes"] == [*data["download"]["landscape"]["classes"], "frog_croaking"]
    assert block["source"]["extra_lists"] == [accepted.as_posix()]
    after["download"]["landscape"] = data["download"]["landscape"]
    assert after == data  # nothing else changed


HAND_WRITTEN = """\
# a params file edited by hand
download:
  landscape:
    classes: [raining,  # the first class
              thunderstorm]  # beside the classes
    source:  # beside the source
      kind: synthetic
      synthetic: {seed: 0, fps: 10}
  vggsound:
    classes:
      - raining  # a block list
    source:
      kind: synthetic
      extra_lists:
      - data/curation/old/accepted.csv  # an older class
      synthetic: {seed: 1}
  everything:
    classes: all
    source: {kind: synthetic, synthetic: {seed: 2,
                                          fps: 5}}

cut:  # unrelated
  landscape: {clip_seconds: 1,    clips_per_video: 2}   # odd spacing
  rate_limit: null
"""


def test_publish_keeps_comments_and_every_other_byte(tmp_path):
    """Only the new items are written, where ruamel.yaml's parser says the lists end (flow, block, flow mapping,
    ``classes: all``): the comments beside the edited keys, the unrelated ones and every other byte stay."""
    from sound2video.curation.publish import add_to_params

    path, accepted = tmp_path / "params.yaml", Path("data/curation/frog_croaking/accepted.csv")
    path.write_text(HAND_WRITTEN)
    for dataset in ("landscape", "vggsound", "everything"):
        assert add_to_params(path, dataset, "frog_croaking", accepted) is True
    edited = path.read_text()
    for dataset in ("landscape", "vggsound", "everything"):
        assert add_to_params(path, dataset, "frog_croaking", accepted) is False  # idempotent
    assert path.read_text() == edited
    listed = "data/curation/frog_croaking/accepted.csv"
    expected = (
        HAND_WRITTEN.replace("thunderstorm]  # beside", "thunderstorm, frog_croaking]  # beside")
        .replace(
            "  # beside the source\n",
            f"  # beside the source\n      extra_lists: [{listed}]  # sound2video curate publish\n",
        )
        .replace("- raining  # a block list\n", "- raining  # a block list\n      - frog_croaking\n")
        .replace("# an older class\n", f"# an older class\n      - {listed}\n")
        .replace("fps: 5}}", f"fps: 5}}, extra_lists: [{listed}]}}")
    )
    assert edited == expected  # the comments beside the edited keys and the unrelated ones, byte for byte
    for comment in ("# beside the classes", "# beside the source", "# an older class", "# unrelated", "# odd spacing"):
        assert comment in edited


def test_publish_edits_the_active_profile_too(project):
    """params.yaml says ``profile: demo``: configs/demo.yaml gets the same edit, so switching back keeps the class."""
    (project / "configs").mkdir()
    shutil.copy(REPO / "configs/demo.yaml", project / "configs/demo.yaml")
    root = project / "data/curation"
    where = make_curation(root, project / "data/classes.csv")
    dec.record(where / "decisions.json", NAME, "true_001", "accept")
    out = publish(NAME, "landscape", root, project / "params.yaml", project / "data/classes.csv")
    params, profile = project / "params.yaml", project / "configs/demo.yaml"
    assert out["params_files_changed"] == [str(params), str(profile)]
    assert params.read_bytes() == profile.read_bytes() != (REPO / "configs/demo.yaml").read_bytes()
    again = publish(NAME, "landscape", root, params, project / "data/classes.csv")
    assert not again["params_changed"] and again["params_files_changed"] == []


def test_stage_without_a_candidate_list_yet_lets_the_pipeline_go_on(tmp_path):
    """The paper profile names a class nobody has gathered candidates for: the stage says what to run, no failure."""
    import json

    import yaml

    from sound2video.curation.stage import main

    block = yaml.safe_load((Path(__file__).parents[2] / "configs" / "paper.yaml").read_text())["curate"]
    block["candidates"] = str(tmp_path / "sea_waves" / "candidates.csv")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"curate": block}))
    main(str(tmp_path / "params.yaml"), str(tmp_path / "curation"), str(tmp_path / "curation.json"))
    report = json.loads((tmp_path / "curation" / "sea_waves" / "report.json").read_text())
    assert report["candidates"] == 0 and "sound2video curate candidates sea_waves" in report["waiting"]
    assert json.loads((tmp_path / "curation.json").read_text()) == {}  # no ranking to report
