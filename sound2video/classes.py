"""The class table (``data/classes.csv``): names, text prompts, VGG-Sound labels, aliases and search queries."""

from __future__ import annotations

import csv
import re
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
    def read(cls, path: str | Path = DEFAULT_CLASSES_CSV) -> "ClassTable":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"class table {path} not found (expected a CSV with columns {', '.join(_REQUIRED)})")
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"class table {path} lacks columns {missing}; expected {list(_REQUIRED)}")
            rows = [
                AVClass(
                    name=r["name"].strip(),
                    prompt=r["prompt"].strip(),
                    vggsound_label=r["vggsound_label"].strip(),
                    aliases=tuple(a.strip() for a in r["aliases"].split("|") if a.strip()),
                    search_query=r["search_query"].strip(),
                )
                for r in reader
            ]
        return cls(rows)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    def __getitem__(self, name: str) -> AVClass:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def index(self, name: str) -> int:
        return self.names.index(name)

    def resolve(self, label: str) -> str | None:
        """Map a free-form label (name, prompt, VGG-Sound label or alias) to a class name, or None."""
        return self._lookup.get(normalise_label(label))
