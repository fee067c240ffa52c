"""Batch norm with statistics over the global batch when training on several ranks, on the CPU
as well (PyTorch's ``SyncBatchNorm`` runs on GPUs only, so CUDA runs use it instead).

Each rank's sum and sum of squares are all-reduced (through ``torch.distributed.nn``, so the
gradients flow back across ranks too): every rank normalises with the mean and variance one
process would compute over the whole batch, and updates the running statistics alike. The
modules keep their class's state dict, so checkpoints load into plain batch norm and back.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class _GlobalStatistics:
    """Mixin replacing a batch norm's training forward (see the module docstring)."""

    def forward(self, x: Tensor) -> Tensor:
        import torch.distributed as dist

        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        channels = x.shape[1]
        dims = [0, *range(2, x.dim())]
        local = torch.cat([x.sum(dims), (x * x).sum(dims), x.new_tensor([x.numel() / channels])])
        total = all_reduce(local.float())
        count = total[-1]
        mean = total[:channels] / count
        var = (total[channels:2 * channels] / count - mean * mean).clamp(min=0)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                unbiased = var * count / (count - 1).clamp(min=1)
                self.running_mean.mul_(1 - momentum).add_(mean.to(self.running_mean.dtype), alpha=momentum)
                self.running_var.mul_(1 - momentum).add_(unbiased.to(self.running_var.dtype), alpha=momentum)
        shape = [1, channels] + [1] * (x.dim() - 2)
        y = (x - mean.view(shape).to(x.dtype)) * torch.rsqrt(var.view(shape) + self.eps).to(x.dtype)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


class GlobalBatchNorm1d(_GlobalStatistics, nn.BatchNorm1d):
    """``nn.BatchNorm1d`` with global-batch statistics across ranks."""


class GlobalBatchNorm2d(_GlobalStatistics, nn.BatchNorm2d):
    """``nn.BatchNorm2d`` with global-batch statistics across ranks."""


class GlobalBatchNorm3d(_GlobalStatistics, nn.BatchNorm3d):
    """``nn.BatchNorm3d`` with global-batch statistics across ranks."""


GLOBAL = {nn.BatchNorm1d: GlobalBatchNorm1d, nn.BatchNorm2d: GlobalBatchNorm2d, nn.BatchNorm3d: GlobalBatchNorm3d}


def synchronise_batch_norm(net: nn.Module, device: torch.device) -> nn.Module:
    """``net`` with every batch norm computing global-batch statistics across ranks: PyTorch's
    ``SyncBatchNorm`` on CUDA, the classes above elsewhere (in place, same state dict)."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(net)
    for module in net.modules():
        if type(module) in GLOBAL:
            module.__class__ = GLOBAL[type(module)]
    return net
