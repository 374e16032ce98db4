"""Reading a version's shards from another project: local after `dvc pull`/`dvc import`, or streamed from the
remote; refuses a schema whose MAJOR version is newer than this code's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sound2video.data.shard.stage import INDEX_NAME, SCHEMA_VERSION
from sound2video.data.snapshot.repo import Objects, SnapshotError, lock_outs, parse_tag

SPLITS = ("train", "val", "test")


class SchemaError(SnapshotError):
    """The shards were written by a newer, incompatible layout."""


def check_schema(found: str | None, where: str) -> None:
    """Accept the same or an older MAJOR version (no version: 1.0, written before it was recorded)."""
    found = found or "1.0"
    try:
        major = int(str(found).split(".")[0])
    except ValueError:
        raise SchemaError(f"{where}: schema_version {found!r} is not MAJOR.MINOR") from None
    ours = int(SCHEMA_VERSION.split(".")[0])
    if major > ours:
        raise SchemaError(
            f"{where}: schema_version {found} is newer than this sound2video reads ({SCHEMA_VERSION}): upgrade "
            "sound2video, or use an older version of the data set"
        )


def _select(index: dict[str, Any], split: str | None, where: str) -> list[dict[str, Any]]:
    check_schema(index.get("schema_version"), where)
    if split is not None and split not in SPLITS:
        raise ValueError(f"split {split!r}: expected one of {SPLITS}")
    return sorted((e for e in index["shards"] if split is None or e["split"] == split), key=lambda e: e["shard"])


def shard_paths(shards_dir: str | Path, split: str | None = None) -> list[Path]:
    """The shard files of a local shards folder (pulled or imported), checked against its index.json."""
    shards_dir = Path(shards_dir)
    index_file = shards_dir / INDEX_NAME
    if not index_file.is_file():
        raise FileNotFoundError(f"{index_file} not found: `dvc pull` (or `dvc import`) the shards folder first")
    paths = [shards_dir / e["shard"] for e in _select(json.loads(index_file.read_text()), split, str(index_file))]
    absent = [p.name for p in paths if not p.is_file()]
    if absent:
        raise FileNotFoundError(f"{shards_dir}: shards listed in index.json are missing: {absent[:5]}")
    return paths


def remote_shards(
    root: str | Path, version: str, split: str | None = None, remote: str | None = ""
) -> tuple[Objects, list[tuple[str, str]]]:
    """(objects, [(shard name, md5)]) of a version in a DVC remote (``remote``: name, "" for the default)."""
    dataset, _ = parse_tag(version)
    shards = lock_outs(Path(root), version, dataset)[f"data/{dataset}/shards"]
    objects = Objects(Path(root), remote)
    try:
        manifest = objects.directory(shards["md5"])
        index = json.loads(objects.read(manifest[INDEX_NAME]))
        chosen = _select(index, split, f"{version}:{INDEX_NAME}")
        return objects, [(e["shard"], manifest[e["shard"]]) for e in chosen]
    except BaseException:
        objects.close()
        raise


def shard_urls(root: str | Path, version: str, split: str | None = None, remote: str | None = "") -> list[str]:
    """URLs (local paths on a folder remote, ``s3://...`` on S3) of a version's shards in the remote."""
    objects, shards = remote_shards(root, version, split, remote)
    with objects:
        return [objects.url(md5) for _, md5 in shards]


def _stream(objects: Objects, shards: list[tuple[str, str]]) -> Iterator[dict[str, Any]]:
    with objects:
        for name, md5 in shards:
            with objects.open(md5) as stream:
                yield {"url": name, "stream": stream}


def open_webdataset(
    source: str | Path,
    version: str | None = None,
    split: str | None = None,
    *stages: Any,
    remote: str | None = "",
) -> Any:
    """A ``webdataset.DataPipeline`` over a version's samples, followed by ``stages`` (e.g. ``wds.decode()``).

    ``source`` is a shards folder (after `dvc pull` / `dvc import`), or, with ``version``, the producer's repository
    (a local clone) whose DVC remote is streamed: no local copy, credentials from its DVC config."""
    import webdataset as wds
    from webdataset.tariterators import group_by_keys, tar_file_expander

    if version is None:
        paths = [str(p) for p in shard_paths(source, split)]
        return wds.DataPipeline(wds.SimpleShardList(paths), wds.tarfile_to_samples(), *stages)

    def samples() -> Iterator[dict[str, Any]]:  # opened afresh per epoch
        objects, shards = remote_shards(source, version, split, remote)
        yield from group_by_keys(tar_file_expander(_stream(objects, shards)))

    remote_shards(source, version, split, remote)[0].close()  # fail now, not at the first epoch
    return wds.DataPipeline(samples, *stages)
