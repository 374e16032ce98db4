"""StyleGAN3 generator in pure PyTorch, loading official network pickles without executing them.

``load_generator(path_or_url)`` reads an official pickle (``G_ema``) or our safetensors format;
``Generator(GeneratorConfig.preset("T", 256))`` builds one from scratch.
"""

from __future__ import annotations

from typing import Any

from .config import GeneratorConfig, MappingConfig, StyleGAN3ConfigError

__all__ = ["Generator", "GeneratorConfig", "MappingConfig", "StyleGAN3ConfigError", "load_generator",
           "save_generator"]


def __getattr__(name: str) -> Any:  # torch is imported only when a network is needed
    if name == "Generator":
        from .networks import Generator
        return Generator
    if name in ("load_generator", "save_generator"):
        from . import checkpoint
        return getattr(checkpoint, name)
    raise AttributeError(name)
