"""Loading official-format network pickles safely; our safetensors format; the stylegan3 CLI."""

from __future__ import annotations

import dataclasses
import io
import os
import pickle
import pickletools

import numpy as np
import pytest
import torch
from stylegan3_pickles import MODULE_SRC, Persistent, official_modules, official_state, write_official_pickle
from test_stylegan3 import randomised, tiny

from sound2video.cli import main as cli
from sound2video.core.fsutil import sha256_file
from sound2video.core.remote import FetchError
from sound2video.models.stylegan3.checkpoint import load_generator, save_generator
from sound2video.models.stylegan3.modeling_stylegan3 import Generator
from sound2video.models.stylegan3.pickle_loader import NetworkFormatError, UnsafePickleError, read_pickle

OFFICIAL_GLOBALS = {  # the Hugging Face pickle scan of lhq-256-stylegan3-t-25Mimg.pkl lists exactly these
    "torch_utils.persistence _reconstruct_persistent_obj",
    "torch._utils _rebuild_tensor_v2",
    "torch._utils _rebuild_parameter",
    "torch.storage _load_from_bytes",
    "collections OrderedDict",
    "dnnlib.util EasyDict",
    "numpy ndarray",
    "numpy dtype",
    "numpy._core.multiarray _reconstruct",
    "numpy._core.multiarray scalar",
}


def pickle_globals(data: bytes) -> set[str]:
    found, memo, pushed = set(), {}, []  # enough of a pickle machine to follow strings through the memo
    for op, arg, _ in pickletools.genops(data):
        if op.name == "GLOBAL":
            found.add(arg)
        elif op.name == "STACK_GLOBAL":
            found.add(f"{pushed[-2]} {pushed[-1]}")
        elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            pushed.append(arg)
        elif op.name in ("BINGET", "LONG_BINGET", "GET"):
            pushed.append(memo.get(arg))
        elif op.name == "MEMOIZE":
            memo[len(memo)] = pushed[-1] if pushed else None
        elif op.name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[arg] = pushed[-1] if pushed else None
        else:
            pushed.append(None)
    return found


def render(G: Generator, seed: int = 0, n: int = 2, **kw) -> torch.Tensor:
    z = torch.from_numpy(np.random.RandomState(seed).randn(n, G.z_dim).astype(np.float32))
    with torch.no_grad():
        return G(z, **kw)


@pytest.mark.parametrize("kind", ["T", "R"])
def test_official_pickle_loads_with_identical_outputs(tmp_path, kind):
    G = randomised(tiny(kind))
    G.set_input_transform(translate=(0.1, 0.05), rotate=8)  # the transform buffer travels with the weights
    path = write_official_pickle(G, tmp_path / "network-snapshot.pkl")
    assert pickle_globals(path.read_bytes()) == OFFICIAL_GLOBALS
    H = load_generator(path)
    assert H.config.magnitude_ema_beta == pytest.approx(0.5 ** (32 / 20000))  # from the pickle's init kwargs
    assert dataclasses.replace(H.config, magnitude_ema_beta=0.999) == G.config
    assert H.source["format"] == "official-pickle"
    assert not any(p.requires_grad for p in H.parameters()) and not H.training
    assert torch.equal(render(G, truncation_psi=0.7), render(H, truncation_psi=0.7))
    for k, v in G.state_dict().items():
        assert torch.equal(v, H.state_dict()[k]), k


def test_numpy1_module_paths_and_protocol2_load(tmp_path):
    G = randomised(tiny("T"))
    path = write_official_pickle(G, tmp_path / "old.pkl", protocol=2, numpy1=True)
    names = pickle_globals(path.read_bytes())
    assert "numpy.core.multiarray _reconstruct" in names and "numpy._core.multiarray _reconstruct" not in names
    assert torch.equal(render(G), render(load_generator(path)))


