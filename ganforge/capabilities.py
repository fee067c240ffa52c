"""Optional capabilities of components, declared as typed protocols.

A component has a capability by implementing its methods; nothing is registered. Whoever
needs one (an evaluator that needs the objective to classify, ``ganforge translate``, the
trainer's trackers) says so with :func:`require`, once, when the run is built, and a missing
method is named in the error. The training step never probes a component.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol, runtime_checkable

from ganforge.errors import GanforgeError


class CapabilityError(GanforgeError):
    """A component lacks a capability that the recipe (or a command) needs."""


# ---------------------------------------------------------------- objectives

@runtime_checkable
class PairedOutputs(Protocol):
    """An objective that maps data to data (translation, super-resolution, inpainting): evaluation
    feeds every evaluator its outputs for the evaluation data, with targets for paired metrics."""

    def paired_outputs(self, nets: Mapping[str, Any], batch: dict[str, Any]) -> tuple[Any, Any]:
        """(the output for each item's ``source``, that item's target)."""


@runtime_checkable
class Translates(Protocol):
    """An objective whose generators translate images (``ganforge translate``, ``Generator.translate``)."""

    def translate(self, nets: Mapping[str, Any], source: Any, reverse: bool = False) -> Any:
        """``source`` images translated (``reverse``: from the target domain back, where the game learns it)."""


@runtime_checkable
class Classifies(Protocol):
    """An objective whose nets classify real data (ACGAN, InfoGAN, semi-supervised): the
    ``heldout-accuracy`` evaluator scores it."""

    def classify(self, nets: Mapping[str, Any], x: Any) -> Any:
        """Class logits, ``(N, classes)``, for a batch of data ``x``."""


@runtime_checkable
class CycleConsistent(Protocol):
    """An objective with two directions (CycleGAN): the ``cycle-error`` evaluator scores it."""

    def cycle_errors(self, nets: Mapping[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
        """Per-item mean absolute reconstruction error of each cycle, ``{"a": (N,), "b": (N,)}``."""


# ---------------------------------------------------------------- checkpoint formats

@runtime_checkable
class ReadsCheckpoints(Protocol):
    """A checkpoint format that ``ganforge import`` can read."""

    def read(self, source: Any) -> Any:
        """The run a checkpoint file holds, as a ``ganforge.sdk.ImportedRun``."""


@runtime_checkable
class WritesCheckpoints(Protocol):
    """A checkpoint format that ``ganforge export --format NAME`` can write."""

    def write(self, model: Any, out: Any, reverse: bool = False) -> Any:
        """Write the generator of ``model`` (a ``ganforge.Generator``) to ``out`` in this format;
        returns the file written."""


# ---------------------------------------------------------------- trackers

@runtime_checkable
class Tracker(Protocol):
    """Every tracker logs scalars."""

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        """Log named numbers at ``step``."""


@runtime_checkable
class ImageTracker(Protocol):
    """A tracker that also shows sample images."""

    def log_image(self, step: int, tag: str, image: Any) -> None:
        """Log a uint8 ``(H, W, 3)`` numpy image at ``step``."""


@runtime_checkable
class ClosingTracker(Protocol):
    """A tracker with something to flush or close when training ends."""

    def close(self) -> None:
        """Flush and release whatever the tracker holds."""


# ---------------------------------------------------------------- data

@runtime_checkable
class EpochAware(Protocol):
    """A dataset whose random augmentation depends on the epoch (resumable data order)."""

    def set_epoch(self, epoch: int) -> None:
        """Called before each epoch's first item is read."""


@runtime_checkable
class Batched(Protocol):
    """Data that gives a whole batch at once, faster than item by item (arrays in memory,
    procedural data): the batch stream asks it for each batch in place of collating items."""

    def batch(self, indices: list[int]) -> dict[str, Any]:
        """The items at ``indices`` as one batch: exactly what collating ``[self[i] for i in indices]`` gives."""


@runtime_checkable
class Prerenders(Protocol):
    """Procedural data whose every item is a function of its index alone (no global random
    state): the batch stream has it draw its items ahead, in a background thread, while the
    training step runs on the main one."""

    def prerender(self) -> None:
        """Start drawing the items into memory in the background; return at once (a second call does nothing)."""


