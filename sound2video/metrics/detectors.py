"""Loading metric networks by path or URL with a sha256 check: TorchScript detectors (I3D, C3D) and Inception-v3.

TorchScript files are the published format of the FVD/IS detectors (StyleGAN-V's ``i3d_torchscript.pt``,
``c3d_ucf101.pt``); Inception-v3 weights are a plain state dict loaded with ``weights_only=True``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sound2video.core.fsutil import sha256_file
from sound2video.core.remote import resolve

I3D_URL = "https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt?dl=1"
C3D_URL = "https://www.dropbox.com/s/jxpu7avzdc9n97q/c3d_ucf101.pt?dl=1"


@dataclass
class Loaded:
    model: Any
    source: str
    path: Path
    sha256: str

    def describe(self) -> dict[str, str]:
        return {"source": self.source, "file": self.path.name, "sha256": self.sha256}


def load_torchscript(spec: str, sha256: str | None = None, device: str = "cpu") -> Loaded:
    """A TorchScript detector from a local path or URL (cached), verified against ``sha256`` when given."""
    import warnings

    import torch

    path = resolve(spec, sha256)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated, but it is these files' format
            model = torch.jit.load(str(path), map_location=device).eval()
    except RuntimeError as e:
        raise ValueError(f"{spec}: not a TorchScript file ({str(e).splitlines()[0]})") from None
    return Loaded(model, spec, path, sha256_file(path))


def load_inception_v3(spec: str, sha256: str | None = None, device: str = "cpu") -> Loaded:
    """torchvision's Inception-v3 architecture with ImageNet weights from a state dict file (path or URL)."""
    import torch
    from torchvision.models import inception_v3

    path = resolve(spec, sha256)
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    model = inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=False)
    missing, unexpected = model.load_state_dict(state, strict=False)
    real_missing = [k for k in missing if not k.startswith("AuxLogits.")]
    if real_missing or unexpected:
        raise ValueError(
            f"{spec}: not torchvision Inception-v3 weights (missing {real_missing[:3]}, "
            f"unexpected {list(unexpected)[:3]})"
        )
    return Loaded(model.eval().to(device), spec, path, sha256_file(path))
