"""The model contract: every model folder is ``config.json`` + ``model.safetensors``.

``config.json`` holds ``"format"`` (which loader builds it: ``audio``, ``inversion``, ``stylegan3``, ...) and
``"format_version"``, then whatever that format needs. The same config is embedded in the safetensors metadata, so
the ``.safetensors`` file alone (for example behind a URL) is a complete model. Folders written before the contract
(no ``format`` tag) are recognised by their keys and read as ``format_version`` 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sound2video.core.fsutil import atomic_path, write_json_atomic

WEIGHTS, CONFIG = "model.safetensors", "config.json"
METADATA_KEY = "sound2video"  # safetensors metadata entry holding the config


class ModelFormatError(ValueError):
    """A model folder or file this project cannot read: the message names it and says what to do."""


def write_model_folder(
    out_dir: str | Path, format: str, version: int, config: dict[str, Any], state_dict: dict[str, Any]
) -> Path:
    """Write ``state_dict`` and ``{"format", "format_version", **config}`` into ``out_dir``, each file atomically
    (weights first, so a folder with a config always has its weights)."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    full = {"format": format, "format_version": int(version), **config}
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    with atomic_path(out / WEIGHTS, suffix=".tmp.safetensors") as tmp:
        save_file(tensors, str(tmp), metadata={METADATA_KEY: json.dumps(full, sort_keys=True)})
    write_json_atomic(out / CONFIG, full)
    return out


def tag(config: dict[str, Any], where: str | Path) -> dict[str, Any]:
    """``config`` with its ``format`` and ``format_version``; untagged configs of earlier versions are
    recognised by their keys (version 0), anything else is a ModelFormatError."""
    fmt = config.get("format")
    if isinstance(fmt, str) and "format_version" in config:
        return config
    legacy = _legacy_format(config)
    if legacy is None:
        raise ModelFormatError(
            f"{where}: no 'format' tag in its config and not a model folder of an earlier "
            f"version; expected a folder written by this project (config.json with 'format' "
            f"and model.safetensors): rerun the stage that writes it (`dvc repro`)"
        )
    return {**config, "format": legacy, "format_version": 0}


def _legacy_format(config: dict[str, Any]) -> str | None:
    if config.get("format") == "sound2video.stylegan3/1":
        return "stylegan3"
    if "mel" in config and "prompt_templates" in config and "embed_dim" in config:
        return "audio"
    if "encoder" in config and "num_ws" in config and "w_dim" in config:
        return "inversion"
    return None


def read_config(path: str | Path, expected_format: str | None = None) -> dict[str, Any]:
    """The tagged ``config.json`` of a model folder, without reading the weights."""
    folder = Path(path)
    if not (folder / CONFIG).is_file():
        raise FileNotFoundError(f"{folder}: not a model folder (expected {CONFIG} and {WEIGHTS})")
    config = tag(json.loads((folder / CONFIG).read_text()), folder)
    _check(config, expected_format, folder)
    return config


def read_model_folder(path: str | Path, expected_format: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(config, state_dict)`` of a model folder, or of a lone ``.safetensors`` file whose metadata holds the
    config; the config carries ``format`` and ``format_version``."""
    path = Path(path)
    weights = path / WEIGHTS if path.is_dir() else path
    if not weights.is_file() or (path.is_dir() and not (path / CONFIG).is_file()):
        raise FileNotFoundError(f"{path}: not a model folder (expected {CONFIG} and {WEIGHTS})")
    return read_model_file(weights, expected_format)


def read_model_file(weights: str | Path, expected_format: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(config, state_dict)`` of a ``model.safetensors``: the config from its metadata, else from the
    ``config.json`` beside it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    weights = Path(weights)
    try:
        with safe_open(str(weights), framework="pt") as f:
            meta = f.metadata() or {}
        state = load_file(str(weights))
    except (SafetensorError, OSError) as e:
        raise ModelFormatError(f"{weights}: not a readable safetensors file ({e})") from None
    raw = meta.get(METADATA_KEY)
    if raw is None and (weights.parent / CONFIG).is_file():
        raw = (weights.parent / CONFIG).read_text()
    if raw is None:
        raise ModelFormatError(f"{weights}: no model config (neither safetensors metadata nor {CONFIG} beside it)")
    config = tag(json.loads(raw), weights)
    _check(config, expected_format, weights)
    return config, state


def _check(config: dict[str, Any], expected_format: str | None, where: Path) -> None:
    if expected_format is not None and config["format"] != expected_format:
        raise ModelFormatError(f"{where}: a {config['format']!r} model, expected {expected_format!r}")


def offline_reasons(config: dict[str, Any]) -> list[str]:
    """Why figures measured with this model only check the pipeline (empty: a trained model), from its config: a
    video model's record (``offline_reasons``, written by ``train_video``), a randomly initialised StyleGAN3
    (``source.random_init``), an audio tower on a randomly initialised CLIP (``clip_random_init_seed``, or
    ``clip_model.pretrained`` null)."""
    if "offline_reasons" in config:
        return [str(r) for r in config["offline_reasons"]]
    reasons = []
    if (config.get("source") or {}).get("random_init"):
        reasons.append("random-init generator")
    clip = config.get("clip_model")
    random_clip = isinstance(clip, dict) and "pretrained" in clip and clip["pretrained"] is None
    if config.get("clip_random_init_seed") is not None or random_clip:
        reasons.append("random-init CLIP")
    return reasons
