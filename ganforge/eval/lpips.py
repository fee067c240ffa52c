"""LPIPS through torchmetrics' public metric, with the torchvision backbone taken from a resolved
weights file rather than a download."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch

from ganforge.errors import GanforgeError
from ganforge.weights import KnownWeights, resolve_weights

BACKBONES = {
    "alex": KnownWeights("AlexNet (torchvision ImageNet)", "alexnet-owt-7be5be79.pth",
                         "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", "lpips with net: alex",
                         offline="Offline, use l1, psnr or ssim instead of lpips."),
    "vgg": KnownWeights("VGG16 (torchvision ImageNet)", "vgg16-397923af.pth",
                        "https://download.pytorch.org/models/vgg16-397923af.pth", "lpips with net: vgg",
                        offline="Offline, use l1, psnr or ssim instead of lpips."),
}


class LPIPSDistance(torch.nn.Module):
    """Per-pair LPIPS distances of images in [-1, 1]: torchmetrics'
    ``LearnedPerceptualImagePatchSimilarity`` with ``reduction="none"``, reset for every batch."""

    def __init__(self, metric: torch.nn.Module):
        super().__init__()
        self.metric = metric

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self.metric.reset()
        self.metric.update(output.float(), target.float())
        return self.metric.compute().flatten()


def build_lpips(net: str, weights: str | Path | None, download: bool, device: torch.device) -> LPIPSDistance:
    """The LPIPS distance with the ``net`` backbone (``alex`` or ``vgg``) from its weights file."""
    from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

    spec = BACKBONES[net]
    path = Path(resolve_weights(spec, weights, download=download))
    with hub_cache_holding(path, spec.filename):
        try:
            metric = LearnedPerceptualImagePatchSimilarity(net_type=net, reduction="none")
        except RuntimeError as exc:  # a state dict of another net, or only part of it
            raise GanforgeError(f"{path} does not hold torchvision's {spec.name} weights "
                                f"({str(exc).splitlines()[0]}); download {spec.url}") from None
    return LPIPSDistance(metric).to(device).eval().requires_grad_(False)


@contextmanager
def hub_cache_holding(path: Path, filename: str) -> Iterator[None]:
    """For the duration, torch's hub cache (``$TORCH_HOME/hub``) is a scratch folder holding
    ``path`` as ``filename``, so torchvision finds the backbone there instead of downloading it.

    torchvision unpickles cached files without ``weights_only``; the file is first read with
    ``weights_only=True``, which refuses anything but tensors and plain containers, so what
    torchvision then reads can call nothing else either."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise GanforgeError(f"{path} is not a weights file torch can read safely ({type(exc).__name__}: {exc}); "
                            f"download {filename} again") from None
    if not isinstance(state, dict):
        raise GanforgeError(f"{path} holds a {type(state).__name__}, not a state dict; download {filename} again")
    previous = os.environ.get("TORCH_HOME")
    with tempfile.TemporaryDirectory(prefix="ganforge-torch-home-") as home:
        (Path(home) / "hub" / "checkpoints").mkdir(parents=True)
        (Path(home) / "hub" / "checkpoints" / filename).symlink_to(path.resolve())
        os.environ["TORCH_HOME"] = home
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("TORCH_HOME", None)
            else:
                os.environ["TORCH_HOME"] = previous
