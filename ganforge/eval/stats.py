"""Reference statistics files: the mean and covariance of a dataset's features, as an .npz with
``mu`` and ``sigma`` (the layout pytorch-fid and clean-fid read and write) plus
``ganforge_meta``, a JSON record of the feature network, resize protocol, preprocessing,
sample count and data fingerprint. FID can then be computed against a published file with
no dataset, and ours can be used by those tools."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Subset

from ganforge.errors import GanforgeError
from ganforge.eval.session import PREPROCESSING, data_fingerprint

META_KEY = "ganforge_meta"
FORMAT = "ganforge-stats-v1"


def mean_and_covariance(features: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """float64 mean and (unbiased) covariance, computed as the FID evaluator does."""
    x = features.double()
    return x.mean(0).cpu().numpy(), torch.cov(x.T).cpu().numpy()


def write_stats(path: Path, mu: np.ndarray, sigma: np.ndarray, meta: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:  # np.savez would add .npz to a name without it
        np.savez(handle, mu=mu, sigma=sigma, **{META_KEY: np.array(json.dumps(meta))})


def read_stats(path: Path) -> tuple[np.ndarray, np.ndarray, dict[str, Any] | None]:
    """``mu``, ``sigma`` and ganforge's metadata (None for a file written by another tool)."""
    path = Path(path)
    if not path.is_file():
        raise GanforgeError(f"reference statistics {path} not found; make them with `ganforge stats compute DATA "
                            f"--out {path}` or give the path of a pytorch-fid / clean-fid .npz")
    try:
        with np.load(path, allow_pickle=False) as data:
            mu, sigma = data["mu"], data["sigma"]
            meta = json.loads(str(data[META_KEY])) if META_KEY in data.files else None
    except (KeyError, ValueError, OSError) as exc:
        raise GanforgeError(f"{path} is not a statistics file with arrays mu and sigma ({exc})") from None
    if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
        raise GanforgeError(f"{path}: mu has shape {mu.shape} and sigma {sigma.shape}; expected (D,) and (D, D)")
    return mu.astype(np.float64), sigma.astype(np.float64), meta


def check_matches(path: Path, meta: dict[str, Any] | None, network: Any, dims: int) -> str:
    """Refuse statistics made with another feature network, resize or preprocessing; returns
    how the file was checked. A file without metadata (another tool's) is accepted for the
    standard InceptionV3, which pytorch-fid and clean-fid also use."""
    if meta is None:
        if not network.name.startswith("inception-v3"):
            raise GanforgeError(f"{path} has no ganforge metadata, so nothing says which features it holds; "
                                f"this evaluator uses {network.name}. Compute the statistics with `ganforge stats "
                                "compute` and the same features")
        if dims != 2048:
            raise GanforgeError(f"{path} holds {dims}-d statistics; InceptionV3 pool features are 2048-d")
        return "no metadata (another tool's file): assumed InceptionV3 pool features"
    ours = {"features": network.name, "resize": getattr(network, "resize", None), "preprocessing": PREPROCESSING}
    for key, value in ours.items():
        if meta.get(key) != value:
            raise GanforgeError(f"{path} was computed with {key} {meta.get(key)!r}, but this evaluator uses {value!r}; "
                                "statistics from different feature networks or resize protocols are not comparable. "
                                "Recompute them with `ganforge stats compute` and the evaluator's settings")
    return "metadata checked"


def build_data(path: Path, overrides: list[str] = ()) -> tuple[Any, Any, str]:
    """The dataset named on the command line: an image folder or .zip, an .npz of images, or
    a recipe (its ``eval.data``, else its ``data``). Returns (dataset, params, description)."""
    from ganforge.build import BuildContext
    from ganforge.recipe import load_recipe
    from ganforge.registry import default_registry

    registry = default_registry()
    path = Path(path)
    if path.suffix in (".yaml", ".yml"):
        recipe = load_recipe(path, overrides, registry).recipe
        params = recipe.eval.data or recipe.data
        described = f"{path} ({'eval.data' if recipe.eval.data else 'data'}: {params.type})"
    else:
        if path.suffix == ".npz":
            slot = {"type": "npz", "path": str(path)}
        elif path.is_dir() or ".zip" in path.name or any(".zip" in part for part in path.parts):
            slot = {"type": "image-folder", "root": str(path)}
        else:
            raise GanforgeError(f"{path} is not an image folder, a .zip, an .npz or a recipe; give one of those")
        spec = registry.get("data", slot["type"])
        params = spec.params.model_validate({k: v for k, v in slot.items() if k != "type"})
        return spec.build(params, BuildContext(None, 0, torch.device("cpu"), registry)), params, f"{path} ({slot['type']})"
    return BuildContext(None, 0, torch.device("cpu"), registry).build("data", params), params, described


def compute_stats(data: Path, out: Path, *, features: str = "inception-v3", weights: Path | None = None,
                  classifier: Path | None = None, samples: int | None = None, batch_size: int = 100,
                  device: str = "cpu", download: bool = True, overrides: list[str] = ()) -> dict[str, Any]:
    """Features of (up to ``samples`` of) a dataset's images -> ``out`` (mu, sigma, metadata).
    The subset is the one FID's own reference statistics use, so both agree."""
    from ganforge.version import __version__
    from ganforge.eval.features import ClassifierFeatures, InceptionV3Features
    from ganforge.eval.session import sharded_features

    dataset, params, described = build_data(Path(data), overrides)
    info = dataset.info
    if not info.is_image:
        raise GanforgeError(f"{described} holds vectors of shape {info.shape}, not images")
    if features == "classifier":
        if classifier is None:
            raise GanforgeError("--features classifier needs --classifier FILE (made by `ganforge classifier train`)")
        network = ClassifierFeatures(classifier, device=device)
    else:
        network = InceptionV3Features(weights, download=download, device=device)
    count = min(samples or len(dataset), len(dataset))
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))[:count].tolist()
    parts = []
    for batch in DataLoader(Subset(dataset, order), batch_size=batch_size, generator=torch.Generator()):
        parts.append(sharded_features(network, batch["x"].to(device))["pool"].float().cpu())
    mu, sigma = mean_and_covariance(torch.cat(parts))
    meta = {"format": FORMAT, "features": network.name, "layer": "pool", "dims": int(len(mu)),
            "resize": network.resize, "preprocessing": PREPROCESSING, "samples": count,
            "subset": "seeded permutation (seed 0), first samples" if count < len(dataset) else "all",
            "data": described, "data_fingerprint": data_fingerprint(dataset, params),
            "ganforge": __version__, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    write_stats(out, mu, sigma, meta)
    return meta
