"""Find pretrained weights: a file named in the recipe, ``GANFORGE_WEIGHTS_DIR``, the torch hub
cache, or (when allowed) a download. Never a silent fallback to other weights."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ganforge.errors import GanforgeError


@dataclass(frozen=True)
class KnownWeights:
    """Standard weights a metric needs: a file name and where it comes from."""

    name: str
    filename: str
    url: str
    used_for: str
    setting: str = "the evaluator's `weights:`"
    """Where a recipe names the file."""
    offline: str = ""
    """What to use instead when the file cannot be had."""


INCEPTION_V3 = KnownWeights(
    "InceptionV3 (TensorFlow 2015-12-05, the FID/IS standard)",
    "weights-inception-2015-12-05-6726825d.pth",
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
    "fid, kid, inception-score and precision-recall with features: inception-v3",
    offline="Offline, score with a feature network of your own instead: `ganforge classifier train RECIPE --out "
            "clf.safetensors`, then `features: classifier` and `classifier: clf.safetensors` on the evaluator "
            "(docs/evaluation.md); those numbers are not comparable with published FIDs.",
)


class MissingWeights(GanforgeError):
    """Pretrained weights are needed but not available here."""


def downloads_allowed(requested: bool = True) -> bool:
    return requested and os.environ.get("GANFORGE_OFFLINE", "").lower() not in {"1", "true", "yes"}


def resolve_weights(weights: KnownWeights, path: str | Path | None = None, *, download: bool = True) -> Path:
    """A local path to ``weights``: the given file, else ``$GANFORGE_WEIGHTS_DIR/<file>``, else
    torch hub's cache, else a download (unless ``download`` is off or ``GANFORGE_OFFLINE=1``)."""
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise MissingWeights(f"{weights.name} weights file {path} does not exist. {_where(weights)}")
        return path
    folder = os.environ.get("GANFORGE_WEIGHTS_DIR")
    if folder and (Path(folder) / weights.filename).is_file():
        return Path(folder) / weights.filename
    import torch.hub

    cached = Path(torch.hub.get_dir()) / "checkpoints" / weights.filename
    if cached.is_file():
        return cached
    if not downloads_allowed(download):
        raise MissingWeights(f"{weights.name} weights are not available and downloads are off. {_where(weights)}")
    try:
        torch.hub.download_url_to_file(weights.url, str(_tmp_target(cached)), progress=False)
        _tmp_target(cached).rename(cached)
    except Exception as exc:
        raise MissingWeights(f"could not download {weights.name} weights ({type(exc).__name__}: {exc}). "
                             f"{_where(weights)}") from None
    return cached


def _tmp_target(final: Path) -> Path:
    final.parent.mkdir(parents=True, exist_ok=True)
    return final.with_suffix(final.suffix + ".part")


def _where(weights: KnownWeights) -> str:
    return (f"Needed for {weights.used_for}. Download {weights.url} and either put {weights.filename} in the "
            f"folder named by GANFORGE_WEIGHTS_DIR, or set {weights.setting} to the file's path."
            + (f" {weights.offline}" if weights.offline else ""))
