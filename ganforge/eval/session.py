"""One evaluation pass: shared feature networks, per-batch feature reuse, and reference
features from the data, cached on disk by data fingerprint + network + preprocessing."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

import torch
from pydantic import BaseModel
from safetensors.torch import load_file, save
from torch import Tensor
from torch.utils.data import DataLoader, Subset

from ganforge import distributed
from ganforge.capabilities import Fingerprinted
from ganforge.errors import GanforgeError
from ganforge.eval.features import FeatureNetwork, to_uint8
from ganforge.files import atomic_write_bytes

PREPROCESSING = "uint8-rgb-v1"  # [-1, 1] -> round((x + 1) * 127.5) -> uint8, grey repeated to RGB


def cache_dir() -> Path:
    return Path(os.environ.get("GANFORGE_CACHE_DIR") or Path.home() / ".cache" / "ganforge")


def data_fingerprint(dataset: Any, params: Any) -> str:
    """The data's content (when the adapter can fingerprint it) plus its parameters."""
    content = dataset.fingerprint() if isinstance(dataset, Fingerprinted) else ""
    described = params.model_dump(mode="json") if isinstance(params, BaseModel) else repr(params)
    return hashlib.sha256(json.dumps({"content": content, "params": described}, sort_keys=True).encode()).hexdigest()


def sharded_features(network: FeatureNetwork, images: Tensor) -> dict[str, Tensor]:
    """``network``'s features of ``images``: with several ranks each computes its share and
    all of them receive the whole batch's."""
    share = distributed.my_rows(len(images))
    local = network(to_uint8(images[share]))
    return {name: distributed.gather_rows(value.contiguous(), len(images)) for name, value in local.items()}


class EvalSession:
    """Shared state of one evaluation: the data, the device, feature networks (built once),
    the current batch's features (computed once however many evaluators use them), and
    reference features (computed once per data + network, then read from the cache)."""

    def __init__(self, data: Any, data_params: Any, device: torch.device, *, batch_size: int = 250,
                 cache: Path | None = None, split: str = "training data"):
        self.data, self.data_params, self.device, self.split = data, data_params, device, split
        self.batch_size = batch_size
        self.cache = cache if cache is not None else cache_dir() / "reference"
        self.cache_hits = 0
        self._networks: dict[str, Any] = {}
        self._references: dict[str, dict[str, Tensor]] = {}
        self._batch: dict[str, dict[str, Tensor]] = {}
        self._fingerprint: str | None = None
        self.missing: str | None = None  # why the data could not be loaded, when it could not

    def network(self, key: str, build: Callable[[], Any]) -> Any:
        """The object ``build`` makes, built once per session and key."""
        if key not in self._networks:
            self._networks[key] = build()
        return self._networks[key]

    def new_batch(self) -> None:
        self._batch = {}

    def features(self, key: str, network: FeatureNetwork, images: Tensor) -> dict[str, Tensor]:
        """Features of the current batch of generated images (computed once per network)."""
        memo = f"{key}#{len(images)}"  # evaluators needing fewer samples see a prefix of the batch
        if memo not in self._batch:
            self._batch[memo] = sharded_features(network, images.to(self.device))
        return self._batch[memo]

    def require_data(self, who: str) -> Any:
        if self.data is None:
            why = f" ({self.missing})" if self.missing else ""
            raise GanforgeError(f"{who} needs the training data as its reference, but no data was loaded{why}; "
                                "for FID, a reference_stats file (`ganforge stats compute`) needs no data")
        return self.data

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = data_fingerprint(self.require_data("reference statistics"), self.data_params)
        return self._fingerprint

    def reference_features(self, network: FeatureNetwork, count: int) -> dict[str, Tensor]:
        """Features of up to ``count`` real items (a fixed seeded subset), cached on disk."""
        data = self.require_data(f"reference features for {network.name}")
        count = min(count, len(data))
        key = hashlib.sha256(json.dumps([self.fingerprint(), network.name, count, PREPROCESSING]).encode()).hexdigest()
        if key in self._references:
            return self._references[key]
        path = self.cache / f"{key[:32]}.safetensors"
        hit = path.is_file()
        distributed.barrier()  # every rank has looked before rank 0 may write the file
        if hit:
            try:
                self._references[key] = load_file(path)
                self.cache_hits += 1
                return self._references[key]
            except Exception:  # a damaged cache entry is recomputed
                pass
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))[:count].tolist()
        parts: dict[str, list[Tensor]] = {}
        for batch in DataLoader(Subset(data, order), batch_size=self.batch_size, generator=torch.Generator()):
            for name, value in sharded_features(network, batch["x"].to(self.device)).items():
                parts.setdefault(name, []).append(value.float().cpu())
        features = {name: torch.cat(values) for name, values in parts.items()}
        meta = {"network": network.name, "count": str(count), "data": self.fingerprint(), "preprocessing": PREPROCESSING}
        if distributed.current_world().is_main:
            atomic_write_bytes(path, save(features, metadata=meta))
        self._references[key] = features
        return features
