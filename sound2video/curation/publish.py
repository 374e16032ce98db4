"""Publish a curated class into a data set: the class table row, the accepted list (``accepted.csv``) and its
curation card beside it, and the data set's download params (class + ``source.extra_lists``). Idempotent."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from sound2video.core.fsutil import write_json_atomic, write_text_atomic
from sound2video.curation import decisions as dec
from sound2video.curation.candidates import CurationError, folder
from sound2video.curation.classinfo import read_info
from sound2video.data.classes import DEFAULT_CLASSES_CSV, ClassTable
from sound2video.data.download.stage import CURATION_CARD_NAME
from sound2video.data.ledger import LEDGER_NAME

ACCEPTED_NAME = "accepted.csv"


def verdicts(scores: pd.DataFrame, human: dict[str, str]) -> pd.DataFrame:
    """The scores ledger with the reviewer's choice and the final verdict per clip."""
    out = scores.copy()
    out["human"] = [human.get(i) for i in out["id"]]
    out["final"] = [dec.final(a, h) for a, h in zip(out["auto"], out["human"])]
    return out


def curation_card(info: dict[str, Any], v: pd.DataFrame, report: dict[str, Any]) -> dict[str, Any]:
    """Where the candidates came from and how they were chosen: counts by route, rejects by reason, thresholds."""
    rejected = v[v["final"] == "reject"]
    reasons = Counter(
        str(q).split(":")[0] if q != "ok" else ("reviewer" if h == "reject" else "score below reject_below")
        for q, h in zip(rejected["quality"], rejected["human"])
    )
    return {
        "class": info["name"],
        "prompt": info["prompt"],
        "candidates_from": info.get("sources") or [{"source": "synthetic demo pool", **report.get("pool", {})}],
        "scored": int(v["score"].notna().sum()),
        "candidates": int(len(v)),
        "auto_accepted": int((v["auto"] == "accept").sum()),
        "reviewed": int(v["human"].notna().sum()),
        "accepted": int((v["final"] == "accept").sum()),
        "rejected_by_reason": dict(sorted(reasons.items())),
        "left_for_review": int((v["final"] == "review").sum()),
        "thresholds": report.get("thresholds"),
        "weights": report.get("weights"),
    }


def _class_row(info: dict[str, Any]) -> dict[str, str]:
    return {
        "name": info["name"],
        "prompt": info["prompt"],
        "vggsound_label": info.get("vggsound_label") or info["prompt"],
        "aliases": "|".join(dict.fromkeys([info["prompt"], info["name"].replace("_", " ")])),
        "search_query": info.get("query") or info["prompt"],
    }


def add_class(classes_csv: Path, info: dict[str, Any]) -> bool:
    """Append the class to the table unless it is there already (True when added)."""
    table = ClassTable.read(classes_csv)
    if info["name"] in table:
        return False
    text = classes_csv.read_text(encoding="utf-8")
    buf = io.StringIO()
    csv.DictWriter(buf, fieldnames=list(_class_row(info)), lineterminator="\n").writerow(_class_row(info))
    write_text_atomic(classes_csv, text + ("" if text.endswith("\n") else "\n") + buf.getvalue())
    return True


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _block_span(lines: list[str], start: int, indent: int) -> int:
    """Index after the block that starts at ``lines[start]``: lines indented deeper than ``indent``, blank lines, and
    ``- item`` lines at ``indent`` itself (YAML lets a key's block list sit at the key's indent, as PyYAML writes)."""
    i = start + 1
    while i < len(lines) and (
        not lines[i].strip()
        or _indent(lines[i]) > indent
        or (_indent(lines[i]) == indent and lines[i].lstrip().startswith("- "))
    ):
        i += 1
    return i


def _append_item(lines: list[str], key_line: int, indent: int, item: str) -> tuple[int, str]:
    """Where and what to insert to append ``item`` to the block list under ``lines[key_line]``: after its last item,
    at that item's indent."""
    end = _block_span(lines, key_line, indent)
    items = [i for i in range(key_line + 1, end) if lines[i].lstrip().startswith("- ")]
    at = items[-1] + 1 if items else end
    pad = _indent(lines[items[-1]]) if items else indent + 2
    return at, " " * pad + f"- {item}\n"


def _find(lines: list[str], key: str, indent: int, lo: int, hi: int) -> int | None:
    for i in range(lo, hi):
        if lines[i].startswith(" " * indent + key + ":") and not lines[i][indent].isspace():
            return i
    return None


