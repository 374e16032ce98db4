"""Crash-safe ledgers: rows are appended to a JSONL journal as work finishes, then folded into parquet.

A run that is killed keeps every finished row in the journal; the next run reads parquet + journal and goes on.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from sound2video.core.fsutil import write_parquet_atomic

LEDGER_NAME = "ledger.parquet"  # a ledgered stage's ledger, in its output folder (download: raw/, cut: clips/)
SOURCE_NAME = "source.json"  # the download stage's record of the list its items came from, beside its ledger


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


class Ledger:
    """Rows keyed by ``key_columns``; later rows replace earlier ones with the same key."""

    def __init__(self, parquet: str | Path, columns: list[str], key_columns: Iterable[str] = ("id",)):
        self.parquet = Path(parquet)
        self.journal = self.parquet.with_suffix(".journal.jsonl")
        self.columns = columns
        self.key_columns = tuple(key_columns)
        self._rows: dict[tuple, dict[str, Any]] = {}
        self._lock = threading.Lock()
        if self.parquet.is_file():
            for row in pd.read_parquet(self.parquet).to_dict("records"):
                self._put(row)
        if self.journal.is_file():
            with open(self.journal, encoding="utf-8") as f:
                for line in f:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        self._put(json.loads(line))
                    except json.JSONDecodeError:
                        break  # a torn last line from a crash: everything before it is intact

    def _key(self, row: dict[str, Any]) -> tuple:
        return tuple(row[k] for k in self.key_columns)

    def _put(self, row: dict[str, Any]) -> None:
        self._rows[self._key(row)] = {c: _clean(row.get(c)) for c in self.columns}

    def get(self, *key: Any) -> dict[str, Any] | None:
        return self._rows.get(tuple(key))

    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows.values())

    def record(self, row: dict[str, Any]) -> None:
        """Keep ``row`` and append it to the journal, flushed to disk before returning."""
        with self._lock:
            self._put(row)
            self.journal.parent.mkdir(parents=True, exist_ok=True)
            with open(self.journal, "a", encoding="utf-8") as f:
                f.write(json.dumps({c: _clean(row.get(c)) for c in self.columns}, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())

    def frame(self, keep: Iterable[tuple] | None = None) -> pd.DataFrame:
        if keep is None:
            rows = self.rows()
        else:
            wanted = set(keep)
            rows = [r for k, r in self._rows.items() if k in wanted]
        df = pd.DataFrame(rows, columns=self.columns)
        return df.sort_values(list(self.key_columns), kind="stable").reset_index(drop=True)

    def finalise(self, keep: Iterable[tuple] | None = None) -> pd.DataFrame:
        """Write the parquet (only ``keep`` keys, if given) atomically, then drop the journal."""
        df = self.frame(keep)
        write_parquet_atomic(df, self.parquet)
        if self.journal.exists():
            self.journal.unlink()
        return df


def read_ledger_file(path: str | Path, stage: str) -> pd.DataFrame:
    """Read a finished stage's ledger, or explain which stage to run first."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run the '{stage}' stage first (dvc repro {stage})")
    return pd.read_parquet(path)