@runtime_checkable
class Fingerprinted(Protocol):
    """A dataset that can name its content (file hashes, seeds) for cached statistics and manifests."""

    def fingerprint(self) -> str:
        """A string that changes whenever the items would."""


@runtime_checkable
class SkipsUnreadable(Protocol):
    """A dataset that leaves unreadable files out (``on_error: skip``) and lists them."""

    skipped: list
    """The files left out (found so far, in this process)."""


@runtime_checkable
class LabelledData(Protocol):
    """A labelled dataset that holds every item's label at once (no need to read each item)."""

    labels: Any
    """A sequence or tensor with the class index of each item, in item order."""


@runtime_checkable
class KnownModes(Protocol):
    """A dataset drawn from known Gaussian modes (the 2-D mixtures): ``mode-coverage`` scores it."""

    centers: Any
    """``(modes, D)`` tensor of the mode centres."""
    std: float
    """Standard deviation of each mode."""


# ---------------------------------------------------------------- nets

@runtime_checkable
class NoiseInput(Protocol):
    """A generator (or encoder, or joint discriminator) with a latent vector of ``z_dim`` values."""

    z_dim: int


@runtime_checkable
class JudgesCodes(Protocol):
    """A discriminator of latent codes of ``code_dim`` values rather than of data (an adversarial
    autoencoder's): ``forward(codes)``, or ``forward(codes, y)`` when it is conditional."""

    code_dim: int


@runtime_checkable
class Conditioned(Protocol):
    """A net that may take a second input: with ``conditional`` true, the class label ``y`` (classic
    nets) or the source image (translation discriminators judging pairs)."""

    conditional: bool


@runtime_checkable
class AuxiliaryHead(Protocol):
    """A discriminator with an auxiliary head of ``aux_outputs`` values (ACGAN classes, InfoGAN's Q);
    it returns ``(logit, aux)`` when ``aux_outputs`` is positive."""

    aux_outputs: int


@runtime_checkable
class StyleSpace(Protocol):
    """A generator with an intermediate latent space W (StyleGAN): ``styles(z, psi)`` maps codes
    to per-layer styles (N, num_ws, w_dim), ``synthesize(ws)`` draws them; ``w_avg`` is the mean w.
    The latent tools work in W (and W+, a w per layer) on such generators."""

    num_ws: int
    w_dim: int

    def styles(self, z: Any, psi: Any = None) -> Any:
        """Per-layer styles of ``z`` (pulled toward the mean w by ``psi`` when given)."""

    def synthesize(self, ws: Any) -> Any:
        """Images of per-layer styles ``ws`` (N, num_ws, w_dim)."""


@runtime_checkable
class HasFeatures(Protocol):
    """A discriminator that also gives its intermediate features (feature matching)."""

    def features(self, *inputs: Any) -> Any:
        """Features of the same inputs ``forward`` takes."""


def members(capability: type) -> list[str]:
    """The method and attribute names a protocol declares."""
    names: list[str] = []
    for klass in capability.__mro__:
        if klass in (Protocol, object) or klass.__name__ == "Generic":
            continue
        names += [n for n in (*vars(klass), *getattr(klass, "__annotations__", {}))
                  if not n.startswith("_") and n not in names]
    return names


def missing(component: Any, capability: type) -> list[str]:
    """The names of ``capability`` that ``component`` does not have (empty: it has them all)."""
    return [name for name in members(capability) if not hasattr(component, name)]


def require(component: Any, capability: type, needed_by: str, described_as: str) -> None:
    """Raise :class:`CapabilityError` unless ``component`` implements ``capability``: the error
    names who needs it, the component and each missing method."""
    absent = missing(component, capability)
    if absent:
        purpose = " ".join((capability.__doc__ or "").strip().split("\n\n")[0].split())
        raise CapabilityError(
            f"{needed_by} needs {described_as} to implement {capability.__name__} ({purpose.rstrip('.')}); "
            f"it has no {', '.join(absent)}. Use a component that provides it, or leave out {needed_by}")
