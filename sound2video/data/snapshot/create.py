"""`snapshot create`: check that a data set is built and committed, push its outputs, tag a new version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from sound2video.data.snapshot.repo import SnapshotError, git, lock_outs, parse_tag, run, stages, tag_name, versions


def summary(card: dict[str, Any]) -> str:
    """The card's headline as a few lines for the tag message."""
    splits = ", ".join(f"{s} {card['splits'][s]['clips']}" for s in ("train", "val", "test"))
    return "\n".join(
        [
            f"profile {card['profile']}; schema {card.get('schema_version', '1.0')}; {card['note']}",
            f"{card['clips']} clips from {card['videos']} source videos ({splits}), {card['hours']} hours",
            f"classes: {', '.join(card['classes'])}",
            f"shards: {card['shards']['count']} ({card['shards']['bytes']} bytes)",
        ]
    )


def check_ready(root: Path, dataset: str) -> None:
    """Refuse unless the data set is built, `dvc status` is clean for its stages and git has it all committed."""
    listed = (yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8")) or {}).get("datasets") or []
    if dataset not in listed:
        raise SnapshotError(f"data set {dataset!r} is not in params.yaml: datasets {listed}")
    card = root / "data" / dataset / "card.json"
    index = root / "data" / dataset / "shards" / "index.json"
    if not (card.is_file() and index.is_file()):
        raise SnapshotError(
            f"data set {dataset!r} is not built ({card} or {index} missing): run `dvc repro shard@{dataset}`"
        )
    status = json.loads(run(root, "dvc", "status", "--json", *stages(dataset)).stdout or "{}")
    if status:
        raise SnapshotError(
            f"`dvc status` is not clean for {dataset}: {json.dumps(status, sort_keys=True)}; run `dvc repro "
            f"shard@{dataset}` and commit dvc.lock first"
        )
    dirty = git(root, "status", "--porcelain", "--untracked-files=no").strip()
    if dirty:
        raise SnapshotError(f"uncommitted changes (a version is a commit; commit them first):\n{dirty}")
    lock_outs(root, "HEAD", dataset)  # the committed dvc.lock has the stages


def next_number(root: Path, dataset: str) -> int:
    numbers = [parse_tag(t)[1] for t in versions(root, dataset)]
    return max(numbers, default=0) + 1


def create(root: Path, dataset: str, message: str | None = None, remote: str | None = None) -> str:
    """Push the data set's shards, index, ledgers (the card is in git) and tag HEAD ``<dataset>@vN``; returns the
    tag. ``remote``: a DVC remote name (default: the configured default remote)."""
    check_ready(root, dataset)
    head = git(root, "rev-parse", "HEAD").strip()
    for tag in versions(root, dataset):
        if git(root, "rev-list", "-n", "1", tag).strip() == head:
            raise SnapshotError(f"HEAD is already version {tag}")
    run(root, "dvc", "push", *(["-r", remote] if remote else []), *stages(dataset))
    tag = tag_name(dataset, next_number(root, dataset))
    card = json.loads((root / "data" / dataset / "card.json").read_text(encoding="utf-8"))
    text = f"{tag}: {message or 'data snapshot'}\n\n{summary(card)}\n"
    git(root, "tag", "-a", tag, "-m", text)
    return tag
