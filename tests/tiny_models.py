"""The tiny random StyleGAN3 the model tests share (32 px, num_ws 6, w_dim 16): seconds to build, exact to compare."""

from __future__ import annotations

from sound2video.models.stylegan3.configuration_stylegan3 import RandomGeneratorParams

TINY_G = RandomGeneratorParams(
    config="T",
    resolution=32,
    channel_base=256,
    channel_max=16,
    z_dim=16,
    w_dim=16,
    num_layers=4,
    margin_size=2,
    seed=0,
    w_avg_samples=500,
)
