"""The plugin SDK: every name a ganforge plugin may use, and the only module it imports.

Everything here keeps its meaning within a major version of :data:`SDK_VERSION` (see
docs/sdk.md); the rest of the ``ganforge`` package may be rearranged in any release. Names
are loaded on first use, so ``from ganforge.sdk import Params, hookimpl`` in a plugin's
registration module costs no torch import, while ``from ganforge.sdk import Objective``
loads what it needs::

    from ganforge.sdk import ObjectiveParams, Params, hookimpl      # plugin.py: no torch
    from ganforge.sdk import Objective, Nets, Logs, generator_adversarial   # the game itself
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ganforge.version import SDK_VERSION

_EXPORTS: dict[str, str] = {
    # hooks and registration (no torch)
    "hookimpl": "ganforge.hookspecs",
    "Register": "ganforge.hookspecs",
    "Commands": "ganforge.hookspecs",
    "Params": "ganforge.params",
    "ObjectiveParams": "ganforge.params",
    "RecipePath": "ganforge.params",
    "AddedLater": "ganforge.params",
    # errors (no torch)
    "GanforgeError": "ganforge.errors",
    "DataError": "ganforge.errors",
    "RunFolderError": "ganforge.errors",
    "GanforgeDeprecationWarning": "ganforge.errors",
    # declared capabilities (no torch)
    "CapabilityError": "ganforge.capabilities",
    "PairedOutputs": "ganforge.capabilities",
    "Translates": "ganforge.capabilities",
    "Classifies": "ganforge.capabilities",
    "CycleConsistent": "ganforge.capabilities",
    "ReadsCheckpoints": "ganforge.capabilities",
    "WritesCheckpoints": "ganforge.capabilities",
    "Tracker": "ganforge.capabilities",
    "ImageTracker": "ganforge.capabilities",
    "ClosingTracker": "ganforge.capabilities",
    "EpochAware": "ganforge.capabilities",
    "Prerenders": "ganforge.capabilities",
    "Batched": "ganforge.capabilities",
    "Fingerprinted": "ganforge.capabilities",
    "LabelledData": "ganforge.capabilities",
    "SkipsUnreadable": "ganforge.capabilities",
    "KnownModes": "ganforge.capabilities",
    "NoiseInput": "ganforge.capabilities",
    "JudgesCodes": "ganforge.capabilities",
    "Conditioned": "ganforge.capabilities",
    "AuxiliaryHead": "ganforge.capabilities",
    "HasFeatures": "ganforge.capabilities",
    "StyleSpace": "ganforge.capabilities",
    "require": "ganforge.capabilities",
    "lazy_attributes": "ganforge.lazy",
    # data description (no torch)
    "DataInfo": "ganforge.data.info",
    # built-in parameter models a plugin may extend (no torch)
    "ImageFolderParams": "ganforge.builtin.data",
    "HeldoutData": "ganforge.builtin.evaluators",
    "ShapesParams": "ganforge.builtin.data",
    # files (no torch)
    "atomic_write_bytes": "ganforge.files",
    "atomic_write_text": "ganforge.files",
    "file_sha256": "ganforge.files",
    "writing": "ganforge.files",
    # benchmark executors (no torch)
    "BenchTask": "ganforge.bench.executor",
    "Executor": "ganforge.bench.executor",
    "ExecutorContext": "ganforge.bench.executor",
    "run_task": "ganforge.bench.executor",
    "check_executor": "ganforge.bench.kit",
    # the objective contract
    "Objective": "ganforge.objective",
    "Nets": "ganforge.objective",
    "Logs": "ganforge.objective",
    "Batch": "ganforge.objective",
    "Generated": "ganforge.objective",
    "Clock": "ganforge.objective",
    "truncated_normal": "ganforge.objective",
    "clip_weights": "ganforge.objective",
    "BuildContext": "ganforge.build",
    # losses and regularisers
    "AdversarialLoss": "ganforge.losses",
    "Regulariser": "ganforge.losses",
    "Minimax": "ganforge.losses",
    "NonSaturating": "ganforge.losses",
    "Hinge": "ganforge.losses",
    "LeastSquares": "ganforge.losses",
    "Wasserstein": "ganforge.losses",
    "RelativisticAverage": "ganforge.losses",
    "RelativisticPairing": "ganforge.losses",
    "GradientPenalty": "ganforge.losses",
    "R1Penalty": "ganforge.losses",
    "R2Penalty": "ganforge.losses",
    "twice_differentiable": "ganforge.losses",
    "discriminator_adversarial": "ganforge.adversarial",
    "generator_adversarial": "ganforge.adversarial",
    "scales": "ganforge.adversarial",
    "mean_logit": "ganforge.adversarial",
    # data
    "DataAdapter": "ganforge.data.adapter",
    "BatchStream": "ganforge.data.stream",
    "ImageFolder": "ganforge.data.image_folder",
    "list_images": "ganforge.data.listing",
    "readable_images": "ganforge.data.listing",
    "files_fingerprint": "ganforge.data.listing",
    "Shapes": "ganforge.data.shapes",
    # images in and out
    "UnreadableImage": "ganforge.data.images",
    "open_image": "ganforge.data.images",
    "probe_image": "ganforge.data.images",
    "convert": "ganforge.data.images",
    "to_tensor": "ganforge.data.images",
    "to_uint8": "ganforge.samples",
    "image_grid": "ganforge.samples",
    "comparison_sheet": "ganforge.samples",
    "render": "ganforge.samples",
    "save_png": "ganforge.samples",
    # several ranks (torchrun)
    "World": "ganforge.distributed",
    "current_world": "ganforge.distributed",
    "rank_randn": "ganforge.distributed",
    "rank_rand": "ganforge.distributed",
    "shared_rand": "ganforge.distributed",
    "mean_across": "ganforge.distributed",
    "my_rows": "ganforge.distributed",
    "gather_rows": "ganforge.distributed",
    # evaluation
    "Evaluator": "ganforge.eval.evaluators",
    "build_lpips": "ganforge.eval.lpips",
    # recipes and runs
    "load_recipe": "ganforge.recipe",
    "train": "ganforge.pipeline",
    "RunFolder": "ganforge.train.rundir",
    "load": "ganforge.api",
    "ImportedRun": "ganforge.importer",
    "read_state_dict": "ganforge.importer",
    "Generator": "ganforge.api",
    # the conformance kit and its example files
    "check_component": "ganforge.testing",
    "check_resume": "ganforge.testing",
    "component_cases": "ganforge.testing",
    "ConformanceError": "ganforge.testing",
    "example_images": "ganforge.builtin.examples",
    "example_npz": "ganforge.builtin.examples",
    "example_weights": "ganforge.builtin.examples",
    "example_classifier": "ganforge.builtin.examples",
    "example_inception_weights": "ganforge.builtin.examples",
}

__all__ = ["SDK_VERSION", *_EXPORTS]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"ganforge.sdk has no {name!r}; the SDK's names are listed in docs/sdk.md") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # for type checkers and editors; at run time names load on first use
    from ganforge.adversarial import discriminator_adversarial, generator_adversarial, mean_logit, scales  # noqa: F401
    from ganforge.api import Generator, load  # noqa: F401
    from ganforge.bench.executor import BenchTask, Executor, ExecutorContext, run_task  # noqa: F401
    from ganforge.bench.kit import check_executor  # noqa: F401
    from ganforge.build import BuildContext  # noqa: F401
    from ganforge.builtin.data import ImageFolderParams, ShapesParams  # noqa: F401
    from ganforge.builtin.evaluators import HeldoutData  # noqa: F401
    from ganforge.builtin.examples import (  # noqa: F401
        example_classifier, example_images, example_inception_weights, example_npz, example_weights,
    )
    from ganforge.capabilities import (  # noqa: F401
        AuxiliaryHead, CapabilityError, Classifies, ClosingTracker, Conditioned, CycleConsistent, EpochAware, Prerenders, Batched,
        Fingerprinted, HasFeatures, ImageTracker, KnownModes, JudgesCodes, LabelledData, NoiseInput, PairedOutputs,
        ReadsCheckpoints, SkipsUnreadable, StyleSpace, Tracker, Translates, WritesCheckpoints, require,
    )
    from ganforge.data.adapter import DataAdapter  # noqa: F401
    from ganforge.data.image_folder import ImageFolder  # noqa: F401
    from ganforge.data.images import UnreadableImage, convert, open_image, probe_image, to_tensor  # noqa: F401
    from ganforge.data.info import DataInfo  # noqa: F401
    from ganforge.data.listing import files_fingerprint, list_images, readable_images  # noqa: F401
    from ganforge.data.shapes import Shapes  # noqa: F401
    from ganforge.data.stream import BatchStream  # noqa: F401
    from ganforge.distributed import (  # noqa: F401
        World, current_world, gather_rows, mean_across, my_rows, rank_rand, rank_randn, shared_rand,
    )
    from ganforge.errors import DataError, GanforgeDeprecationWarning, GanforgeError, RunFolderError  # noqa: F401
    from ganforge.eval.evaluators import Evaluator  # noqa: F401
    from ganforge.eval.lpips import build_lpips  # noqa: F401
    from ganforge.files import atomic_write_bytes, atomic_write_text, file_sha256, writing  # noqa: F401
    from ganforge.hookspecs import Commands, Register, hookimpl  # noqa: F401
    from ganforge.importer import ImportedRun, read_state_dict  # noqa: F401
    from ganforge.lazy import lazy_attributes  # noqa: F401
    from ganforge.losses import (  # noqa: F401
        AdversarialLoss, GradientPenalty, Hinge, LeastSquares, Minimax, NonSaturating, R1Penalty, R2Penalty,
        Regulariser, RelativisticAverage, RelativisticPairing, Wasserstein, twice_differentiable,
    )
    from ganforge.objective import (  # noqa: F401
        Batch, Clock, Generated, Logs, Nets, Objective, clip_weights, truncated_normal,
    )
    from ganforge.params import AddedLater, ObjectiveParams, Params, RecipePath  # noqa: F401
    from ganforge.pipeline import train  # noqa: F401
    from ganforge.recipe import load_recipe  # noqa: F401
    from ganforge.samples import comparison_sheet, image_grid, render, save_png, to_uint8  # noqa: F401
    from ganforge.testing import ConformanceError, check_component, check_resume, component_cases  # noqa: F401
    from ganforge.train.rundir import RunFolder  # noqa: F401
