"""Manifest of the synthetic source: ``videos_per_class`` items per selected class."""

from __future__ import annotations

import pandas as pd

from sound2video.data.sources.params import SyntheticParams
from sound2video.data.sources.synthetic import synthetic_url


def read(params: SyntheticParams, class_names: list[str]) -> pd.DataFrame:
    rows = [
        {
            "id": f"syn_{name}_{i:04d}",
            "url": synthetic_url(name, i, params.seed),
            "label": name,
            "start": float("nan"),
            "end": float("nan"),
            "source_kind": "synthetic",
            "reject_reason": None,
        }
        for name in class_names
        for i in range(params.videos_per_class)
    ]
    return pd.DataFrame(rows)
