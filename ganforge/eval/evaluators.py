"""Evaluators. Each follows prepare / update / compute: ``prepare(session)`` gets reference
data ready, ``update(batch, session)`` sees generated samples (``batch["fake"]``, plus
``target`` for paired tasks and labels for conditional ones), ``compute()`` returns numbers,
and ``protocol()`` says how they were obtained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ganforge.capabilities import Classifies, KnownModes
from ganforge.errors import GanforgeError
from ganforge.eval.features import classifier_name, to_uint8
from ganforge.eval.session import PREPROCESSING, EvalSession


class Evaluator:
    name = "evaluator"
    needs = "samples"  # "samples": generated samples; "pairs": (output, target) pairs; "nets": measure()
    samples = 10_000
    keys: tuple[str, ...] | None = None  # the result keys, when known before computing
    objective_needs: tuple[type, ...] = ()
    """Capabilities (``ganforge.capabilities``) the run's objective must have; checked when the
    evaluators are built, before anything is evaluated."""

    def preflight(self) -> None:
        """Check, in a second, what :meth:`prepare` will need from outside the run (weights and
        classifier files, held-out data): raise the error ``prepare`` would, before training."""

    def prepare(self, session: EvalSession) -> None:
        """Get reference data ready (real features, mode centres, ...)."""

    def update(self, batch: dict[str, Tensor], session: EvalSession) -> None:
        raise NotImplementedError

    def compute(self) -> dict[str, float | None]:
        raise NotImplementedError

    def protocol(self) -> dict[str, Any]:
        return {}


# ----------------------------------------------------------------- feature-based metrics

class FeatureMetric(Evaluator):
    """Base of fid, kid, inception-score and precision-recall: features from InceptionV3 or
    from a classifier trained with ``ganforge classifier train``."""

    uses_reference = True

    def __init__(self, params: Any):
        self.p = params
        self.samples = params.samples
        self.seen = 0
        self.reference: dict[str, Tensor] = {}

    def preflight(self) -> None:
        if self.p.features == "classifier":
            from ganforge.eval.classifier import load_classifier

            if self.p.classifier is None:
                raise GanforgeError(f"{self.name}: features: classifier needs `classifier:` set to a file made by "
                                    "`ganforge classifier train`")
            load_classifier(Path(self.p.classifier))
        else:
            from ganforge.weights import INCEPTION_V3, resolve_weights

            resolve_weights(INCEPTION_V3, self.p.weights, download=self.p.download)
        stats = self.p.model_dump().get("reference_stats")
        if stats is not None and not Path(stats).is_file():
            raise GanforgeError(f"{self.name}: reference_stats file {stats} not found; make it with `ganforge stats "
                                "compute DATA --out FILE`, or remove reference_stats to compute them from the data")

    def network(self, session: EvalSession):
        from ganforge.eval.features import ClassifierFeatures, InceptionV3Features

        if self.p.features == "classifier":
            if self.p.classifier is None:
                raise GanforgeError(f"{self.name}: features: classifier needs `classifier:` set to a file made by "
                                    "`ganforge classifier train`")
            key = f"classifier:{Path(self.p.classifier).resolve()}"
            return key, session.network(key, lambda: ClassifierFeatures(self.p.classifier, device=session.device))
        key = f"inception:{self.p.weights}"
        return key, session.network(key, lambda: InceptionV3Features(self.p.weights, download=self.p.download,
                                                                     device=session.device))

    def prepare(self, session: EvalSession) -> None:
        info = session.data.info if session.data is not None else None
        if info is not None and not info.is_image:
            raise GanforgeError(f"{self.name} measures images, but this data holds vectors of shape {info.shape}; "
                                "for 2-D mixtures use mode-coverage")
        self.key, self.net = self.network(session)
        self.split = session.split
        if self.uses_reference:
            self.reference = session.reference_features(self.net, self.p.reference_samples)
            self.reference_count = len(next(iter(self.reference.values())))

    def update(self, batch: dict[str, Tensor], session: EvalSession) -> None:
        if batch["fake"].dim() != 4:
            raise GanforgeError(f"{self.name} measures images, but the generator makes vectors of shape "
                                f"{tuple(batch['fake'].shape[1:])}; for 2-D mixtures use mode-coverage")
        self.accumulate(session.features(self.key, self.net, batch["fake"]))
        self.seen += len(batch["fake"])

    def accumulate(self, features: dict[str, Tensor]) -> None:
        raise NotImplementedError

    def protocol(self) -> dict[str, Any]:
        out = {"features": self.net.name, "samples": self.seen, "preprocessing": PREPROCESSING}
        if self.uses_reference:
            out["reference"] = {"samples": self.reference_count, "split": f"{self.split} (seeded subset)"}
        return out


class StoredFeatures(FeatureMetric):
    layer = "pool"

    def __init__(self, params: Any):
        super().__init__(params)
        self.stored: list[Tensor] = []

    def accumulate(self, features: dict[str, Tensor]) -> None:
        self.stored.append(features[self.layer].float().cpu())

    def fake(self) -> Tensor:
        return torch.cat(self.stored)


class FID(FeatureMetric):
    """Frechet distance between Gaussians fitted to real and generated features, in float64.
    Generated statistics are accumulated on the device as running sums, so nothing is stored."""

    name = "fid"
    keys = ("fid",)

    def __init__(self, params: Any):
        super().__init__(params)
        self.total: Tensor | None = None
        self.outer: Tensor | None = None
        self.reference_stats: tuple[np.ndarray, np.ndarray] | None = None  # from reference_stats: an .npz

    def prepare(self, session: EvalSession) -> None:
        stats = self.p.reference_stats
        if stats is None:
            return super().prepare(session)
        from ganforge.eval.stats import check_matches, read_stats

        self.key, self.net = self.network(session)
        mu, sigma, meta = read_stats(Path(stats))
        self.stats_file = {"stats": str(stats), "check": check_matches(Path(stats), meta, self.net, len(mu)),
                           "samples": (meta or {}).get("samples"), "data": (meta or {}).get("data"),
                           "data_fingerprint": (meta or {}).get("data_fingerprint")}
        self.reference_stats = (mu, sigma)
        self.uses_reference = False

    def protocol(self) -> dict[str, Any]:
        out = super().protocol()
        if self.reference_stats is not None:
            out["reference"] = self.stats_file
        return out

    def accumulate(self, features: dict[str, Tensor]) -> None:
        x = features["pool"].double()
        if self.total is None:
            self.total, self.outer = x.sum(0), x.T @ x
        else:
            self.total += x.sum(0)
            self.outer += x.T @ x

    def compute(self) -> dict[str, float]:
        n = self.seen
        mu = self.total / n
        sigma = (self.outer - n * torch.outer(mu, mu)) / (n - 1)
        if self.reference_stats is not None:
            real_mu, real_sigma = self.reference_stats
            if len(real_mu) != len(mu):
                raise GanforgeError(f"fid: the reference statistics are {len(real_mu)}-d but {self.net.name} gives "
                                    f"{len(mu)}-d features")
        else:
            from ganforge.eval.stats import mean_and_covariance

            real_mu, real_sigma = mean_and_covariance(self.reference["pool"])
        return {"fid": frechet_distance(real_mu, real_sigma, mu.cpu().numpy(), sigma.cpu().numpy())}


class KID(StoredFeatures):
    """Kernel inception distance (unbiased MMD^2, cubic polynomial kernel, subsets)."""

    name = "kid"
    keys = ("kid", "kid_std")

    def compute(self) -> dict[str, float]:
        from torch_fidelity.metric_kid import kid_features_to_metric

        fake, real = self.fake(), self.reference["pool"]
        size = min(self.p.subset_size, len(fake), len(real))
        out = kid_features_to_metric(fake, real, kid_subsets=self.p.subsets, kid_subset_size=size, verbose=False,
                                     rng_seed=self.p.seed)
        return {"kid": out["kernel_inception_distance_mean"], "kid_std": out["kernel_inception_distance_std"]}


class InceptionScore(StoredFeatures):
    """exp(E KL(p(y|x) || p(y))) over splits, from the unbiased logits."""

    name = "inception-score"
    keys = ("inception_score", "inception_score_std")
    layer = "logits"
    uses_reference = False

    def compute(self) -> dict[str, float]:
        from torch_fidelity.metric_isc import isc_features_to_metric

        out = isc_features_to_metric(self.fake(), splits=self.p.splits, shuffle=True, rng_seed=self.p.seed)
        return {"inception_score": out["inception_score_mean"], "inception_score_std": out["inception_score_std"]}


class PrecisionRecall(StoredFeatures):
    """Improved precision and recall (Kynkaanniemi et al.): k-NN manifolds of features."""

    name = "precision-recall"
    keys = ("precision", "recall", "f_score")

    def compute(self) -> dict[str, float]:
        from torch_fidelity.metric_prc import prc_features_to_metric

        out = prc_features_to_metric(self.fake(), self.reference["pool"], prc_neighborhood=self.p.neighborhood,
                                     prc_batch_size=10_000, save_cpu_ram=False, verbose=False)
        return {"precision": out["precision"], "recall": out["recall"], "f_score": out["f_score"]}


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)) in float64 (torch-fidelity's formula)."""
    from torch_fidelity.metric_fid import fid_statistics_to_metric

    stats = [{"mu": np.asarray(m, np.float64), "sigma": np.asarray(s, np.float64)} for m, s in ((mu1, sigma1), (mu2, sigma2))]
    return float(fid_statistics_to_metric(stats[0], stats[1], verbose=False)["frechet_inception_distance"])


