"""Class tables: names, text prompts, VGG-Sound labels, aliases and search queries.

Two formats are read: ours (``data/classes.csv``: a header ``name,prompt,vggsound_label,aliases,search_query``) and
VGG-Sound's label table (``data/lists/vggsound_stat.csv``: ``label,count,category`` rows, no header), which gives a
data set one class per VGG-Sound label. Which table a data set uses is ``label_tables.<ds>`` in params.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CLASSES_CSV = Path("data/classes.csv")
_REQUIRED = ("name", "prompt", "vggsound_label", "aliases", "search_query")


@dataclass(frozen=True)
class AVClass:
    name: str
    prompt: str
    vggsound_label: str
    aliases: tuple[str, ...]
    search_query: str
    expected: int | None = None  # rows of this class in the source's full list, where the table says (VGG-Sound)


def label_slug(label: str) -> str:
    """A class name made from a free-form label: lower case, runs of non-alphanumerics as '_'."""
    slug = re.sub(r"[^a-z0-9]+", "_", str(label).strip().lower()).strip("_")
    if not slug:
        raise ValueError(f"label {label!r} has no letters or digits to name a class by")
    return slug


def normalise_label(label: str) -> str:
    """Lower-case a label and collapse spaces, dashes and underscores, so 'Fire_Crackling' == 'fire crackling'."""
    return re.sub(r"[\s_\-]+", " ", str(label).strip().lower())


class ClassTable:
    """Ordered classes; the row order defines the integer ``cls`` written into shards."""

    def __init__(self, classes: list[AVClass]):
        if not classes:
            raise ValueError("the class table is empty")
        names = [c.name for c in classes]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate class names in the class table: {sorted(names)}")
        self.classes = classes
        self._by_name = {c.name: c for c in classes}
        self._lookup: dict[str, str] = {}
        for c in classes:
            for label in (c.name, c.prompt, c.vggsound_label, *c.aliases):
                self._lookup.setdefault(normalise_label(label), c.name)

    @classmethod
    def read(cls, path: str | Path = DEFAULT_CLASSES_CSV) -> ClassTable:
        """Read ours (with a header) or VGG-Sound's label table (``label,count,category``, no header)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"class table {path} not found (expected a CSV with columns {', '.join(_REQUIRED)}"
                " or VGG-Sound's label,count,category rows)"
            )
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        if rows and len(rows[0]) == 3 and rows[0][1].strip().isdigit():
            return cls._from_vggsound_stat(path, rows)
        header = [h.strip() for h in rows[0]] if rows else []
        missing = [c for c in _REQUIRED if c not in header]
        if missing:
            raise ValueError(
                f"class table {path} lacks columns {missing}; expected {list(_REQUIRED)} (or VGG-Sound's "
                "label,count,category rows without a header)"
            )
        records = [dict(zip(header, r)) for r in rows[1:] if any(v.strip() for v in r)]
        return cls(
            [
                AVClass(
                    name=r["name"].strip(),
                    prompt=r["prompt"].strip(),
                    vggsound_label=r["vggsound_label"].strip(),
                    aliases=tuple(a.strip() for a in r["aliases"].split("|") if a.strip()),
                    search_query=r["search_query"].strip(),
                )
                for r in records
            ]
        )

    @classmethod
    def _from_vggsound_stat(cls, path: Path, rows: list[list[str]]) -> ClassTable:
        """One class per VGG-Sound label, in the file's order: name = slug, prompt = label, aliases = none."""
        classes = []
        for n, r in enumerate(rows, start=1):
            if len(r) != 3 or not r[1].strip().isdigit():
                raise ValueError(f"{path}: row {n}: expected label,count,category, got {r!r}")
            label = r[0].strip()
            classes.append(
                AVClass(
                    name=label_slug(label),
                    prompt=label,
                    vggsound_label=label,
                    aliases=(),
                    search_query=label,
                    expected=int(r[1]),
                )
            )
        return cls(classes)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    def __getitem__(self, name: str) -> AVClass:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def index(self, name: str) -> int:
        return self.names.index(name)

    def resolve(self, label: str, mapping: Mapping[str, str] | None = None) -> str | None:
        """Map a free-form label (name, prompt, VGG-Sound label or alias) to a class name, or None.

        ``mapping`` (a source's ``class_map`` param: its label -> our class) is consulted first."""
        key = normalise_label(label)
        for source_label, target in (mapping or {}).items():
            if normalise_label(source_label) == key:
                return self._lookup.get(normalise_label(target))
        return self._lookup.get(key)
