"""Image metrics for inversion (Table 3b): LPIPS through the ``lpips`` package, MSE and PSNR; the generator's
images as uint8 as the official metrics code quantises them.

Pixel range: images are float tensors in [-1, 1] (the generator's range). MSE is the mean squared difference in
that range; PSNR uses a peak-to-peak range of 2, i.e. ``10 log10(4 / MSE)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# torchvision AlexNet `features` indices held by each slice of lpips' alexnet wrapper
_ALEX_SLICES = {1: range(0, 2), 2: range(2, 5), 3: range(5, 8), 4: range(8, 10), 5: range(10, 12)}


def to_uint8(images: Any) -> Any:
    """[N, C, H, W] in [-1, 1] -> numpy [N, H, W, C] uint8, rounding as the official metrics code does."""
    import torch

    return (images * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def mse(a: Any, b: Any) -> Any:
    """Per-image mean squared error of [-1, 1] images (N, C, H, W) -> (N,)."""
    return ((a - b) ** 2).flatten(1).mean(dim=1)


def psnr(a: Any, b: Any) -> Any:
    """Per-image PSNR in dB for [-1, 1] images (peak-to-peak range 2)."""
    import torch

    return 10 * torch.log10(4.0 / mse(a, b).clamp_min(1e-12))


RANDOM_BACKBONE_SEED = 0


def load_lpips(net: str = "alex", backbone: str | Path | None = None, device: str = "cpu") -> Any:
    """An ``lpips.LPIPS`` module, frozen. ``backbone``: a local torchvision AlexNet/VGG16 state dict for offline use,
    ``"random"`` for a seeded random backbone (smoke runs only: the distances mean nothing), or None to let
    torchvision download the ImageNet weights by name. The linear heads ship inside the package."""
    import lpips
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_BACKBONE_SEED)
        model = lpips.LPIPS(net=net, pretrained=True, pnet_rand=backbone is not None, verbose=False)
    if backbone is not None and str(backbone) != "random":
        state = torch.load(str(backbone), map_location="cpu", weights_only=True)
        model.net.load_state_dict(_backbone_state(state, net, model.net.state_dict().keys()))
    return model.eval().requires_grad_(False).to(device)


def _backbone_state(state: dict, net: str, wanted: Any) -> dict:
    """Map a torchvision ``features.{i}.*`` state dict onto lpips' ``slice{k}.{i}.*`` names."""
    if net != "alex":
        mapped = {}
        for key in wanted:
            _, idx, param = key.split(".", 2)
            mapped[key] = state[f"features.{idx}.{param}"]
        return mapped
    mapped = {}
    for k, indices in _ALEX_SLICES.items():
        for i in indices:
            for param in ("weight", "bias"):
                src = f"features.{i}.{param}"
                if src in state:
                    mapped[f"slice{k}.{i}.{param}"] = state[src]
    missing = set(wanted) - set(mapped)
    if missing:
        raise ValueError(f"backbone state dict lacks {sorted(missing)[:3]} (expected torchvision's alexnet)")
    return mapped
