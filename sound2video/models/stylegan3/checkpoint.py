"""Load a generator from an official pickle or from our format; save our format.

Our format is a model folder of the contract (``models/contract.py``, ``format: stylegan3``): ``model.safetensors``
with the official state-dict names, and ``config.json`` (also embedded in the safetensors metadata, so the
``.safetensors`` file alone, for example behind a URL, is enough).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sound2video.core.remote import is_url, resolve
from sound2video.models.contract import WEIGHTS, read_model_file, write_model_folder
from sound2video.models.stylegan3.config import GeneratorConfig
from sound2video.models.stylegan3.pickle_loader import NetworkFormatError, load_official

FORMAT, FORMAT_VERSION = "stylegan3", 1


def save_generator(G: Any, out_dir: str | Path, source: dict[str, Any] | None = None) -> Path:
    """Write ``G`` in our format (atomically, file by file) and return the directory."""
    return write_model_folder(
        out_dir, FORMAT, FORMAT_VERSION, {"generator": G.config.to_dict(), "source": source or {}}, G.state_dict()
    )


def load_generator(
    spec: str | Path,
    sha256: str | None = None,
    key: str = "G_ema",
    device: str = "cpu",
    cache_dir: str | Path | None = None,
    frozen: bool = True,
) -> Any:
    """A ``Generator`` from an official pickle (``key``, default ``G_ema``) or our format, by path or URL.

    ``sha256`` checks the file (for our directory format: its ``model.safetensors``). With ``frozen`` the
    parameters do not require gradients (gradients still flow to the inputs) and the module is in eval mode.
    """
    spec_str = str(spec)
    if not is_url(spec_str) and Path(spec_str).expanduser().is_dir():
        path = resolve(str(Path(spec_str).expanduser() / WEIGHTS), sha256)
    else:
        path = resolve(spec_str, sha256, cache_dir)
    if _is_safetensors(path):
        G = _load_ours(path)
        source = {"format": "safetensors", "path": spec_str}
    else:
        G = _load_pickle(path, key)
        source = {"format": "official-pickle", "path": spec_str, "key": key}
    G.source = source
    G = G.to(device)
    if frozen:
        G.eval().requires_grad_(False)
    return G


def _is_safetensors(path: Path) -> bool:
    """A safetensors file starts with its header's length (8 bytes, little-endian) and then the JSON header."""
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) < 9:
        return False
    return head[8:9] == b"{" and int.from_bytes(head[:8], "little") < path.stat().st_size


def _load_ours(path: Path) -> Any:
    config, state = read_model_file(path, expected_format=FORMAT)
    return build(GeneratorConfig.from_dict(config["generator"]), state, str(path))


def from_contract(config: dict[str, Any], state: dict[str, Any], device: str = "cpu") -> Any:
    """A frozen generator from a model folder (``sound2video.models.load``), in eval mode on ``device``."""
    G = build(GeneratorConfig.from_dict(config["generator"]), state, "stylegan3 model folder")
    G.source = {"format": "safetensors"}
    return G.to(device).eval().requires_grad_(False)


def _load_pickle(path: Path, key: str) -> Any:
    with open(path, "rb") as f:
        net = load_official(f, key)
    return build(net.config, net.state_dict, f"{path}:{key}", check_filters=True)


def build(config: GeneratorConfig, state: dict[str, Any], where: str, check_filters: bool = False) -> Any:
    """A Generator for ``config`` holding ``state``; key, shape and (optionally) filter mismatches are errors."""
    import torch

    from sound2video.models.stylegan3.modeling_stylegan3 import Generator

    G = Generator(config)
    ours = G.state_dict()
    missing = sorted(set(ours) - set(state))
    extra = sorted(set(state) - set(ours))
    if missing or extra:
        raise NetworkFormatError(
            f"{where}: weights do not match the architecture; missing {missing[:8]}"
            f"{'...' if len(missing) > 8 else ''}, unexpected {extra[:8]}"
            f"{'...' if len(extra) > 8 else ''}"
        )
    for k, v in state.items():
        if tuple(v.shape) != tuple(ours[k].shape):
            raise NetworkFormatError(
                f"{where}: {k} has shape {list(v.shape)}, the architecture needs {list(ours[k].shape)}"
            )
        if check_filters and k.endswith("_filter"):
            designed = ours[k].double().numpy()
            if not np.allclose(v.double().numpy(), designed, rtol=1e-4, atol=1e-6):
                layer = k.rsplit(".", 1)[0]
                raise NetworkFormatError(
                    f"{where}: {layer}: the stored {k.rsplit('.', 1)[1]} differs from the one "
                    f"the schedule formulas design for this config"
                )
    G.load_state_dict({k: torch.as_tensor(v).to(ours[k].dtype) for k, v in state.items()})
    return G
