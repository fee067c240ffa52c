"""Evaluators of games with an encoder (AAE, BiGAN), on held-out data: how well the decoder
reconstructs it, and how close the encoder's codes lie to the prior.

The prior match is the unbiased squared MMD (Gretton et al. 2012) between codes of held-out
items and as many prior draws, with a Gaussian kernel whose bandwidth is the median distance of
the pooled points: a two-sample statistic that works in any code dimension, is zero in
expectation exactly when the two distributions agree (the kernel is characteristic), and needs
no density estimate. Its value for two prior draws fluctuates around 0 with a spread of about
``1/n``."""

from __future__ import annotations

from typing import Any, Iterator, Protocol, runtime_checkable

import torch
from torch import Tensor

from ganforge.sdk import Evaluator


@runtime_checkable
class Reconstructs(Protocol):
    """A game with an encoder and a decoder (or generator) that inverts it."""

    def encode(self, nets: Any, x: Tensor) -> Tensor: ...

    def reconstruct(self, nets: Any, x: Tensor) -> Tensor: ...


@runtime_checkable
class MatchesPrior(Protocol):
    """A game whose encoder's codes should follow a prior it can draw from."""

    def encode(self, nets: Any, x: Tensor) -> Tensor: ...

    def prior_samples(self, n: int, labels: Tensor | None, generator: torch.Generator) -> Tensor: ...


class HeldoutCodes(Evaluator):
    """Base of the evaluators that encode held-out items (read once, however often they run)."""

    needs = "nets"

    def __init__(self, params: Any, ctx: Any):
        self.p, self.ctx = params, ctx
        self.samples = params.samples
        self.data: Any = None
        self.count = 0

    def preflight(self) -> None:
        self.held_out()

    def held_out(self) -> Any:
        if self.data is None:
            self.data = self.ctx.build("data", self.p.data)
        return self.data

    def batches(self, device: torch.device, batch_size: int) -> Iterator[tuple[Tensor, Tensor]]:
        from torch.utils.data import DataLoader

        self.count = 0
        for batch in DataLoader(self.held_out(), batch_size=batch_size):
            if self.count >= self.samples:
                return
            keep = self.samples - self.count
            x, y = batch["x"][:keep].to(device), batch["y"][:keep].long().to(device)
            self.count += len(x)
            yield x, y

    def protocol(self) -> dict[str, Any]:
        data = self.p.data.model_dump(mode="json")
        return {"samples": self.count, "data": str(data.get("path") or data.get("root") or "")}


class ReconstructionError(HeldoutCodes):
    """Mean squared and absolute error of decoder(E(x)) against x, images scaled to [0, 1]."""

    name = "reconstruction-error"
    keys = ("reconstruction_mse", "reconstruction_l1")
    objective_needs = (Reconstructs,)

    @torch.no_grad()
    def measure(self, run: Any, nets: dict, batch_size: int) -> None:
        squared = absolute = 0.0
        for x, _ in self.batches(run.device, batch_size):
            error = (run.objective.reconstruct(nets, x).float() - x.float()) / 2
            squared += float(error.pow(2).flatten(1).mean(1).sum())
            absolute += float(error.abs().flatten(1).mean(1).sum())
        self.values = {"reconstruction_mse": squared / self.count, "reconstruction_l1": absolute / self.count}

    def compute(self) -> dict[str, float]:
        return self.values


class PriorMatch(HeldoutCodes):
    """Unbiased squared MMD between E's codes of held-out items and draws of the prior (for each
    item's label, where the prior is class-conditional)."""

    name = "prior-match"
    keys = ("prior_mmd",)
    objective_needs = (MatchesPrior,)

    @torch.no_grad()
    def measure(self, run: Any, nets: dict, batch_size: int) -> None:
        codes, labels = [], []
        for x, y in self.batches(run.device, batch_size):
            codes.append(run.objective.encode(nets, x).float().cpu())
            labels.append(y.cpu())
        self.codes, self.labels = torch.cat(codes), torch.cat(labels)
        prior = run.objective.prior_samples(len(self.codes), self.labels, torch.Generator().manual_seed(self.p.seed))
        self.value = mmd_squared(self.codes.double(), prior.double())

    def compute(self) -> dict[str, float]:
        return {"prior_mmd": self.value}

    def protocol(self) -> dict[str, Any]:
        return {**super().protocol(), "kernel": "gaussian, median-distance bandwidth", "estimator": "unbiased MMD^2",
                "seed": self.p.seed}


def mmd_squared(a: Tensor, b: Tensor) -> float:
    """Unbiased squared maximum mean discrepancy of samples ``a`` and ``b`` (rows), Gaussian
    kernel with the median pairwise distance of the pooled samples as bandwidth."""
    pooled = torch.cat([a, b])
    distances = torch.cdist(pooled, pooled).pow(2)
    off_diagonal = distances[~torch.eye(len(pooled), dtype=torch.bool)]
    bandwidth = off_diagonal.median().clamp(min=1e-12)
    kernel = torch.exp(-distances / bandwidth)
    n, m = len(a), len(b)
    k_aa, k_bb, k_ab = kernel[:n, :n], kernel[n:, n:], kernel[:n, n:]
    within_a = (k_aa.sum() - k_aa.diagonal().sum()) / (n * (n - 1))
    within_b = (k_bb.sum() - k_bb.diagonal().sum()) / (m * (m - 1))
    return float(within_a + within_b - 2 * k_ab.mean())