# ----------------------------------------------------------------- 2-D mode coverage

class ModeCoverage(Evaluator):
    """PacGAN protocol: a sample is high quality within ``threshold`` standard deviations of its
    nearest mode; a mode is captured when it has at least one high-quality sample."""

    name = "mode-coverage"
    keys = ("modes", "high_quality", "reverse_kl")

    def __init__(self, params: Any):
        self.p, self.samples = params, params.samples
        self.points: list[Tensor] = []

    def prepare(self, session: EvalSession) -> None:
        data = session.require_data(self.name)
        if not isinstance(data, KnownModes):
            raise GanforgeError("mode-coverage needs a data adapter with known modes (centers and std), such as "
                                "gaussian-mixture")
        self.centers, self.std = data.centers.double(), float(data.std)

    def update(self, batch: dict[str, Tensor], session: EvalSession) -> None:
        self.points.append(batch["fake"].detach().double().cpu().flatten(1))

    def compute(self) -> dict[str, float | None]:
        return mode_coverage(torch.cat(self.points), self.centers, self.std, self.p.threshold)

    def protocol(self) -> dict[str, Any]:
        return {"samples": sum(len(p) for p in self.points), "modes": len(self.centers), "std": self.std,
                "threshold_std": self.p.threshold}


def mode_coverage(points: Tensor, centers: Tensor, std: float, threshold: float = 3.0) -> dict[str, float | None]:
    """Modes captured, % high-quality samples, and KL(mode histogram of HQ samples || uniform)."""
    distances = torch.cdist(points.double(), centers.double())
    nearest, mode = distances.min(dim=1)
    quality = nearest <= threshold * std
    counts = torch.bincount(mode[quality], minlength=len(centers)).double()
    modes = int((counts > 0).sum())
    if counts.sum() == 0:
        reverse_kl = None
    else:
        p = counts / counts.sum()
        p = p[p > 0]
        reverse_kl = float((p * (p * len(centers)).log()).sum())
    return {"modes": modes, "high_quality": 100.0 * float(quality.double().mean()), "reverse_kl": reverse_kl}


