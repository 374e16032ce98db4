"""Publish a curated class into a data set: the class table row, the accepted list (``accepted.csv``) and its
curation card beside it, and the data set's download params (class + ``source.extra_lists``) in ``params.yaml`` and
in the active profile file (``configs/<profile>.yaml``). Idempotent."""

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


PUBLISH_COMMENT = "# sound2video curate publish"


def _entry(mapping: Any, key: str) -> Any:
    """The value node of ``key`` in a composed mapping node (None when absent or not a mapping)."""
    from ruamel.yaml.nodes import MappingNode

    if not isinstance(mapping, MappingNode):
        return None
    return next((v for k, v in mapping.value if getattr(k, "value", None) == key), None)


def _items(node: Any, where: str) -> list[str] | None:
    """The scalars of a composed list node; None for ``all`` (``classes: all``); CurationError for anything else."""
    from ruamel.yaml.nodes import ScalarNode, SequenceNode

    if isinstance(node, ScalarNode) and node.value == "all":
        return None
    if not isinstance(node, SequenceNode) or not all(isinstance(item, ScalarNode) for item in node.value):
        raise CurationError(f"{where} (line {node.start_mark.line + 1}): expected a list of names")
    return [item.value for item in node.value]


def _download_block(root: Any, params_path: Path, dataset: str, name: str) -> tuple[Any, Any]:
    """The composed ``classes`` and ``source`` nodes of ``download.<dataset>``; CurationError naming what is missing."""
    from ruamel.yaml.nodes import MappingNode

    downloads = _entry(root, "download")
    block = _entry(downloads, dataset)
    if block is None:
        known = [k.value for k, _ in downloads.value] if isinstance(downloads, MappingNode) else []
        raise CurationError(f"{params_path}: no download.{dataset} block; expected one of {known}")
    classes, source = _entry(block, "classes"), _entry(block, "source")
    if classes is None or _entry(source, "kind") is None:
        raise CurationError(
            f"{params_path}: download.{dataset}: cannot find 'classes' and 'source'; add {name} by hand"
        )
    return classes, source


def _emit(value: str) -> str:
    """``value`` as ruamel.yaml writes it inside a flow list: plain, or quoted where YAML needs it."""
    import io

    from ruamel.yaml import YAML

    out, emitter = io.StringIO(), YAML()
    emitter.default_flow_style = True
    emitter.dump([value], out)
    return out.getvalue().strip()[1:-1]


def _append(text: str, seq: Any, value: str) -> tuple[int, str]:
    """Where and what to insert to append ``value`` to a composed list node: after its last item in a flow list;
    on a new ``- value`` line (at the list's own dash column) after the last item's line in a block list."""
    item = _emit(value)
    if seq.flow_style:
        if not seq.value:
            return seq.start_mark.index + 1, item
        return seq.value[-1].end_mark.index, f", {item}"
    end = text.find("\n", seq.value[-1].end_mark.index)  # the last item's line, its comment included
    return (len(text) if end < 0 else end), "\n" + " " * seq.start_mark.column + f"- {item}"


def _add_key(text: str, mapping: Any, key: str, value: str) -> tuple[int, str]:
    """Where and what to insert to add ``key: [value]`` to a composed mapping node: before its first key, at that
    key's column, in a block mapping; after its last entry in a flow mapping."""
    entry = f"{key}: [{_emit(value)}]"
    if mapping.flow_style:
        if not mapping.value:
            return mapping.start_mark.index + 1, entry
        return mapping.value[-1][1].end_mark.index, f", {entry}"
    first = mapping.value[0][0].start_mark
    return first.index - first.column, " " * first.column + f"{entry}  {PUBLISH_COMMENT}\n"


def add_to_params(params_path: Path, dataset: str, name: str, accepted: Path) -> bool:
    """Add the class to ``download.<dataset>.classes`` and the list to its ``source.extra_lists`` (flow or block
    lists). ruamel.yaml's round-trip parser finds the nodes and where they end, its emitter writes the new items, and
    they are inserted there: comments, layout and every other byte of the file stay as they were. The result is
    parsed back and must differ from the original in exactly those two places. True when anything changed."""
    from ruamel.yaml import YAML

    text = params_path.read_text(encoding="utf-8")
    classes, source = _download_block(YAML(typ="rt").compose(text), params_path, dataset, name)
    key, listed = f"{params_path}: download.{dataset}", accepted.as_posix()
    inserts: list[tuple[int, str]] = []
    names = _items(classes, f"{key}.classes")
    if names is not None and name not in names:  # ``classes: all`` already selects the published class
        inserts.append(_append(text, classes, name))
    extra = _entry(source, "extra_lists")
    if extra is None:
        inserts.append(_add_key(text, source, "extra_lists", listed))
    elif listed not in (_items(extra, f"{key}.source.extra_lists") or []):
        inserts.append(_append(text, extra, listed))
    if not inserts:
        return False
    new_text = text
    for at, piece in sorted(inserts, reverse=True):
        new_text = new_text[:at] + piece + new_text[at:]
    _check_edit(params_path, text, new_text, dataset, name, listed)
    write_text_atomic(params_path, new_text)
    return True


def _check_edit(params_path: Path, text: str, new_text: str, dataset: str, name: str, listed: str) -> None:
    """The edited file must read back as the original plus the class and the list, nothing else."""
    import yaml

    expect, after = yaml.safe_load(text), yaml.safe_load(new_text)
    block = expect["download"][dataset]
    if block["classes"] != "all" and name not in block["classes"]:
        block["classes"] = [*block["classes"], name]
    lists = block["source"].get("extra_lists") or []
    block["source"]["extra_lists"] = lists if listed in lists else [*lists, listed]
    if after != expect:
        raise CurationError(f"{params_path}: could not edit download.{dataset} safely; add {name} and {listed} by hand")


def active_profile(params_path: Path) -> Path | None:
    """The profile file ``params_path`` was switched from (``configs/<profile>.yaml`` beside it), if there is one:
    publishing edits it too, so that switching profiles again keeps the published class."""
    import yaml

    profile = (yaml.safe_load(params_path.read_text(encoding="utf-8")) or {}).get("profile")
    path = params_path.parent / "configs" / f"{profile}.yaml"
    return path if isinstance(profile, str) and profile and path.is_file() else None


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
    profile = active_profile(params_path)
    edited = [
        p for p in (params_path, profile) if p is not None and add_to_params(p, dataset, name, where / ACCEPTED_NAME)
    ]
    return {
        "accepted": len(accepted),
        "class_added": added,
        "params_changed": bool(edited),
        "params_files_changed": [str(p) for p in edited],
        "card": card,
    }
