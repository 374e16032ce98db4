"""Read official StyleGAN3 network pickles without executing anything from the file.

The official pickles store every network as a "persistent object": a call to
``torch_utils.persistence._reconstruct_persistent_obj(meta)`` whose ``meta`` carries the *source code* of the
defining module, which the official loader ``exec``s. Here the unpickler resolves globals from a strict allowlist
only; that one name is mapped to a function returning an inert ``PersistentStub`` (class name + instance state;
the source string is dropped unread), and tensor storages, which are nested legacy ``torch.save`` blobs, are read
with ``torch.load(weights_only=True)``. Any other global raises ``UnsafePickleError`` naming it, before any object
of that kind exists.
"""

from __future__ import annotations

import codecs
import collections
import importlib
import io
import math
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from sound2video.models.stylegan3.config import GeneratorConfig, StyleGAN3ConfigError
from sound2video.models.stylegan3.schedule import InputSpec, LayerSpec, synthesis_schedule


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """The pickle refers to a global that a network pickle has no business referring to."""


class NetworkFormatError(ValueError):
    """The pickle is safe but not a StyleGAN3 network pickle we understand."""


@dataclass
class PersistentStub:
    """What an official persistent object becomes here: its class name and its ``__dict__``, nothing executable."""

    class_name: str
    state: dict[str, Any] = field(repr=False)


class EasyDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict`` (a dict with attribute access)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _persistent_stub(meta: Any) -> PersistentStub:
    if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("class_name"), str):
        raise NetworkFormatError("persistent object with unexpected metadata (expected type 'class' and class_name)")
    state = meta.get("state")
    if state is None:
        state = {}
    if not isinstance(state, dict):
        raise NetworkFormatError(f"persistent object {meta['class_name']}: state is {type(state).__name__}, not a dict")
    return PersistentStub(meta["class_name"], state)  # meta["module_src"] is deliberately never looked at


def _load_storage(data: bytes) -> Any:
    import torch

    if not isinstance(data, (bytes, bytearray)):
        raise NetworkFormatError("tensor storage is not a byte string")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TypedStorage deprecation noise from the legacy format
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _numpy_multiarray(name: str) -> Callable[..., Any]:
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"numpy has no multiarray.{name}")


