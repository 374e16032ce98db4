"""Training checkpoints: named sets of modules, optimisers and EMA copies, the step, the history and the RNG
state, written atomically and resumed only when made with the same fingerprint (params, code, inputs)."""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sound2video.core.fsutil import atomic_path
from sound2video.core.stage_code import ROOT

log = logging.getLogger(__name__)


@dataclass
class TrainState:
    """Everything a training run carries from step to step."""

    modules: dict[str, torch.nn.Module]  # trained modules by name
    optimizers: dict[str, torch.optim.Optimizer]  # by name
    ema: dict[str, torch.nn.Module] = field(default_factory=dict)  # EMA copies, keyed by the module they follow
    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


def code_fingerprint(params_json: str, files: Iterable[Path], *extra: str) -> str:
    """Hash of the params that decide the weights, the code that decides them (``stage_code.code_files``), and
    anything else (e.g. input hashes)."""
    h = hashlib.sha256(params_json.encode())
    for e in extra:
        h.update(e.encode())
    for f in sorted(Path(p).resolve() for p in files):
        name = f.relative_to(ROOT).as_posix() if f.is_relative_to(ROOT) else f.name
        h.update(name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _rng_state() -> dict[str, Any]:
    kind, keys, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    keys = np.asarray(keys)
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
        "python": random.getstate(),
    }


def _set_rng_state(rng: dict[str, Any]) -> None:
    torch.set_rng_state(rng["torch"].cpu())
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in rng["cuda"]])
    kind, keys, pos, has_gauss, gauss = rng["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = rng["python"]
    random.setstate((version, tuple(internal), gauss_next))


def save_checkpoint(path: Path, state: TrainState, fingerprint: str) -> None:
    """Atomically write what ``resume`` needs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(
            {
                "fingerprint": fingerprint,
                "step": state.step,
                "history": state.history,
                "modules": {k: m.state_dict() for k, m in state.modules.items()},
                "optimizers": {k: o.state_dict() for k, o in state.optimizers.items()},
                "ema": {k: m.state_dict() for k, m in state.ema.items()},
                "rng": _rng_state(),
            },
            tmp,
        )


def resume(path: Path, fingerprint: str, state: TrainState, device: torch.device, name: str) -> bool:
    """Fill ``state`` (step, history, weights, optimisers, EMA copies, RNG) from ``path`` when it was made with
    ``fingerprint``; False (``state`` untouched) when there is no such checkpoint."""
    if not path.is_file():
        return False
    saved = torch.load(path, map_location=device, weights_only=True)
    if saved.get("fingerprint") != fingerprint:
        log.info("%s: checkpoint was made with other params or code; starting over", name)
        return False
    for kind, have in (("modules", state.modules), ("optimizers", state.optimizers), ("ema", state.ema)):
        if set(saved[kind]) != set(have):
            raise RuntimeError(
                f"{name}: checkpoint {path} holds {kind} {sorted(saved[kind])}, this run has "
                f"{sorted(have)}; delete it to start over"
            )
    for k, m in state.modules.items():
        m.load_state_dict(saved["modules"][k])
    for k, o in state.optimizers.items():
        o.load_state_dict(saved["optimizers"][k])
    for k, m in state.ema.items():
        m.load_state_dict(saved["ema"][k])
    _set_rng_state(saved["rng"])
    state.step, state.history = int(saved["step"]), list(saved["history"])
    log.info("%s: resuming from step %d", name, state.step)
    return True
