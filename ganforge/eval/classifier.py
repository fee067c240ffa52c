"""A small CNN classifier trained offline on a dataset, used as the feature network of
domain FID/KID, conditional accuracy and Stacked-MNIST mode counts."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset

from ganforge.data.info import DataInfo
from ganforge.errors import GanforgeError
from ganforge.files import atomic_write_bytes

INPUT_SIZE = 32
METADATA_KEY = "ganforge_classifier"
HOW_TO_MAKE = "make one with `ganforge classifier train RECIPE --out FILE.safetensors`"


def _block(cin: int, cout: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c in (cin, cout):
        layers += [nn.Conv2d(c, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.MaxPool2d(2))


class SmallClassifier(nn.Module):
    """Images in [-1, 1], (N, C, H, W) with C in {1, 3} and any H, W (resized to 32x32):
    three conv blocks, global average pool (``features``, 4 * width), dropout, linear."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 32):
        super().__init__()
        self.in_channels, self.num_classes, self.width = in_channels, num_classes, width
        self.body = nn.Sequential(_block(in_channels, width), _block(width, 2 * width), _block(2 * width, 4 * width))
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(4 * width, num_classes)

    def features_and_logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False, antialias=False)
        features = self.body(x).mean(dim=(2, 3))
        return features, self.head(self.dropout(features))

    def forward(self, x: Tensor) -> Tensor:
        return self.features_and_logits(x)[1]


# ---------------------------------------------------------------- files

def save_classifier(model: SmallClassifier, path: Path, meta: dict) -> None:
    """Write weights and JSON metadata (architecture, class names, accuracy, data) to one
    ``.safetensors`` file, atomically."""
    from safetensors.torch import save

    meta = {**meta, "in_channels": model.in_channels, "num_classes": model.num_classes, "width": model.width}
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(Path(path), save(tensors, metadata={METADATA_KEY: json.dumps(meta)}))


def load_classifier(path: Path, device: str | torch.device = "cpu") -> tuple[SmallClassifier, dict]:
    """A classifier written by :func:`save_classifier`, in eval mode with gradients off, and its metadata."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise GanforgeError(f"classifier file {path} not found; {HOW_TO_MAKE}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            raw = (handle.metadata() or {}).get(METADATA_KEY)
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as exc:
        raise GanforgeError(f"{path} is not a safetensors file ({type(exc).__name__}: {exc}); {HOW_TO_MAKE}") from None
    if raw is None:
        raise GanforgeError(f"{path} is a safetensors file but not a ganforge classifier (no "
                            f"{METADATA_KEY!r} metadata); {HOW_TO_MAKE}")
    try:
        meta = json.loads(raw)
        model = SmallClassifier(int(meta["in_channels"]), int(meta["num_classes"]), int(meta["width"]))
        model.load_state_dict(tensors)
    except (ValueError, KeyError, RuntimeError) as exc:
        raise GanforgeError(f"{path}: broken ganforge classifier ({type(exc).__name__}: {exc}); {HOW_TO_MAKE}") from None
    model.eval().requires_grad_(False)
    return model.to(device), meta


# ---------------------------------------------------------------- training

def _batch(data: Dataset, indices: Tensor, label_key: str) -> tuple[Tensor, Tensor]:
    items = [data[int(i)] for i in indices]
    labels = torch.stack([torch.as_tensor(item[label_key]) for item in items]).long()
    return torch.stack([item["x"] for item in items]), labels


def _shift(x: Tensor, generator: torch.Generator, pad: int = 2) -> Tensor:
    """Translate each image by up to ``pad`` pixels each way (edges replicated)."""
    n, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    dy, dx = torch.randint(0, 2 * pad + 1, (2, n, 1), generator=generator)
    rows, cols = dy + torch.arange(h), dx + torch.arange(w)
    return padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


def _num_classes(data: Dataset, info: DataInfo, label_key: str) -> int:
    if label_key == "y" and info.num_classes:
        return info.num_classes
    labels = [int(data[i][label_key]) for i in range(len(data))]
    return max(labels) + 1


@torch.no_grad()
def accuracy(model: nn.Module, data: Dataset, *, label_key: str = "y", batch_size: int = 256,
             device: str | torch.device = "cpu") -> float:
    """Fraction of ``data`` that ``model`` classifies correctly."""
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(data), batch_size):
        x, y = _batch(data, torch.arange(start, min(start + batch_size, len(data))), label_key)
        correct += int((model(x.to(device)).argmax(dim=1).cpu() == y).sum())
    model.train(was_training)
    return correct / max(len(data), 1)


def _fit(model: SmallClassifier, data: Dataset, *, steps: int, batch_size: int, lr: float,
         generator: torch.Generator, label_key: str, log: Callable[[str], None] | None) -> None:
    device = next(model.parameters()).device
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order, position, started = torch.randperm(len(data), generator=generator), 0, time.perf_counter()
    model.train()
    for step in range(1, steps + 1):
        if position + batch_size > len(order):
            order, position = torch.randperm(len(data), generator=generator), 0
        x, y = _batch(data, order[position: position + batch_size], label_key)
        position += batch_size
        loss = F.cross_entropy(model(_shift(x, generator).to(device)), y.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if log and (step % max(steps // 10, 1) == 0 or step == steps):
            log(f"step {step}/{steps}  loss {loss.item():.4f}  {time.perf_counter() - started:.0f}s")


def train_classifier(train_data: Dataset, test_data: Dataset, *, steps: int, batch_size: int = 128,
                     lr: float = 1e-3, seed: int = 0, width: int = 32, device: str | torch.device = "cpu",
                     label_key: str = "y", info: DataInfo | None = None,
                     log: Callable[[str], None] | None = None) -> tuple[SmallClassifier, float]:
    """Train a :class:`SmallClassifier` with Adam and cross entropy (small random shifts as
    augmentation); deterministic on CPU for a given seed and thread count. ``info`` defaults to
    ``train_data.info``. Returns the model (in eval mode) and its accuracy on ``test_data``."""
    info = info or train_data.info
    if not info.is_image:
        raise GanforgeError("the classifier needs image data: pass `info` or a dataset with `.info` of shape (C, H, W)")
    if len(train_data) == 0 or len(test_data) == 0:
        raise GanforgeError("the classifier needs a non-empty train and test split")
    if label_key not in train_data[0]:
        raise GanforgeError(f"data items have no label {label_key!r}; they have: {', '.join(train_data[0])}")
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(seed)  # weights and dropout; the caller's RNG state is restored after
        model = SmallClassifier(info.channels, _num_classes(train_data, info, label_key), width).to(device)
        _fit(model, train_data, steps=steps, batch_size=min(batch_size, len(train_data)), lr=lr,
             generator=torch.Generator().manual_seed(seed), label_key=label_key, log=log)
    model.eval()
    return model, accuracy(model, test_data, label_key=label_key, device=device)
