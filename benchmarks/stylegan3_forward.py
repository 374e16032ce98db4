"""StyleGAN3 synthesis throughput: the fast ops against the in-repo reference ops, same weights, same ws.

The reference path (``G.set_impl("reference")``) is the literal definition: zero-stuffing up-sampling, full
convolution then decimation, per-sample grouped modulated convolution. Runs are interleaved (reference, fast,
reference, fast, ...) and the medians compared, because these machines are noisy.

    python benchmarks/stylegan3_forward.py [--config T --res 256 --batches 1,4 --repeats 2 --threads 2]
    python benchmarks/stylegan3_forward.py --device cuda --batches 32 --gpu-modes   # when a GPU is lent
    python benchmarks/stylegan3_forward.py --check --config R   # full-width fast == reference (1e-5), ~1-2 min

``--check`` is the full-width form of ``tests/models/test_stylegan3.py::test_256px_lhq_layer_schedule_...`` (the
suite runs that one at 1/16 of the channels): random biases, magnitude EMAs, input affine and w_avg, psi 0.7 and an
input transform, then the fast output must equal the reference to 1e-5 of its largest magnitude; exit 1 if not.

Default config: the LHQ StyleGAN3-T 256 (channel_base 32768, channel_max 512), random weights.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="T", choices=["T", "R"])
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--channel-base", type=int, default=None)
    ap.add_argument("--channel-max", type=int, default=None)
    ap.add_argument("--batches", default="1,4")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--gpu-modes", action="store_true", help="also fp32 with TF32 and bf16 autocast (CUDA)")
    ap.add_argument("--no-reference", action="store_true", help="time only the fast path")
    ap.add_argument("--check", action="store_true", help="check fast == reference at full width instead of timing")
    a = ap.parse_args()
    if a.check:
        sys.exit(check(a.config, a.res))

    import torch

    from sound2video.models.stylegan3 import GeneratorConfig
    from sound2video.models.stylegan3.modeling_stylegan3 import Generator

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    overrides = {k: v for k, v in (("channel_base", a.channel_base), ("channel_max", a.channel_max)) if v}
    G = Generator(GeneratorConfig.preset(a.config, a.res, **overrides)).eval().requires_grad_(False).to(a.device)
    sync = torch.cuda.synchronize if a.device.startswith("cuda") else (lambda: None)

    def timed(impl: str, ws: torch.Tensor, mode: str = "fp32") -> float:
        G.set_impl(impl)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = mode == "tf32"
        sync()
        t0 = time.perf_counter()
        with torch.inference_mode(), torch.autocast(a.device.split(":")[0], torch.bfloat16, enabled=mode == "bf16"):
            G.synthesis(ws)
        sync()
        return time.perf_counter() - t0

    results = []
    for batch in [int(b) for b in a.batches.split(",")]:
        ws = G.mapping(torch.randn(batch, G.z_dim, device=a.device))
        modes = ["fp32", "tf32", "bf16"] if a.gpu_modes else ["fp32"]
        for mode in modes:
            timed("fast", ws, mode)  # warm-up: builds the cached filter matrices
            fast, ref = [], []
            for _ in range(a.repeats):
                if not a.no_reference and mode == "fp32":
                    ref.append(timed("reference", ws, mode))
                fast.append(timed("fast", ws, mode))
            row = {
                "config": f"{a.config}-{a.res}",
                "device": a.device,
                "mode": mode,
                "batch": batch,
                "fast_img_per_s": round(batch / statistics.median(fast), 4),
            }
            if ref:
                row["reference_img_per_s"] = round(batch / statistics.median(ref), 4)
                row["speedup"] = round(statistics.median(ref) / statistics.median(fast), 2)
            results.append(row)
            print(json.dumps(row), flush=True)


def check(kind: str, res: int) -> int:
    """Fast vs reference at the full-width config ``kind``: prints the error; 0 when within 1e-5 of the peak."""
    import torch

    from sound2video.models.stylegan3 import GeneratorConfig
    from sound2video.models.stylegan3.modeling_stylegan3 import Generator

    torch.manual_seed(0)
    G = Generator(GeneratorConfig.preset(kind, res)).eval().requires_grad_(False)
    with torch.no_grad():
        for layer in G.synthesis.layers():
            layer.bias.normal_(0, 0.2)
            layer.magnitude_ema.uniform_(0.5, 2)
        G.synthesis.input.affine.weight.normal_(0, 0.1)
        G.mapping.w_avg.normal_()
    G.set_input_transform((0.1, -0.05), 7)
    z = torch.randn(1, G.z_dim)
    with torch.inference_mode():
        fast = G(z, truncation_psi=0.7)
        reference = G.set_impl("reference")(z, truncation_psi=0.7)
    err, peak = float((fast - reference).abs().max()), float(reference.abs().max())
    ok = err <= 1e-5 * peak
    print(json.dumps({"config": f"{kind}-{res}", "max_abs_error": err, "peak": peak, "within_1e-5": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    main()
