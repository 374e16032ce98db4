"""StyleGAN3 generator in pure PyTorch, loading official network pickles without executing them.

``checkpoint.load_generator(path_or_url)`` reads an official pickle (``G_ema``) or our model folder;
``networks.Generator(GeneratorConfig.preset("T", 256))`` builds one from scratch. This package face imports no
torch: the networks and the loader are imported from their modules.
"""

from __future__ import annotations

from sound2video.models.stylegan3.config import GeneratorConfig, MappingConfig, StyleGAN3ConfigError

__all__ = ["GeneratorConfig", "MappingConfig", "StyleGAN3ConfigError"]