# ----------------------------------------------------------------- classifier-based metrics

class ClassifierMetric(Evaluator):
    """Base of metrics that classify generated images with a ``ganforge classifier train`` file."""

    def __init__(self, params: Any):
        self.p, self.samples = params, params.samples

    def preflight(self) -> None:
        from ganforge.eval.classifier import load_classifier

        if self.p.classifier is None:
            raise GanforgeError(f"{self.name} needs `classifier:` set to a file made by `ganforge classifier train`")
        load_classifier(Path(self.p.classifier))

    def prepare(self, session: EvalSession) -> None:
        from ganforge.eval.classifier import load_classifier

        if self.p.classifier is None:
            raise GanforgeError(f"{self.name} needs `classifier:` set to a file made by `ganforge classifier train`")
        key = f"classifier-model:{Path(self.p.classifier).resolve()}"
        self.model, self.meta = session.network(key, lambda: load_classifier(Path(self.p.classifier),
                                                                             device=session.device))
        self.features_name = classifier_name(self.p.classifier)

    def predict(self, images: Tensor) -> Tensor:
        """Class indices of images in [-1, 1], quantised as saved PNGs would be."""
        x = to_uint8(images).float() / 127.5 - 1
        if self.model.in_channels == 1 and x.shape[1] == 3:
            x = x.mean(dim=1, keepdim=True)
        return self.model(x.to(next(self.model.parameters()).device)).argmax(dim=1)

    def protocol(self) -> dict[str, Any]:
        return {"features": self.features_name,
                "classifier_test_accuracy": self.meta.get("test_accuracy"), "preprocessing": PREPROCESSING}


