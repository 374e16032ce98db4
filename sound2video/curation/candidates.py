"""A class's curation folder and its candidate list (``candidates.csv``: id,url,label[,truth]) from a URL list, a
local folder, VGG-Sound rows of a label, a yt-dlp search, or the synthetic demo pool."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from sound2video.core.fsutil import safe_id, write_text_atomic
from sound2video.curation.params import DemoPoolParams
from sound2video.data.sources.synthetic import Variant, variant_url
from sound2video.data.sources.youtube import watch_url, youtube_id

CURATION_DIR = Path("data/curation")
CANDIDATE_COLUMNS = ["id", "url", "label", "truth"]
SLUG = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
VIDEO_SUFFIXES = {".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v"}


class CurationError(ValueError):
    """A bad curation input; the message names it and what was expected."""


def check_slug(name: str) -> str:
    if not SLUG.match(name):
        raise CurationError(
            f"class name {name!r} is not a safe slug: expected 2-48 characters of a-z, 0-9 and _, starting with a letter"
        )
    return name


def folder(name: str, root: str | Path = CURATION_DIR) -> Path:
    return Path(root) / check_slug(name)


def write_candidates(path: Path, rows: list[dict[str, str]]) -> None:
    """Write the list (sorted by id, ids unique); an empty list is an error naming where it came from."""
    if not rows:
        raise CurationError(f"no candidates for {path}: the source gave an empty list")
    seen: set[str] = set()
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CANDIDATE_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in sorted(rows, key=lambda r: r["id"]):
        if r["id"] in seen:
            raise CurationError(f"candidate id {r['id']!r} appears twice")
        seen.add(r["id"])
        w.writerow({k: r.get(k, "") for k in CANDIDATE_COLUMNS})
    write_text_atomic(path, buf.getvalue())


def from_url_list(name: str, path: str | Path) -> list[dict[str, str]]:
    """One candidate per non-empty, non-comment line of a text file of URLs."""
    lines = [ln.strip() for ln in Path(path).read_text(encoding="utf-8").splitlines()]
    urls = [ln for ln in lines if ln and not ln.startswith("#")]
    return [{"id": safe_id(youtube_id(u) or f"url{i:05d}"), "url": u, "label": name} for i, u in enumerate(urls)]


def from_folder(name: str, path: str | Path) -> list[dict[str, str]]:
    """Every video file under a local folder."""
    root = Path(path)
    if not root.is_dir():
        raise CurationError(f"candidate folder {root} is not a folder")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    return [
        {"id": safe_id("__".join(f.relative_to(root).with_suffix("").parts)), "url": str(f.resolve()), "label": name}
        for f in files
    ]


def from_vggsound(name: str, csv_path: str | Path, label: str) -> list[dict[str, str]]:
    """VGG-Sound rows (``ytid,start,label,split`` without header) whose label is ``label``: 10 s segments."""
    out = []
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) >= 3 and row[2].strip() == label and youtube_id(row[0].strip()):
                start = float(row[1])
                out.append(
                    {
                        "id": safe_id(f"{row[0].strip()}_{int(start):06d}"),
                        "url": watch_url(row[0].strip()),
                        "label": name,
                        "start": str(start),
                        "end": str(start + 10),
                    }
                )
    return out


def from_search(name: str, query: str, n: int) -> list[dict[str, str]]:
    """One yt-dlp search item (``ytsearchN:query``): needs the network when fetched."""
    return [{"id": safe_id(f"search_{query}")[:60], "url": f"ytsearch{n}:{query}", "label": name}]


def demo_pool(name: str, pool: DemoPoolParams) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The demo's candidates (each with its ground truth: 1 true, 0 distractor) and known-good exemplars."""
    seed = pool.synthetic.seed
    rows: list[tuple[str, Variant, int]] = []
    rows += [(f"true_{i:03d}", Variant(name, i, seed, name), 1) for i in range(pool.true_clips)]
    # distractors use other indices than any true clip, so no distractor repeats a true clip's sound or picture
    k = pool.true_clips + pool.seed_exemplars
    for o, other in enumerate(pool.other_classes):
        for j in range(pool.mismatched):
            m = k + 100 * (o + 1) + j  # one index per (other class, j): no two distractors share a sound or picture
            rows.append((f"other_{other}_{j:02d}", Variant(other, j, seed, other), 0))
            rows.append((f"picture_{other}_{j:02d}", Variant(name, m, seed, other), 0))
            rows.append((f"sound_{other}_{j:02d}", Variant(other, m + 50, seed, name), 0))
    rows += [(f"silent_{j:02d}", Variant(name, k + 10 + j, seed, "silent"), 0) for j in range(pool.silent)]
    rows += [(f"static_{j:02d}", Variant(name, k + 30 + j, seed, name, static=True), 0) for j in range(pool.static)]
    candidates = [{"id": i, "url": variant_url(v), "label": name, "truth": str(t)} for i, v, t in rows]
    exemplars = [
        {"id": f"exemplar_{j:03d}", "url": variant_url(Variant(name, pool.true_clips + j, seed, name)), "label": name}
        for j in range(pool.seed_exemplars)
    ]
    return candidates, exemplars
