"""Data-parallel training under ``torchrun`` (one process per rank; gloo on CPU, NCCL on GPUs), built so that N
processes on one global batch end with the weights of one process on that batch, within float tolerance.

How (the stages get it through ``optimize`` and ``train_loop``; a stage opts in to splitting the batch):

- Every rank draws the same global batch (``batch_indices`` depends on (seed, step) only) and the same
  augmentations (drawn for the global batch, then sliced); ``local_share`` gives a rank its contiguous slice.
- A loss that couples the batch (InfoNCE, BatchNorm) sees the global batch through ``gather`` /
  ``all_reduce_sum``, autograd functions whose backward is the exact adjoint (a sum over ranks), and
  ``sync_batchnorm`` computes BatchNorm's statistics over the global batch.
- ``average_gradients`` (called by ``optimize``) all-reduces the gradients, divided by the world size: a rank's
  loss is either the mean over its equal slice or the global loss itself, and in both cases the mean over ranks of
  the gradients of the ranks' losses is the gradient of the single-process loss. A stage that does not split its
  batch therefore stays exact (every rank computes the whole batch), only without the speed-up.
- Dropout draws per rank (``train_loop`` seeds each rank apart); a model with dropout > 0 is therefore not equal
  to the single-process run, only as good in expectation. The towers train with dropout 0 by default.
- Rank 0 alone writes checkpoints, models, metrics and plots (``is_main``); ``rank0_first`` lets rank 0 build a
  shared cache before the others read it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import nn

RANK_SEED = 15_485_863  # rank r adds r * RANK_SEED to its per-step seed (dropout masks differ between ranks)


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched() -> bool:
    """True when torchrun started this process as one of several ranks."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def world() -> World:
    """The current world; starts the process group on first use under torchrun (a single process: rank 0 of 1)."""
    if not launched():
        return World()
    import torch.distributed as dist

    if not dist.is_initialized():
        # gloo for CPU tensors, NCCL for CUDA ones when there are GPUs: collectives go by the tensor's device
        backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def device_for(device: torch.device) -> torch.device:
    """Under torchrun on GPUs each local rank uses its own device (``cuda`` -> ``cuda:LOCAL_RANK``)."""
    if device.type == "cuda" and device.index is None and launched():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def barrier() -> None:
    if world().size > 1:
        import torch.distributed as dist

        dist.barrier()


def rank0_goes_first() -> None:
    """The other ranks wait here until rank 0 calls ``rank0_done``: rank 0 builds a cache on the shared
    filesystem first, the others then find it (a pair of calls rather than a block, to keep stage code flat)."""
    if not world().is_main:
        barrier()


def rank0_done() -> None:
    """Rank 0 releases the ranks waiting in ``rank0_goes_first``."""
    if world().is_main:
        barrier()


@contextlib.contextmanager
def rank0_first() -> Iterator[None]:
    """Rank 0 runs the block first (e.g. builds a cache on the shared filesystem), then the other ranks run it."""
    rank0_goes_first()
    yield
    rank0_done()


def local_share(n: int) -> slice:
    """This rank's contiguous slice of a global batch of ``n`` (equal slices: ``n`` must divide evenly)."""
    w = world()
    if n % w.size:
        raise ValueError(f"a global batch of {n} cannot be split evenly over {w.size} training processes")
    per = n // w.size
    return slice(w.rank * per, (w.rank + 1) * per)


class _Gather(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        ctx.share = (dist.get_rank() * len(x), (dist.get_rank() + 1) * len(x))
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        grad = grad.contiguous().clone()
        dist.all_reduce(grad)  # every rank's loss depends on this rank's rows: sum their gradients
        return grad[ctx.share[0] : ctx.share[1]]


class _AllReduceSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        x = x.contiguous().clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad


def gather(x: torch.Tensor) -> torch.Tensor:
    """The ranks' equal slices concatenated in rank order (the global batch), differentiably; identity alone."""
    return _Gather.apply(x) if world().size > 1 else x


def all_reduce_sum(x: torch.Tensor) -> torch.Tensor:
    """The sum of ``x`` over ranks, differentiably; identity alone."""
    return _AllReduceSum.apply(x) if world().size > 1 else x


def mean_over_ranks(value: torch.Tensor | float) -> torch.Tensor | float:
    """The mean of a logged value over ranks (a loss over each rank's slice -> the global batch's); no gradient."""
    if world().size == 1:
        return value
    import torch.distributed as dist

    t = torch.as_tensor(value, dtype=torch.float64).detach().clone()
    dist.all_reduce(t)
    return float(t) / world().size


def average_gradients(params: Sequence[torch.Tensor]) -> None:
    """All-reduce the gradients of ``params`` and divide by the world size (one flat buffer; a gradient that is
    None on every rank stays None, so optimisers skip it as they would alone)."""
    w = world()
    if w.size == 1 or not params:
        return
    import torch.distributed as dist

    present = torch.tensor([float(p.grad is not None) for p in params], device=params[0].device)
    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params] + [present])
    dist.all_reduce(flat)
    flat /= w.size
    offset = 0
    for p, seen in zip(params, flat[-len(params) :].tolist()):
        n = p.numel()
        if seen > 0:
            p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are over the global batch (all ranks); the same parameters and
    buffers as BatchNorm2d, so state dicts are interchangeable. Works on CPU (gloo), unlike nn.SyncBatchNorm."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or world().size == 1:
            return super().forward(x)
        dims = (0, 2, 3)
        count = all_reduce_sum(torch.tensor(float(x.numel() // x.shape[1]), device=x.device))
        mean = all_reduce_sum(x.sum(dims)) / count
        centred = x - mean[None, :, None, None]
        var = all_reduce_sum((centred * centred).sum(dims)) / count  # two passes, as BatchNorm does
        y = centred * torch.rsqrt(var + self.eps)[None, :, None, None]
        if self.affine:
            y = y * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        if self.track_running_stats and self.running_mean is not None and self.running_var is not None:
            with torch.no_grad():
                assert self.num_batches_tracked is not None
                self.num_batches_tracked += 1
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.detach(), m)
                self.running_var.lerp_(var.detach() * count / (count - 1), m)  # unbiased, as BatchNorm keeps it
        return y


def sync_batchnorm(module: nn.Module) -> int:
    """Make every BatchNorm2d below ``module`` (in place, keeping its weights) a ``GlobalBatchNorm2d``; returns how
    many (none in a single process). Needed whenever a rank runs the model on its slice only: BatchNorm would see
    that slice's statistics."""
    if world().size == 1:
        return 0
    n = 0
    for m in module.modules():
        if type(m) is nn.BatchNorm2d:
            m.__class__ = GlobalBatchNorm2d
            n += 1
    return n