class StackedMNISTModes(ClassifierMetric):
    """Stacked MNIST: classify each of the R, G, B channels as a digit with an MNIST classifier;
    report modes (digit triples) captured out of 1000 and KL(mode histogram || uniform)."""

    name = "stacked-mnist"
    keys = ("stacked_mnist_modes", "stacked_mnist_kl")

    def __init__(self, params: Any):
        super().__init__(params)
        self.counts = torch.zeros(1000, dtype=torch.long)

    def prepare(self, session: EvalSession) -> None:
        super().prepare(session)
        if self.model.in_channels != 1 or self.model.num_classes != 10:
            raise GanforgeError(f"stacked-mnist needs a 10-class greyscale digit classifier; {self.p.classifier} "
                                f"has {self.model.in_channels} channel(s) and {self.model.num_classes} classes. "
                                "Train one on MNIST with `ganforge classifier train`")

    def update(self, batch: dict[str, Tensor], session: EvalSession) -> None:
        fake = batch["fake"]
        if fake.dim() != 4 or fake.shape[1] != 3:
            raise GanforgeError(f"stacked-mnist needs 3-channel images; the generator makes shape {tuple(fake.shape[1:])}")
        digits = [self.predict(fake[:, c: c + 1]).cpu() for c in range(3)]
        self.counts += torch.bincount(100 * digits[0] + 10 * digits[1] + digits[2], minlength=1000)

    def compute(self) -> dict[str, float]:
        return stacked_mnist_modes(self.counts)

    def protocol(self) -> dict[str, Any]:
        return {**super().protocol(), "samples": int(self.counts.sum()), "modes_possible": 1000}


def stacked_mnist_modes(counts: Tensor) -> dict[str, float]:
    """Modes with at least one sample, and KL(p || uniform) of the histogram, in nats."""
    p = counts.double() / counts.sum()
    p = p[p > 0]
    return {"stacked_mnist_modes": int((counts > 0).sum()),
            "stacked_mnist_kl": float((p * (p * len(counts)).log()).sum())}