def _allowlist() -> dict[tuple[str, str], Any]:
    import torch._utils

    reconstruct, scalar = _numpy_multiarray("_reconstruct"), _numpy_multiarray("scalar")
    allowed: dict[tuple[str, str], Any] = {
        ("torch_utils.persistence", "_reconstruct_persistent_obj"): _persistent_stub,
        ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
        ("torch.storage", "_load_from_bytes"): _load_storage,
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("dnnlib.util", "EasyDict"): EasyDict,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        # protocol 2 writes bytes as _codecs.encode(str, 'latin1') and sets as builtins.set(list)
        ("_codecs", "encode"): codecs.encode,
    }
    for module in ("builtins", "__builtin__"):  # protocol 2 spells it the Python 2 way
        allowed[(module, "set")] = set
        allowed[(module, "frozenset")] = frozenset
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):  # numpy 1.x and 2.x spellings
        allowed[(module, "_reconstruct")] = reconstruct
        allowed[(module, "scalar")] = scalar
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can build only the allowlisted objects (see the module docstring)."""

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file)
        self._allowed = _allowlist()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"network pickle refers to the global '{module}.{name}', which is not on the allowlist of "
                f"StyleGAN3 network pickles; refusing to load it (the file may be malicious or not a network "
                f"pickle)"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"network pickle uses a persistent id ({str(pid)[:60]}); not a network pickle")


def read_pickle(file: IO[bytes]) -> Any:
    """Unpickle a whole network pickle with the restricted unpickler (stubs in place of persistent objects)."""
    return RestrictedUnpickler(file).load()


def module_tensors(stub: PersistentStub, prefix: str = "") -> dict[str, Any]:
    """The state_dict a module stub would have: parameters and persistent buffers, recursively, official names."""
    out: dict[str, Any] = {}
    state = stub.state
    for k, v in (state.get("_parameters") or {}).items():
        if v is not None:
            out[prefix + k] = v.detach() if hasattr(v, "detach") else v
    skip = state.get("_non_persistent_buffers_set") or set()
    for k, v in (state.get("_buffers") or {}).items():
        if v is not None and k not in skip:
            out[prefix + k] = v
    for k, sub in (state.get("_modules") or {}).items():
        if sub is None:
            continue
        if not isinstance(sub, PersistentStub):
            raise NetworkFormatError(f"{prefix + k}: expected a persistent module, found {type(sub).__name__}")
        out.update(module_tensors(sub, prefix + k + "."))
    return out


def submodule(stub: PersistentStub, path: str) -> PersistentStub | None:
    for part in path.split("."):
        sub = (stub.state.get("_modules") or {}).get(part)
        if not isinstance(sub, PersistentStub):
            return None
        stub = sub
    return stub


@dataclass
class OfficialNetwork:
    config: GeneratorConfig
    state_dict: dict[str, Any]
    stub: PersistentStub


def load_official(file: IO[bytes], key: str = "G_ema") -> OfficialNetwork:
    """Parse an official pickle and return the named generator's config and tensors, cross-checked (see
    ``check_schedule``)."""
    data = read_pickle(file)
    if not isinstance(data, dict):
        raise NetworkFormatError(f"network pickle holds a {type(data).__name__}, expected a dict with '{key}'")
    if key not in data:
        raise NetworkFormatError(f"network pickle has no '{key}' (keys: {', '.join(map(str, data))})")
    stub = data[key]
    if not isinstance(stub, PersistentStub) or stub.class_name != "Generator":
        got = stub.class_name if isinstance(stub, PersistentStub) else type(stub).__name__
        raise NetworkFormatError(f"'{key}' is a {got}, expected a Generator")
    if submodule(stub, "synthesis.input") is None:
        raise NetworkFormatError(
            f"'{key}' has no synthesis.input: not a StyleGAN3 generator (StyleGAN2 pickles are not supported)"
        )
    if stub.state.get("_init_args"):
        raise NetworkFormatError(f"'{key}' was built with positional arguments; expected keyword arguments only")
    kwargs = stub.state.get("_init_kwargs")
    if not isinstance(kwargs, dict):
        raise NetworkFormatError(f"'{key}' carries no init kwargs")
    try:
        config = GeneratorConfig.from_official_kwargs(kwargs)
    except (TypeError, StyleGAN3ConfigError) as e:
        raise NetworkFormatError(f"'{key}': {e}") from None
    check_schedule(stub, config)
    return OfficialNetwork(config, module_tensors(stub), stub)


_LAYER_ATTRS = (
    "in_channels",
    "out_channels",
    "in_size",
    "out_size",
    "in_sampling_rate",
    "out_sampling_rate",
    "tmp_sampling_rate",
    "in_cutoff",
    "out_cutoff",
    "in_half_width",
    "out_half_width",
    "conv_kernel",
    "up_factor",
    "up_taps",
    "down_factor",
    "down_taps",
    "down_radial",
    "is_torgb",
    "is_critically_sampled",
    "padding",
    "conv_clamp",
)


def check_schedule(stub: PersistentStub, config: GeneratorConfig) -> None:
    """Compare each layer's stored hyperparameters with the ones our formulas give; a difference names the layer."""
    input_spec, layers = synthesis_schedule(config)
    synthesis = submodule(stub, "synthesis")
    assert synthesis is not None
    names = synthesis.state.get("layer_names")
    ours = [spec.name for spec in layers]
    if names is not None and list(names) != ours:
        raise NetworkFormatError(
            f"synthesis layers are {list(names)} in the network file but the schedule formulas give {ours}"
        )
    inp = submodule(stub, "synthesis.input")
    assert inp is not None
    _compare(inp.state, input_spec, ("channels", "size", "sampling_rate", "bandwidth"), "synthesis.input")
    for spec in layers:
        layer = submodule(stub, f"synthesis.{spec.name}")
        if layer is None:
            raise NetworkFormatError(f"synthesis.{spec.name} is missing from the network file")
        _compare(layer.state, spec, _LAYER_ATTRS, f"synthesis.{spec.name}")


def _compare(state: dict[str, Any], spec: InputSpec | LayerSpec, attrs: tuple[str, ...], where: str) -> None:
    for attr in attrs:
        if attr not in state:
            continue
        stored, derived = state[attr], getattr(spec, attr)
        if not _same(stored, derived):
            raise NetworkFormatError(
                f"{where}: {attr} is {_show(stored)} in the network file but {_show(derived)} by "
                f"the schedule formulas for this config"
            )


def _same(stored: Any, derived: Any) -> bool:
    if stored is None or derived is None:
        return stored is None and derived is None
    a = np.asarray(stored, dtype=np.float64).ravel()
    b = np.asarray(derived, dtype=np.float64).ravel()
    if a.size != b.size:
        if b.size == 1:  # official sizes are [w, h] arrays; ours are square ints
            b = np.full(a.size, b[0])
        else:
            return False
    return bool(np.all(np.isclose(a, b, rtol=1e-6, atol=1e-9)))


def _show(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return str(v.tolist())
    if isinstance(v, float) and not math.isnan(v):
        return f"{v:g}"
    return repr(v.item() if hasattr(v, "item") and np.ndim(v) == 0 else v)