def add_to_params(params_path: Path, dataset: str, name: str, accepted: Path) -> bool:
    """Add the class to ``download.<dataset>.classes`` and the list to its ``source.extra_lists`` by editing only
    those lines (comments, layout and the rest of the file stay as they are); the result is parsed back and must
    differ from the original in exactly those two places. True when anything changed."""
    import yaml

    text = params_path.read_text(encoding="utf-8")
    before = yaml.safe_load(text)
    block = (before.get("download") or {}).get(dataset)
    if not isinstance(block, dict):
        raise CurationError(
            f"{params_path}: no download.{dataset} block; expected one of {list(before.get('download') or [])}"
        )
    listed = accepted.as_posix()
    want_class = name not in block["classes"]
    want_list = listed not in (block["source"].get("extra_lists") or [])
    if not (want_class or want_list):
        return False
    lines = text.splitlines(keepends=True)
    dl = _find(lines, "download", 0, 0, len(lines))
    ds = _find(lines, dataset, 2, dl + 1, _block_span(lines, dl, 0)) if dl is not None else None
    end = _block_span(lines, ds, 2) if ds is not None else None
    cls = _find(lines, "classes", 4, ds + 1, end) if ds is not None else None
    src = _find(lines, "source", 4, ds + 1, end) if ds is not None else None
    if cls is None or src is None:
        raise CurationError(
            f"{params_path}: download.{dataset}: cannot find 'classes' and 'source'; add {name} by hand"
        )
    inserts: list[tuple[int, str]] = []
    if want_list:
        ex = _find(lines, "extra_lists", 6, src + 1, _block_span(lines, src, 4))
        if ex is None:
            inserts.append((src + 1, f"      extra_lists: [{listed}]  # sound2video curate publish\n"))
        elif lines[ex].rstrip().endswith("]"):
            lines[ex] = lines[ex].rstrip()[:-1].rstrip() + f", {listed}]\n"
        else:
            inserts.append(_append_item(lines, ex, 6, listed))
    if want_class:
        flow = lines[cls].split(":", 1)[1].split("#")[0].strip().startswith("[")
        span = range(cls, _block_span(lines, cls, 4))  # the list's own lines (a flow list may wrap)
        close = next((i for i in span if lines[i].split("#")[0].rstrip().endswith("]")), None) if flow else None
        if close is None:  # a block list: one "- name" line after the last item
            inserts.append(_append_item(lines, cls, 4, name))
        else:
            body, hash_, comment = lines[close].partition("#")
            body = body.rstrip()[:-1].rstrip()
            lines[close] = f"{body}, {name}]" + (f"  {hash_}{comment}" if hash_ else "\n")
    for at, line in sorted(inserts, reverse=True):
        lines.insert(at, line)
    new_text = "".join(lines)
    after = yaml.safe_load(new_text)
    expect = before
    expect["download"][dataset]["classes"] = block["classes"] + ([name] if want_class else [])
    expect["download"][dataset]["source"]["extra_lists"] = (block["source"].get("extra_lists") or []) + (
        [listed] if want_list else []
    )
    if after != expect:
        raise CurationError(f"{params_path}: could not edit download.{dataset} safely; add {name} and {listed} by hand")
    write_text_atomic(params_path, new_text)
    return True


def publish(
    name: str,
    dataset: str,
    root: Path,
    params_path: Path = Path("params.yaml"),
    classes_csv: Path = DEFAULT_CLASSES_CSV,
) -> dict[str, Any]:
    """Write accepted.csv and the curation card, add the class to the table and the data set's params."""
    where = folder(name, root)
    info = read_info(where)
    scores_path = where / "work" / "scores.parquet"
    if not scores_path.is_file():
        raise CurationError(f"{scores_path} not found: run the curate stage (dvc repro curate) before publishing")
    v = verdicts(pd.read_parquet(scores_path), dec.read(where / dec.DECISIONS_NAME, name))
    urls = pd.read_parquet(where / "work" / "raw" / LEDGER_NAME).set_index("id")["url"]
    accepted = v[v["final"] == "accept"].sort_values("id")
    if accepted.empty:
        raise CurationError(f"{name}: no accepted clips to publish (accept some with `sound2video curate review`)")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "url", "label"])
    for clip_id in accepted["id"]:
        w.writerow([f"cur_{name}_{clip_id}", urls[clip_id], name])
    write_text_atomic(where / ACCEPTED_NAME, buf.getvalue())
    report_path = where / "report.json"
    report = pd.read_json(report_path, typ="series").to_dict() if report_path.is_file() else {}
    card = curation_card(info, v, report)
    write_json_atomic(where / CURATION_CARD_NAME, card)
    added = add_class(classes_csv, info)
    changed = add_to_params(params_path, dataset, name, where / ACCEPTED_NAME)
    return {"accepted": len(accepted), "class_added": added, "params_changed": changed, "card": card}
