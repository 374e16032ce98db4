"""Run the shard stage: split ok clips by source video and write deterministic WebDataset tars."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from sound2video.core.fsutil import write_json_atomic, write_text_atomic
from sound2video.core.log import progress
from sound2video.core.params_io import label_table_for, load_block, read_yaml
from sound2video.data.classes import ClassTable
from sound2video.data.ledger import LEDGER_NAME, SOURCE_NAME, read_ledger_file
from sound2video.data.shard.card import build_card, headline, render_markdown
from sound2video.data.shard.frames import jpeg_frames
from sound2video.data.shard.params import ShardParams
from sound2video.data.shard.split import assign_splits
from sound2video.data.shard.write import write_split

log = logging.getLogger(__name__)

INDEX_NAME = "index.json"
# The layout of the shards, their json member, index.json and the data card, as MAJOR.MINOR: a reader refuses a
# newer MAJOR (sound2video.data.snapshot.consume); add fields with a MINOR bump, rename or remove with a MAJOR one.
SCHEMA_VERSION = "1.1"


def sample_json(row: dict[str, Any], classes: ClassTable, split: str) -> dict[str, Any]:
    """The ``json`` member of a sample."""
    return {
        "key": row["key"],
        "class": row["class"],
        "cls": classes.index(row["class"]),
        "prompt": classes[row["class"]].prompt,
        "split": split,
        "source_id": row["video_id"],
        "source_url": row["source_url"],
        "source_kind": row["source_kind"],
        "clip_index": int(row["clip_index"]),
        "start": float(row["start"]),
        "end": float(row["end"]),
        "fps": int(row["fps"]),
        "frames": int(row["frames"]),
        "width": int(row["width"]),
        "height": int(row["height"]),
        "sample_rate": int(row["sample_rate"]),
        "audio_samples": int(row["audio_samples"]),
        "channels": int(row["channels"]),
        "scene_cut": bool(row["scene_cut"]),
    }


def _samples(
    rows: pd.DataFrame, clips_dir: Path, classes: ClassTable, split: str, params: ShardParams, bar: Any
) -> Iterator[dict]:
    for row in rows.to_dict("records"):
        sample = {
            "__key__": row["key"],
            "flac": (clips_dir / row["flac"]).read_bytes(),
            "json": json.dumps(sample_json(row, classes, split), sort_keys=True).encode(),
            "cls": str(classes.index(row["class"])).encode(),
        }
        if params.include_mp4:
            sample["mp4"] = (clips_dir / row["mp4"]).read_bytes()
        if params.jpg_frames:
            for k, jpg in enumerate(
                jpeg_frames(clips_dir / row["mp4"], int(row["frames"]), params.jpg_frames, params.jpg_qscale)
            ):
                sample[f"frame{k}.jpg"] = jpg
        yield sample
        bar.update()


def _require_clips(ok: pd.DataFrame, clips_dir: Path, params: ShardParams) -> None:
    """Fail before writing if a clip file the ledger lists is absent: clips/ is a working folder DVC never pushes."""
    cols = ["flac"] + (["mp4"] if params.include_mp4 or params.jpg_frames else [])
    missing = [str(r[c]) for r in ok.to_dict("records") for c in cols if not (clips_dir / str(r[c])).is_file()]
    if missing:
        raise FileNotFoundError(
            f"shard needs {len(missing)} clip file(s) that are not in {clips_dir} (e.g. {', '.join(missing[:3])}): the "
            "clips are a working folder that DVC does not share, only their ledger. Cut them again with "
            f"`dvc repro -f -s cut@{clips_dir.parent.name}` (after `dvc repro -f -s download@{clips_dir.parent.name}` "
            "if the raw videos are missing too), or pull the shards instead (`dvc pull --with-deps shard@<dataset>`)."
        )


def run(
    params: ShardParams,
    profile: str,
    classes: ClassTable,
    downloads: pd.DataFrame,
    clips: pd.DataFrame,
    clips_dir: str | Path,
    out_dir: str | Path,
    card_json: str | Path,
    card_md: str | Path,
    metrics_json: str | Path | None = None,
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write shards into ``out_dir`` (replaced atomically as a whole), the data card and, if ``metrics_json`` is
    given, the card's headline numbers there; returns the card. ``source`` is the download stage's record of the
    list the items came from (``raw/source.json``)."""
    clips_dir, out_dir = Path(clips_dir), Path(out_dir)
    ok = clips[clips["status"] == "ok"].copy()
    if ok.empty:
        raise ValueError("no ok clips to shard: the clips ledger has none (see `sound2video data inspect` on it)")
    unknown = sorted(set(ok["class"]) - set(classes.names))
    if unknown:
        raise ValueError(f"clips ledger has classes {unknown} that are not in the class table")
    videos_by_class = {c: sorted(g["video_id"].unique()) for c, g in ok.groupby("class")}
    fixed = None
    if params.splits_from_source:
        listed = downloads.dropna(subset=["split"]) if "split" in downloads.columns else downloads.iloc[:0]
        fixed = {str(i): str(s) for i, s in zip(listed["id"], listed["split"])}
        if not fixed:
            raise ValueError(
                "shard.splits_from_source is set but the download ledger has no item with a split from "
                "its source list (sources with one: landscape_list, vggsound_csv)"
            )
    split_of = assign_splits(videos_by_class, dict(params.splits), params.split_seed, fixed)
    ok["split"] = ok["video_id"].map(split_of)
    ok = ok.sort_values("key", kind="stable")
    if ok["key"].duplicated().any():
        raise ValueError(f"duplicate clip keys: {sorted(ok.loc[ok['key'].duplicated(), 'key'])[:5]}")
    _require_clips(ok, clips_dir, params)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    index: list[dict[str, Any]] = []
    with progress(total=len(ok), desc="shard", unit="clip") as bar:
        for split in ("train", "val", "test"):
            rows = ok[ok["split"] == split]
            if len(rows):
                index += write_split(
                    _samples(rows, clips_dir, classes, split, params, bar),
                    tmp,
                    split,
                    params.max_samples_per_shard,
                    params.max_bytes_per_shard,
                )
    class_of = dict(zip(ok["key"], ok["class"]))
    for entry in index:  # key -> class per shard, so that two versions can be compared clip by clip
        entry["clips"] = {k: str(class_of[k]) for k in entry.pop("keys")}
    write_json_atomic(tmp / INDEX_NAME, {"schema_version": SCHEMA_VERSION, "shards": index, "samples": int(len(ok))})
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    present = set(ok["class"])
    card = build_card(profile, ok, clips, downloads, index, [c for c in classes.names if c in present], source)
    card = {"schema_version": SCHEMA_VERSION} | card
    write_json_atomic(card_json, card)
    write_text_atomic(card_md, render_markdown(card))
    if metrics_json is not None:
        write_json_atomic(metrics_json, headline(card))
    log.info(
        "shard: %d clips in %d shards (%s)",
        len(ok),
        len(index),
        ", ".join(f"{s}={card['splits'][s]['clips']}" for s in ("train", "val", "test")),
    )
    return card


def main(
    params_path: str,
    classes_csv: str,
    dataset: str,
    raw_dir: str,
    clips_dir: str,
    out_dir: str,
    card_json: str,
    metrics_json: str,
) -> None:
    """Stage entry: validate the ``shard.<dataset>`` block, read both ledgers, then run. card.md goes beside."""
    params = load_block(params_path, "shard", ShardParams, dataset)
    data = read_yaml(params_path)
    profile = f"{data.get('profile', 'custom')}/{dataset}"
    source_json = Path(raw_dir) / SOURCE_NAME
    source = json.loads(source_json.read_text(encoding="utf-8")) if source_json.is_file() else None
    run(
        params,
        profile,
        ClassTable.read(label_table_for(data, dataset, classes_csv, params_path)),
        read_ledger_file(Path(raw_dir) / LEDGER_NAME, "download"),
        read_ledger_file(Path(clips_dir) / LEDGER_NAME, "cut"),
        clips_dir,
        out_dir,
        card_json,
        str(Path(card_json).with_suffix(".md")),
        metrics_json,
        source,
    )
