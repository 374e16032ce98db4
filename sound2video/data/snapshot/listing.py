"""`snapshot list`: each version's date, message, clip counts and shard bytes, from the card at its tag."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sound2video.data.snapshot.repo import card_at, git, parse_tag, versions


def list_versions(root: Path, dataset: str | None = None) -> list[dict[str, Any]]:
    rows = []
    for tag in versions(root, dataset):
        ds, _ = parse_tag(tag)
        card = card_at(root, tag, ds)
        subject = git(root, "tag", "--list", tag, "--format=%(contents:subject)").strip()
        date = git(root, "log", "-1", "--format=%cs", tag).strip()
        rows.append(
            {
                "version": tag,
                "date": date,
                "message": subject.split(": ", 1)[-1],
                "schema_version": card.get("schema_version", "1.0"),
                "clips": card["clips"],
                **{s: card["splits"][s]["clips"] for s in ("train", "val", "test")},
                "classes": len(card["classes"]),
                "shards": card["shards"]["count"],
                "bytes": card["shards"]["bytes"],
            }
        )
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no snapshot versions (create one with `sound2video snapshot create DATASET`)\n"
    cols = ["version", "date", "clips", "train", "val", "test", "classes", "shards", "bytes", "message"]
    table = [[str(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(t, widths)) for t in table]
    return "\n".join(line.rstrip() for line in lines) + "\n"
