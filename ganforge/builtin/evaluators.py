"""Built-in evaluators: FID, KID, IS, precision/recall, mode coverage, PSNR, SSIM, L1, LPIPS,
Stacked-MNIST modes and conditional classifier accuracy."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from ganforge.hookspecs import hookimpl
from ganforge.builtin.data import ImageFolderParams, NpzParams
from ganforge.params import Params, RecipePath


class FeatureParams(Params):
    """Shared by metrics computed on features of a pretrained network."""

    features: Literal["inception-v3", "classifier"] = Field(
        "inception-v3", description="inception-v3 (the standard 2015-12-05 weights) or a ganforge classifier.")
    weights: RecipePath | None = Field(None, description="InceptionV3 weights file (else GANFORGE_WEIGHTS_DIR, the torch hub cache, or a download).")
    classifier: RecipePath | None = Field(None, description="Classifier file from `ganforge classifier train` (features: classifier).")
    download: bool = Field(True, description="Allow downloading missing weights (GANFORGE_OFFLINE=1 forbids it).")
    samples: int = Field(10_000, ge=2, description="Generated samples.")
    reference_samples: int = Field(10_000, ge=2, description="Real samples for the reference statistics (at most the dataset).")

    @model_validator(mode="after")
    def _classifier_file(self) -> "FeatureParams":
        if self.features == "classifier" and self.classifier is None:
            raise ValueError("features: classifier needs `classifier:` set to a file made by `ganforge classifier train`")
        return self


class FIDParams(FeatureParams):
    """Frechet inception distance (float64 statistics)."""

    reference_stats: RecipePath | None = Field(
        None, description="Reference mu and sigma from an .npz (`ganforge stats compute`, pytorch-fid or clean-fid) "
                          "instead of features of the data; its feature network and resize are checked.")


class KIDParams(FeatureParams):
    """Kernel inception distance."""

    subsets: int = Field(100, ge=1, description="Random subsets averaged.")
    subset_size: int = Field(1000, ge=2, description="Samples per subset (capped at the sample counts).")
    seed: int = Field(2020, description="Subset sampling seed.")


class InceptionScoreParams(FeatureParams):
    """Inception score."""

    splits: int = Field(10, ge=1, description="Splits averaged.")
    seed: int = Field(2020, description="Shuffle seed.")


class PrecisionRecallParams(FeatureParams):
    """Improved precision and recall."""

    neighborhood: int = Field(3, ge=1, description="k of the k-NN manifold estimate.")


class ModeCoverageParams(Params):
    """PacGAN 2-D protocol: modes captured, % high quality, reverse KL of the mode histogram."""

    samples: int = Field(2500, ge=1, description="Generated points.")
    threshold: float = Field(3.0, gt=0, description="High quality within this many standard deviations of a mode.")


class PairedParams(Params):
    """Compare outputs with their targets on a paired task."""

    samples: int = Field(10_000, ge=1, description="Pairs evaluated (at most the data).")


class LPIPSParams(PairedParams):
    """Learned perceptual image patch similarity."""

    net: Literal["alex", "vgg"] = Field("alex", description="Backbone (alex is LPIPS's default).")
    weights: RecipePath | None = Field(None, description="Backbone weights file (torchvision's ImageNet weights).")
    download: bool = Field(True, description="Allow downloading missing weights (GANFORGE_OFFLINE=1 forbids it).")


class ClassifierParams(Params):
    """Classify generated images with a ``ganforge classifier train`` file."""

    classifier: RecipePath = Field(..., description="Classifier file from `ganforge classifier train`.")
    samples: int = Field(10_000, ge=1, description="Generated samples.")


class StackedMNISTParams(ClassifierParams):
    """Stacked MNIST mode count: an MNIST classifier applied to each colour channel."""

    samples: int = Field(26_000, ge=1, description="Generated samples (26,000 in the PacGAN protocol).")


class HeldoutNpz(NpzParams):
    """Held-out images and labels from an .npz file (such as MNIST's x_test / y_test)."""

    type: Literal["npz"] = Field(..., description="Data adapter.")
    labels: str = Field(..., description="Array of integer class labels.")


class HeldoutFolder(ImageFolderParams):
    """Held-out images labelled by their first-level subfolder."""

    type: Literal["image-folder"] = Field(..., description="Data adapter.")
    labels: Literal[True] = Field(True, description="Labels come from the subfolder names.")


HeldoutData = Annotated[Union[HeldoutNpz, HeldoutFolder], Field(discriminator="type")]
"""A held-out labelled data block in an evaluator's settings: npz (with ``labels``) or an image folder."""


class HeldoutAccuracyParams(Params):
    """Classify held-out labelled data with the objective's own classifier: a semi-supervised
    discriminator, ACGAN's auxiliary head, or InfoGAN's categorical code (with ``match``)."""

    data: HeldoutData = Field(..., description="Held-out labelled data, as a data block (npz or image-folder).")
    samples: int = Field(10_000, ge=1, description="Held-out items classified (at most the data).")
    match: bool = Field(False, description="Map predicted classes to labels one-to-one first (Hungarian matching), "
                                           "for codes learned without labels, such as InfoGAN's.")


@hookimpl
def ganforge_register_evaluators(register):
    factory = "ganforge.eval.evaluators:{}"
    for name, params, attr, summary in [
        ("fid", FIDParams, "fid", "Frechet inception distance between generated and real features."),
        ("kid", KIDParams, "kid", "Kernel inception distance (unbiased MMD, polynomial kernel)."),
        ("inception-score", InceptionScoreParams, "inception_score", "Inception score of generated images."),
        ("precision-recall", PrecisionRecallParams, "precision_recall", "Improved precision and recall (k-NN manifolds)."),
        ("mode-coverage", ModeCoverageParams, "mode_coverage_evaluator", "Modes captured and sample quality on 2-D mixtures."),
        ("psnr", PairedParams, "psnr", "Peak signal-to-noise ratio of outputs against targets."),
        ("ssim", PairedParams, "ssim", "Structural similarity of outputs against targets."),
        ("l1", PairedParams, "l1", "Mean absolute error of outputs against targets (images in [0, 1])."),
        ("lpips", LPIPSParams, "lpips", "Learned perceptual distance of outputs to targets."),
        ("stacked-mnist", StackedMNISTParams, "stacked_mnist", "Stacked MNIST modes captured out of 1000, KL to uniform."),
        ("classifier-accuracy", ClassifierParams, "classifier_accuracy", "Share of conditional samples G(z, y) classified as y."),
        ("heldout-accuracy", HeldoutAccuracyParams, "heldout_accuracy", "Accuracy of the objective's classifier on held-out labelled data."),
    ]:
        register(name, params=params, factory=factory.format(attr), summary=summary)