class ClassifierAccuracy(ClassifierMetric):
    """Conditional generators: the share of G(z, y) that the classifier labels as y."""

    name = "classifier-accuracy"
    keys = ("classifier_accuracy",)

    def __init__(self, params: Any):
        super().__init__(params)
        self.correct, self.count = 0, 0

    def update(self, batch: dict[str, Tensor], session: EvalSession) -> None:
        if "y" not in batch:
            raise GanforgeError("classifier-accuracy needs a conditional generator (sample inputs with labels `y`); "
                                "this objective samples without labels")
        labels = batch["y"].to(batch["fake"].device).long()
        if int(labels.max()) >= self.model.num_classes:
            raise GanforgeError(f"the generator's labels go up to {int(labels.max())} but {self.p.classifier} "
                                f"knows {self.model.num_classes} classes; train the classifier on the same data")
        self.correct += int((self.predict(batch["fake"]).to(labels.device) == labels).sum())
        self.count += len(labels)

    def compute(self) -> dict[str, float]:
        return {"classifier_accuracy": self.correct / self.count}

    def protocol(self) -> dict[str, Any]:
        return {**super().protocol(), "samples": self.count}


# ----------------------------------------------------------------- paired-image metrics

class PairedMetric(Evaluator):
    """Mean of a per-image score between outputs and targets (both in [-1, 1])."""

    needs = "pairs"
    key = "score"

    def __init__(self, params: Any):
        self.p = params
        self.samples = params.samples
        self.sum, self.count = 0.0, 0

    def update(self, batch: dict[str, Tensor], session: EvalSession) -> None:
        if "target" not in batch:
            raise GanforgeError(f"{self.name} compares outputs with targets; it needs a paired task "
                                "(translation, super-resolution, inpainting)")
        scores = self.score(batch["fake"].float(), batch["target"].float().to(batch["fake"].device), session)
        self.sum += float(scores.sum())
        self.count += len(scores)

    def score(self, output: Tensor, target: Tensor, session: EvalSession) -> Tensor:
        raise NotImplementedError

    def compute(self) -> dict[str, float]:
        return {self.key: self.sum / self.count}

    def protocol(self) -> dict[str, Any]:
        return {"pairs": self.count, "range": "images scaled to [0, 1]"}


class PSNR(PairedMetric):
    name, key, keys = "psnr", "psnr", ("psnr",)

    def score(self, output: Tensor, target: Tensor, session: EvalSession) -> Tensor:
        from torchmetrics.functional.image import peak_signal_noise_ratio

        return peak_signal_noise_ratio((output + 1) / 2, (target + 1) / 2, data_range=1.0, reduction="none",
                                       dim=(1, 2, 3))


class SSIM(PairedMetric):
    name, key, keys = "ssim", "ssim", ("ssim",)

    def score(self, output: Tensor, target: Tensor, session: EvalSession) -> Tensor:
        from torchmetrics.functional.image import structural_similarity_index_measure

        return structural_similarity_index_measure((output + 1) / 2, (target + 1) / 2, data_range=1.0,
                                                   reduction="none")


class L1(PairedMetric):
    name, key, keys = "l1", "l1", ("l1",)

    def score(self, output: Tensor, target: Tensor, session: EvalSession) -> Tensor:
        return ((output - target).abs() / 2).flatten(1).mean(1)


class LPIPS(PairedMetric):
    """Learned perceptual similarity (torchmetrics' LPIPS: bundled linear heads, torchvision
    backbone weights resolved like every other pretrained file)."""

    name, key, keys = "lpips", "lpips", ("lpips",)

    def preflight(self) -> None:
        from ganforge.eval.lpips import BACKBONES
        from ganforge.weights import resolve_weights

        resolve_weights(BACKBONES[self.p.net], self.p.weights, download=self.p.download)

    def prepare(self, session: EvalSession) -> None:
        from ganforge.eval.lpips import build_lpips

        self.net = session.network(f"lpips:{self.p.net}:{self.p.weights}",
                                   lambda: build_lpips(self.p.net, self.p.weights, self.p.download, session.device))

    def score(self, output: Tensor, target: Tensor, session: EvalSession) -> Tensor:
        if min(output.shape[-2:]) < 32:
            raise GanforgeError(f"lpips needs images of at least 32 px (the {self.p.net} backbone's layers shrink "
                                f"smaller ones to nothing); these are {tuple(output.shape[-2:])}. Use l1, psnr or ssim")
        with torch.no_grad():
            return self.net(output.clamp(-1, 1), target.clamp(-1, 1))

    def protocol(self) -> dict[str, Any]:
        return {"pairs": self.count, "backbone": self.p.net}


