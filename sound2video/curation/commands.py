"""``sound2video curate new | candidates | review | publish``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

# literal defaults (as classes.DEFAULT_CLASSES_CSV and candidates.CURATION_DIR): importing those modules here would
# load pandas and numpy on every `sound2video` start
CLASSES_CSV = "data/classes.csv"
CURATION_DIR = "data/curation"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    cur = sub.add_parser("curate", help="curate a new audio-visual class").add_subparsers(dest="sub", required=True)
    new = cur.add_parser("new", help="start a class: validate the name, record its prompt, create its folder")
    new.add_argument("name", help="a slug: a-z, 0-9, _ (2-48 characters), not a class in data/classes.csv")
    new.add_argument("--prompt", required=True, help="the class's text prompt")
    new.add_argument("--vggsound-label", help="the VGG-Sound label, if the class has one")
    new.add_argument("--query", help="a search query for candidates (yt-dlp)")
    new.set_defaults(func=run_new)
    can = cur.add_parser("candidates", help="add candidates to data/curation/NAME/candidates.csv")
    can.add_argument("name")
    can.add_argument("--urls", help="a text file of URLs, one per line")
    can.add_argument("--folder", help="a local folder of videos")
    can.add_argument("--vggsound", help="a VGG-Sound CSV (ytid,start,label,split); rows with --label")
    can.add_argument("--label", help="the VGG-Sound label (default: the class's --vggsound-label)")
    can.add_argument("--search", help="a yt-dlp search query (needs the network when fetched)")
    can.add_argument("--search-n", type=int, default=20)
    can.set_defaults(func=run_candidates)
    rev = cur.add_parser("review", help="serve the review page on 127.0.0.1 (a token in the URL)")
    rev.add_argument("name")
    rev.add_argument("--port", type=int, default=0, help="0: any free port")
    rev.set_defaults(func=run_review)
    pub = cur.add_parser("publish", help="add the class and its accepted clips to a data set (idempotent)")
    pub.add_argument("name")
    pub.add_argument("--dataset", required=True, help="the data set (download.<dataset> in params.yaml)")
    pub.add_argument("--params", default="params.yaml")
    for p in (new, can, rev, pub):
        p.add_argument("--root", default=CURATION_DIR, help="the curation folders' parent")
        p.add_argument("--classes", default=CLASSES_CSV)
    pub.set_defaults(func=run_publish)


def run_new(a: argparse.Namespace) -> None:
    from sound2video.curation.classinfo import start

    where = start(a.name, a.prompt, Path(a.root), Path(a.classes), a.vggsound_label, a.query)
    print(f"started {a.name}: {where}; add candidates with `sound2video curate candidates {a.name} ...`")


def run_candidates(a: argparse.Namespace) -> None:
    import csv

    from sound2video.curation import candidates as c
    from sound2video.curation.classinfo import add_source, read_info

    where = c.folder(a.name, a.root)
    info = read_info(where)
    found: list[tuple[str, list[dict[str, str]]]] = []
    if a.urls:
        found.append((f"urls:{a.urls}", c.from_url_list(a.name, a.urls)))
    if a.folder:
        found.append((f"folder:{a.folder}", c.from_folder(a.name, a.folder)))
    if a.vggsound:
        label = a.label or info.get("vggsound_label")
        if not label:
            raise c.CurationError("--vggsound needs --label (or a --vggsound-label given to `curate new`)")
        found.append((f"vggsound:{a.vggsound}:{label}", c.from_vggsound(a.name, a.vggsound, label)))
    if a.search:
        found.append((f"search:{a.search}", c.from_search(a.name, a.search, a.search_n)))
    if not found:
        raise c.CurationError("give at least one of --urls, --folder, --vggsound, --search")
    path = where / "candidates.csv"
    rows: dict[str, dict[str, str]] = {}
    if path.is_file():
        with open(path, newline="", encoding="utf-8") as f:
            rows = {r["id"]: r for r in csv.DictReader(f)}
    for source, new in found:
        if not new:
            raise c.CurationError(f"{source}: no candidates found")
        rows |= {r["id"]: r for r in new}
        add_source(where, source, len(new))
    c.write_candidates(path, list(rows.values()))
    print(f"{path}: {len(rows)} candidates; set curate.candidates to it and run `dvc repro curate`")


def run_review(a: argparse.Namespace) -> None:
    from sound2video.curation.candidates import folder
    from sound2video.curation.classinfo import read_info
    from sound2video.curation.review_server import Review, make_server, url_of

    where = folder(a.name, a.root)
    review = Review(a.name, read_info(where)["prompt"], where)
    server = make_server(review, a.port)
    print(f"review {a.name}: open {url_of(server, review)}  (Ctrl-C stops; decisions are saved as you go)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def run_publish(a: argparse.Namespace) -> None:
    from sound2video.curation.publish import publish

    out = publish(a.name, a.dataset, Path(a.root), Path(a.params), Path(a.classes))
    print(json.dumps(out, indent=2))
    if out["class_added"] or out["params_changed"]:
        print(f"published {a.name} into {a.dataset}: run `dvc repro` to cut and shard the new clips")
    else:
        print(f"{a.name} was already published into {a.dataset}: nothing changed")
