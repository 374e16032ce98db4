"""Write network pickles in the official StyleGAN3 format (for tests): persistent objects carrying ``module_src``,
nested legacy ``torch.save`` storages, ``dnnlib.util.EasyDict``, numpy scalars and arrays, and a ``D`` and
``augment_pipe`` beside ``G_ema``, exactly the structure ``legacy.load_network_pkl`` reads."""

from __future__ import annotations

import contextlib
import pickle
import sys
import types
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

MODULE_SRC = "# stands in for the whole networks_stylegan3.py source that official pickles embed\n"


@contextlib.contextmanager
def official_modules() -> Iterator[types.SimpleNamespace]:
    """Fake ``torch_utils.persistence`` and ``dnnlib.util`` modules, so pickle writes those global names."""
    persistence = types.ModuleType("torch_utils.persistence")
    util = types.ModuleType("dnnlib.util")

    def _reconstruct_persistent_obj(meta: dict) -> Any:  # what the official loader would run (exec of module_src)
        raise AssertionError("only for writing")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj

    class EasyDict(dict):
        pass

    EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
    util.EasyDict = EasyDict
    names = {
        "torch_utils": types.ModuleType("torch_utils"),
        "torch_utils.persistence": persistence,
        "dnnlib": types.ModuleType("dnnlib"),
        "dnnlib.util": util,
    }
    saved = {k: sys.modules.get(k) for k in names}
    sys.modules.update(names)
    try:
        yield types.SimpleNamespace(reconstruct=_reconstruct_persistent_obj, EasyDict=EasyDict)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


class Persistent:
    """Pickles exactly like an official ``@persistent_class`` instance."""

    def __init__(self, mods: types.SimpleNamespace, class_name: str, state: dict, module_src: str = MODULE_SRC):
        self.mods, self.class_name, self.state, self.module_src = mods, class_name, state, module_src

    def __reduce__(self) -> Any:
        meta = dict(type="class", version=6, module_src=self.module_src, class_name=self.class_name, state=self.state)
        return (self.mods.reconstruct, (meta,), None)


def _module_state(params: dict, buffers: dict, modules: dict, init_kwargs: dict, **attrs: Any) -> dict:
    """An ``nn.Module.__dict__`` as an official network pickle stores it."""
    return {
        "training": False,
        "_parameters": OrderedDict(
            (k, None if v is None else torch.nn.Parameter(v.detach().clone(), requires_grad=False))
            for k, v in params.items()
        ),
        "_buffers": OrderedDict((k, None if v is None else v.detach().clone()) for k, v in buffers.items()),
        "_non_persistent_buffers_set": set(),
        "_backward_hooks": OrderedDict(),
        "_forward_hooks": OrderedDict(),
        "_forward_pre_hooks": OrderedDict(),
        "_state_dict_hooks": OrderedDict(),
        "_load_state_dict_pre_hooks": OrderedDict(),
        "_modules": OrderedDict(modules),
        "_init_args": (),
        "_init_kwargs": init_kwargs,
        **attrs,
    }


def _fc(mods: types.SimpleNamespace, fc: Any) -> Persistent:
    return Persistent(
        mods,
        "FullyConnectedLayer",
        _module_state(
            {"weight": fc.weight, "bias": fc.bias},
            {},
            {},
            {"in_features": fc.in_features},
            in_features=fc.in_features,
            out_features=fc.out_features,
            activation=fc.activation,
            weight_gain=np.float64(fc.weight_gain),
            bias_gain=fc.bias_gain,
        ),
    )


def _layer(mods: types.SimpleNamespace, layer: Any) -> Persistent:
    s = layer.spec
    size = lambda v: np.broadcast_to(np.asarray(v), [2])  # noqa: E731 (official stores [w, h] arrays)
    attrs = dict(
        w_dim=layer.w_dim,
        is_torgb=s.is_torgb,
        is_critically_sampled=s.is_critically_sampled,
        use_fp16=s.use_fp16,
        in_channels=s.in_channels,
        out_channels=s.out_channels,
        in_size=size(s.in_size),
        out_size=size(s.out_size),
        in_sampling_rate=s.in_sampling_rate,
        out_sampling_rate=s.out_sampling_rate,
        tmp_sampling_rate=s.tmp_sampling_rate,
        in_cutoff=np.float64(s.in_cutoff),
        out_cutoff=np.float64(s.out_cutoff),
        in_half_width=np.float64(s.in_half_width),
        out_half_width=np.float64(s.out_half_width),
        conv_kernel=s.conv_kernel,
        conv_clamp=s.conv_clamp,
        magnitude_ema_beta=0.999,
        up_factor=s.up_factor,
        up_taps=s.up_taps,
        down_factor=s.down_factor,
        down_taps=s.down_taps,
        down_radial=s.down_radial,
        padding=list(s.padding),
    )
    return Persistent(
        mods,
        "SynthesisLayer",
        _module_state(
            {"weight": layer.weight, "bias": layer.bias},
            {"magnitude_ema": layer.magnitude_ema, "up_filter": layer.up_filter, "down_filter": layer.down_filter},
            {"affine": _fc(mods, layer.affine)},
            {"in_channels": s.in_channels},
            **attrs,
        ),
    )


