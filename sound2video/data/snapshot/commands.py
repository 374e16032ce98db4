"""``sound2video snapshot ...``: named data set versions (git tags over a DVC remote); README "Share a snapshot"."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _root(a: argparse.Namespace) -> Path:
    return Path(a.repo).resolve()


def run_create(a: argparse.Namespace) -> None:
    from sound2video.data.snapshot.create import create

    tag = create(_root(a), a.dataset, a.message, a.remote)
    print(f"{tag}: pushed and tagged; share it with `git push origin {tag}` (plus the branch)")


def run_list(a: argparse.Namespace) -> None:
    from sound2video.data.snapshot.listing import list_versions, render

    rows = list_versions(_root(a), a.dataset)
    print(json.dumps(rows, indent=2) if a.json else render(rows), end="\n" if a.json else "")


def run_diff(a: argparse.Namespace) -> None:
    from sound2video.data.snapshot.diff import diff, render

    d = diff(_root(a), a.a, a.b, a.dataset)
    print(json.dumps(d, indent=2) if a.json else render(d), end="\n" if a.json else "")


def run_verify(a: argparse.Namespace) -> None:
    from sound2video.data.snapshot.repo import SnapshotError
    from sound2video.data.snapshot.verify import render, verify

    report = verify(_root(a), a.version, a.remote or "")
    print(json.dumps(report, indent=2) if a.json else render(report), end="\n" if a.json else "")
    if not report["ok"]:
        raise SnapshotError(
            f"{a.version}: {len(report['missing'])} missing and {len(report['corrupted'])} corrupted object(s)"
        )


def add_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("snapshot", help="named data set versions: create, list, diff, verify").add_subparsers(
        dest="sub", required=True
    )

    def common(p: argparse.ArgumentParser, json_flag: bool = True) -> None:
        p.add_argument("--repo", default=".", help="the producer's git + DVC repository (default: here)")
        if json_flag:
            p.add_argument("--json", action="store_true", help="print JSON")

    c = s.add_parser("create", help="push a built, committed data set and tag it DATASET@vN")
    c.add_argument("dataset")
    c.add_argument("-m", "--message", help="what changed (goes into the tag message with the card's summary)")
    c.add_argument("-r", "--remote", help="DVC remote name (default: the default remote)")
    common(c, json_flag=False)
    c.set_defaults(func=run_create)

    ls = s.add_parser("list", help="versions with clip counts and shard bytes")
    ls.add_argument("dataset", nargs="?")
    common(ls)
    ls.set_defaults(func=run_list)

    d = s.add_parser("diff", help="clips added/removed per class and split, bytes, changed params between A and B")
    d.add_argument("a", help="a version (DATASET@vN) or, with --dataset, any git revision")
    d.add_argument("b")
    d.add_argument("--dataset", help="needed when A/B are not DATASET@vN tags")
    common(d)
    d.set_defaults(func=run_diff)

    v = s.add_parser("verify", help="re-hash every object of a version in the remote against dvc.lock and the index")
    v.add_argument("version")
    v.add_argument("-r", "--remote", help="DVC remote name (default: the default remote)")
    common(v)
    v.set_defaults(func=run_verify)