# ----------------------------------------------------------------- the objective's own classifier

class HeldoutAccuracy(Evaluator):
    """Accuracy of ``objective.classify(nets, x)`` (class logits) on held-out labelled data.
    With ``match``, predicted classes are first mapped one-to-one onto labels by Hungarian
    matching on the confusion matrix (classes learned without labels have arbitrary order)."""

    name = "heldout-accuracy"
    needs = "nets"
    keys = ("heldout_accuracy",)
    objective_needs = (Classifies,)

    def __init__(self, params: Any, ctx: Any):
        self.p, self.ctx = params, ctx
        self.samples = params.samples
        self.count = 0
        self.data: Any = None

    def preflight(self) -> None:
        if self.data is None:
            self.data = self.ctx.registry.get("data", self.p.data.type).build(self.p.data, self.ctx)

    def measure(self, run: Any, nets: dict, batch_size: int) -> None:
        from torch.utils.data import DataLoader

        classify = run.objective.classify
        if self.data is None:  # read once, however often the evaluator runs
            self.data = self.ctx.registry.get("data", self.p.data.type).build(self.p.data, self.ctx)
        predictions, labels, self.count = [], [], 0
        for batch in DataLoader(self.data, batch_size=batch_size):
            if self.count >= self.samples:
                break
            x, y = batch["x"][: self.samples - self.count], batch["y"][: self.samples - self.count]
            predictions.append(classify(nets, x.to(run.device)).argmax(1).cpu())
            labels.append(y.long())
            self.count += len(x)
        self.predicted, self.labels = torch.cat(predictions), torch.cat(labels)

    def compute(self) -> dict[str, float]:
        predicted, labels = self.predicted, self.labels
        if self.p.match:
            predicted = match_classes(predicted, labels)
        return {"heldout_accuracy": float((predicted == labels).float().mean())}

    def protocol(self) -> dict[str, Any]:
        data = self.p.data.model_dump(mode="json")
        return {"samples": self.count, "data": str(data.get("path") or data.get("root") or ""), "matched": self.p.match}


def match_classes(predicted: Tensor, labels: Tensor) -> Tensor:
    """Relabel ``predicted`` by the one-to-one mapping onto ``labels`` that agrees most often
    (Hungarian matching); predicted classes left unmatched map to their most common label."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = int(predicted.max()) + 1, int(labels.max()) + 1
    confusion = torch.zeros(rows, cols, dtype=torch.long)
    confusion.index_put_((predicted, labels), torch.ones_like(labels), accumulate=True)
    mapping = confusion.argmax(1)
    matched_rows, matched_cols = linear_sum_assignment(-confusion.numpy())
    mapping[torch.as_tensor(matched_rows)] = torch.as_tensor(matched_cols)
    return mapping[predicted]


# ----------------------------------------------------------------- factories

def _factory(cls):
    def build(params: Any, ctx: Any) -> Evaluator:
        return cls(params)
    return build


fid = _factory(FID)
kid = _factory(KID)
inception_score = _factory(InceptionScore)
precision_recall = _factory(PrecisionRecall)
mode_coverage_evaluator = _factory(ModeCoverage)
psnr = _factory(PSNR)
ssim = _factory(SSIM)
l1 = _factory(L1)
lpips = _factory(LPIPS)
stacked_mnist = _factory(StackedMNISTModes)
classifier_accuracy = _factory(ClassifierAccuracy)


def heldout_accuracy(params: Any, ctx: Any) -> HeldoutAccuracy:
    return HeldoutAccuracy(params, ctx)