def official_state(G: Any, mods: types.SimpleNamespace, tamper: dict | None = None) -> dict:
    """The dict an official training snapshot pickles, with ``G_ema`` holding ``G``'s weights.

    ``tamper`` = {layer name: {attr: value}} overrides stored layer attributes (to test the cross-check)."""
    cfg = G.config
    syn = G.synthesis
    inp = syn.input
    layers = OrderedDict()
    for layer in syn.layers():
        stub = _layer(mods, layer)
        stub.state.update((tamper or {}).get(layer.spec.name, {}))
        layers[layer.spec.name] = stub
    input_stub = Persistent(
        mods,
        "SynthesisInput",
        _module_state(
            {"weight": inp.weight},
            {"transform": inp.transform, "freqs": inp.freqs, "phases": inp.phases},
            {"affine": _fc(mods, inp.affine)},
            {},
            w_dim=inp.w_dim,
            channels=inp.channels,
            size=np.broadcast_to(np.asarray(inp.size), [2]),
            sampling_rate=np.float64(inp.sampling_rate),
            bandwidth=np.float64(inp.bandwidth),
        ),
    )
    synthesis = Persistent(
        mods,
        "SynthesisNetwork",
        _module_state(
            {},
            {},
            OrderedDict([("input", input_stub), *layers.items()]),
            {},
            w_dim=syn.w_dim,
            img_resolution=syn.img_resolution,
            img_channels=syn.img_channels,
            num_layers=cfg.num_layers,
            num_critical=cfg.num_critical,
            margin_size=cfg.margin_size,
            output_scale=cfg.output_scale,
            num_fp16_res=cfg.num_fp16_res,
            num_ws=syn.num_ws,
            layer_names=list(syn.layer_names),
        ),
    )
    mapping_modules = OrderedDict(
        (f"fc{i}", _fc(mods, getattr(G.mapping, f"fc{i}"))) for i in range(G.mapping.num_layers)
    )
    if G.mapping.embed is not None:
        mapping_modules["embed"] = _fc(mods, G.mapping.embed)
    mapping = Persistent(
        mods,
        "MappingNetwork",
        _module_state(
            {},
            {"w_avg": G.mapping.w_avg},
            mapping_modules,
            {},
            z_dim=G.z_dim,
            c_dim=G.c_dim,
            w_dim=G.w_dim,
            num_ws=G.num_ws,
            num_layers=G.mapping.num_layers,
            w_avg_beta=0.998,
        ),
    )
    init_kwargs = {
        "z_dim": cfg.z_dim,
        "w_dim": cfg.w_dim,
        "mapping_kwargs": mods.EasyDict(num_layers=cfg.mapping.num_layers),
        "channel_base": cfg.channel_base,
        "channel_max": cfg.channel_max,
        "magnitude_ema_beta": 0.5 ** (32 / (20 * 1e3)),
        "c_dim": cfg.c_dim,
        "img_resolution": cfg.img_resolution,
        "img_channels": cfg.img_channels,
    }
    if cfg.conv_kernel != 3:
        init_kwargs["conv_kernel"] = cfg.conv_kernel
    if cfg.use_radial_filters:
        init_kwargs["use_radial_filters"] = True
    g_ema = Persistent(
        mods,
        "Generator",
        _module_state(
            {},
            {},
            OrderedDict(synthesis=synthesis, mapping=mapping),
            init_kwargs,
            z_dim=cfg.z_dim,
            c_dim=cfg.c_dim,
            w_dim=cfg.w_dim,
            img_resolution=cfg.img_resolution,
            img_channels=cfg.img_channels,
            num_ws=G.num_ws,
        ),
    )
    disc = Persistent(
        mods,
        "Discriminator",
        _module_state(
            {"b4_out_weight": torch.randn(1, 8)},
            {},
            {},
            {"c_dim": 0, "img_resolution": cfg.img_resolution},
            img_resolution=np.int64(cfg.img_resolution),
        ),
    )
    augment = Persistent(mods, "AugmentPipe", _module_state({}, {"p": torch.zeros([])}, {}, {"xflip": 1}))
    return {
        "G": g_ema,
        "D": disc,
        "G_ema": g_ema,
        "augment_pipe": augment,
        "training_set_kwargs": mods.EasyDict(resolution=np.int64(cfg.img_resolution), use_labels=False),
    }


def write_official_pickle(
    G: Any, path: Path, protocol: int = 4, numpy1: bool = False, tamper: dict | None = None
) -> Path:
    """Pickle ``G`` as an official snapshot. ``numpy1`` spells numpy's globals the numpy 1.x way."""
    with official_modules() as mods:
        data = pickle.dumps(official_state(G, mods, tamper), protocol=protocol)
    if numpy1:
        if protocol > 2:
            raise ValueError("numpy1 rewriting needs protocol 2 (text GLOBAL opcodes)")
        assert b"numpy._core.multiarray" in data
        data = data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    path.write_bytes(data)
    return path