def test_embedded_module_source_is_never_executed(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    payload = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('code from the pickle ran')\n"
    exec(compile(payload.replace("pwned", "control"), "payload", "exec"))  # the payload is live...
    assert (tmp_path / "control").exists()
    G = randomised(tiny("T"))
    with official_modules() as mods:
        state = official_state(G, mods)
        for stub in [state["G_ema"], state["G_ema"].state["_modules"]["synthesis"]]:
            stub.module_src = payload
        state["D"].module_src = payload
        data = pickle.dumps(state, protocol=4)
    (tmp_path / "net.pkl").write_bytes(data)
    assert torch.equal(render(G), render(load_generator(tmp_path / "net.pkl")))
    assert not marker.exists()  # ...but loading never ran it


class _Evil:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


@pytest.mark.parametrize("how", ["os.system", "builtins.exec", "nested storage"])
def test_malicious_pickles_are_refused_and_do_nothing(tmp_path, how):
    marker = tmp_path / "pwned"
    if how == "os.system":
        evil, name = _Evil(os.system, f"touch {marker}"), "posix.system"
    elif how == "builtins.exec":
        evil, name = _Evil(exec, f"open({str(marker)!r}, 'w').write('x')"), "builtins.exec"
    else:  # a tensor storage whose nested torch.save blob calls os.system
        evil, name = _Evil(torch.storage._load_from_bytes, pickle.dumps(_Evil(os.system, f"touch {marker}"))), None
    G = randomised(tiny("T"))
    with official_modules() as mods:
        state = official_state(G, mods)
        state["G_ema"].state["_modules"]["mapping"].state["extra"] = evil
        data = pickle.dumps(state, protocol=4)
    (tmp_path / "evil.pkl").write_bytes(data)
    with pytest.raises((UnsafePickleError, pickle.UnpicklingError, RuntimeError)) as err:
        load_generator(tmp_path / "evil.pkl")
    if name:
        assert name in str(err.value) and "allowlist" in str(err.value)
    assert not marker.exists()


def test_cross_check_names_the_mismatching_layer(tmp_path):
    G = randomised(tiny("T"))
    path = write_official_pickle(G, tmp_path / "bad.pkl", tamper={"L4_52_32": {"padding": [1, 2, 1, 2]}})
    with pytest.raises(NetworkFormatError, match=r"synthesis\.L4_52_32: padding is \[1, 2, 1, 2\] in the network"):
        load_generator(path)
    path = write_official_pickle(G, tmp_path / "bad2.pkl", tamper={"L2_36_32": {"out_cutoff": np.float64(3.1)}})
    with pytest.raises(NetworkFormatError, match=r"synthesis\.L2_36_32: out_cutoff"):
        load_generator(path)


def test_filter_mismatch_and_wrong_shapes_are_errors(tmp_path):
    G = randomised(tiny("T"))
    with torch.no_grad():
        G.synthesis.L5_52_32.down_filter.mul_(1.5)
    with pytest.raises(NetworkFormatError, match=r"L5_52_32: the stored down_filter differs"):
        load_generator(write_official_pickle(G, tmp_path / "f.pkl"))
    G = randomised(tiny("T"))
    with official_modules() as mods:
        state = official_state(G, mods)
        state["G_ema"].state["_init_kwargs"]["channel_max"] = 64  # kwargs no longer match the tensors
        (tmp_path / "s.pkl").write_bytes(pickle.dumps(state, protocol=4))
    with pytest.raises(NetworkFormatError, match="in the network file but"):
        load_generator(tmp_path / "s.pkl")


def test_not_a_generator_or_missing_key(tmp_path):
    G = randomised(tiny("T"))
    path = write_official_pickle(G, tmp_path / "n.pkl")
    with pytest.raises(NetworkFormatError, match="'D' is a Discriminator, expected a Generator"):
        load_generator(path, key="D")
    with pytest.raises(NetworkFormatError, match="no 'G_avg'"):
        load_generator(path, key="G_avg")
    (tmp_path / "junk.bin").write_bytes(b"hello world, not a network")
    with pytest.raises((NetworkFormatError, pickle.UnpicklingError)):
        load_generator(tmp_path / "junk.bin")


def test_our_format_round_trip_and_single_file(tmp_path):
    G = randomised(tiny("R"))
    path = write_official_pickle(G, tmp_path / "net.pkl")
    out = save_generator(load_generator(path), tmp_path / "ours")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    assert b"module_src" not in (out / "model.safetensors").read_bytes()
    H = load_generator(out)
    single = tmp_path / "alone.safetensors"
    single.write_bytes((out / "model.safetensors").read_bytes())  # config travels in the metadata
    for other in (H, load_generator(single)):
        assert torch.equal(render(G, truncation_psi=0.5), render(other, truncation_psi=0.5))
    with pytest.raises(FetchError, match="sha256 mismatch"):
        load_generator(out, sha256="0" * 64)


def test_url_with_sha256_and_cache(tmp_path, http_root, monkeypatch):
    root, base = http_root
    G = randomised(tiny("T"))
    path = write_official_pickle(G, root / "lhq.pkl")
    digest = sha256_file(path)
    cache = tmp_path / "cache"
    H = load_generator(f"{base}/lhq.pkl", sha256=digest, cache_dir=cache)
    assert torch.equal(render(G), render(H))
    path.unlink()  # served once; the cache answers now
    assert torch.equal(render(G), render(load_generator(f"{base}/lhq.pkl", sha256=digest, cache_dir=cache)))
    with pytest.raises(FetchError, match="sha256 mismatch"):
        load_generator(f"{base}/lhq.pkl", sha256="f" * 64, cache_dir=cache)
    with pytest.raises(FetchError, match="offline"):
        load_generator(f"{base}/missing.pkl", cache_dir=cache)


def test_cli_convert_info_sample(tmp_path, capsys, caplog):
    G = randomised(tiny("T"))
    src = write_official_pickle(G, tmp_path / "net.pkl")
    assert cli(["stylegan3", "convert", str(src), str(tmp_path / "conv"), "--verify"]) == 0
    assert "renders identically" in capsys.readouterr().out
    assert torch.equal(render(G), render(load_generator(tmp_path / "conv")))
    assert cli(["stylegan3", "info", str(tmp_path / "conv")]) == 0
    out = capsys.readouterr().out
    assert "L3_36_32" in out and "L14_64_3" in out and f"{G.param_count():,}" in out
    assert (
        cli(
            [
                "stylegan3",
                "sample",
                "--network",
                str(src),
                "--seeds",
                "0-4",
                "--psi",
                "0.7",
                "--out",
                str(tmp_path / "grid.png"),
            ]
        )
        == 0
    )
    from PIL import Image

    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    assert grid.shape == (2 * 64, 3 * 64, 3)
    want = render(G, seed=3, n=1, truncation_psi=0.7)  # seed 3 sits at row 1, column 0
    want = (want * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0].permute(1, 2, 0).numpy()
    assert np.array_equal(grid[64:128, 0:64], want)
    assert cli(["stylegan3", "sample", "--network", str(src), "--seeds", "3-1", "--out", str(tmp_path / "x.png")]) == 1
    assert "range '3-1' is empty" in capsys.readouterr().err + caplog.text


def test_unpickler_rejects_persistent_ids():
    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return "x" if obj == "secret" else None

    buf = io.BytesIO()
    P(buf, protocol=4).dump(["secret"])
    with pytest.raises(UnsafePickleError, match="persistent id"):
        read_pickle(io.BytesIO(buf.getvalue()))


def test_persistent_stub_never_exposes_source(tmp_path):
    with official_modules() as mods:
        data = pickle.dumps({"G_ema": Persistent(mods, "Generator", {"_modules": {}}, MODULE_SRC)}, protocol=4)
    obj = read_pickle(io.BytesIO(data))["G_ema"]
    assert obj.class_name == "Generator" and not hasattr(obj, "module_src")


def test_stylegan3_stage_converts_a_pinned_pickle(tmp_path):
    import json

    import yaml

    from sound2video.models.stylegan3 import stage

    G = randomised(tiny("T"))
    src = write_official_pickle(G, tmp_path / "lhq.pkl")
    digest = sha256_file(src)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"stylegan3": {"network": str(src), "sha256": digest}}))
    stage.main_from_files(params, tmp_path / "out")
    config = json.loads((tmp_path / "out/config.json").read_text())
    assert config["source"] == {"network": str(src), "sha256": digest, "key": "G_ema", "random_init": False}
    assert torch.equal(render(G), render(load_generator(tmp_path / "out")))
    params.write_text(yaml.safe_dump({"stylegan3": {"network": str(src), "sha256": "0" * 64}}))
    with pytest.raises(FetchError, match="sha256 mismatch"):
        stage.main_from_files(params, tmp_path / "out2")
