"""The recipe as pydantic models. Component slots are tagged unions built from the registry,
so each plugin's parameters are validated by its own model."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, ConfigDict, Field, create_model, field_validator, model_validator

from ganforge.params import AddedLater, Params
from ganforge.ramp import Ramp, Rampable, check_range
from ganforge.registry import ComponentSpec, Registry

NET_KINDS = ("generator", "discriminator", "encoder")


# ---------------------------------------------------------------- fixed sections

class ConstantSchedule(Params):
    """Keep the learning rate constant."""

    type: Literal["constant"] = "constant"


class LinearDecaySchedule(Params):
    """Constant, then linear decay to zero (CycleGAN's schedule)."""

    type: Literal["linear-decay"] = "linear-decay"
    start: float = Field(0.5, ge=0, lt=1, description="Fraction of training after which decay begins.")


class CosineSchedule(Params):
    """Cosine decay from the base learning rate to ``min_factor`` times it."""

    type: Literal["cosine"] = "cosine"
    min_factor: float = Field(0.0, ge=0, le=1, description="Final learning rate as a fraction of the base.")


class StepSchedule(Params):
    """Multiply the learning rate by ``gamma`` every ``every`` steps."""

    type: Literal["step"] = "step"
    every: int = Field(..., ge=1, description="Steps between decays.")
    gamma: float = Field(0.1, gt=0, description="Factor applied at each decay.")


Schedule = Annotated[
    Union[ConstantSchedule, LinearDecaySchedule, CosineSchedule, StepSchedule],
    Field(discriminator="type"),
    BeforeValidator(lambda v: {"type": v} if isinstance(v, str) else v),
]


Beta = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]


class OptimConfig(Params):
    """Optimizer of one model."""

    type: Literal["adam", "adamw", "sgd", "rmsprop"] = Field("adam", description="Optimizer.")
    lr: float = Field(2e-4, gt=0, le=10, allow_inf_nan=False, description="Base learning rate.")
    betas: tuple[Beta, Beta] = Field((0.5, 0.999), description="Adam betas, each in [0, 1).")
    weight_decay: float = Field(0.0, ge=0, le=10, allow_inf_nan=False, description="Weight decay.")
    momentum: float = Field(0.0, ge=0, lt=1, allow_inf_nan=False, description="Momentum (sgd, rmsprop), in [0, 1).")
    eps: float = Field(1e-8, gt=0, le=1, allow_inf_nan=False, description="Numerical epsilon (adam, adamw, rmsprop).")
    schedule: Schedule = Field(default_factory=ConstantSchedule, description="Learning-rate schedule.")
    beta2: AddedLater[Ramp | None] = Field(None, description="Adam's second beta over training, {start, end, until, shape} (R3GAN raises it from 0.9 to 0.99); overrides betas[1].")

    @field_validator("beta2")
    @classmethod
    def _beta2(cls, value):
        return check_range(value, 0, 0.9999999, "beta2") if value is not None else value


class EMAConfig(Params):
    """Exponential moving average of the generator weights, used for samples: a fixed ``decay``
    per step, or StyleGAN2's ``half_life_images`` (decay 0.5 ** (batch / half-life)) with its
    ``rampup``; R3GAN ramps the half-life itself over training."""

    decay: float = Field(0.999, gt=0, lt=1, description="EMA decay per update (when half_life_images is not set).")
    start: int = Field(0, ge=0, description="Step at which averaging starts (a plain copy before).")
    half_life_images: AddedLater[Rampable | None] = Field(
        None, description="Half-life of the average in training images (StyleGAN2's ema_kimg x 1000), or a ramp "
                          "{start, end, until, shape} (R3GAN: 0 to 5e6 on CIFAR-10); replaces decay.")
    rampup: AddedLater[float | None] = Field(
        None, gt=0, description="Cap the half-life at this fraction of the images seen so far (StyleGAN2: 0.05), "
                                "so early weights are forgotten fast; needs half_life_images.")

    @field_validator("half_life_images")
    @classmethod
    def _half_life(cls, value):
        return check_range(value, 0, None, "half_life_images") if value is not None else value

    @model_validator(mode="after")
    def _one_decay(self) -> "EMAConfig":
        if self.half_life_images is not None and "decay" in self.model_fields_set:
            raise ValueError("set either decay or half_life_images, not both (half_life_images gives the decay "
                             "0.5 ** (batch_size / half_life) at each step)")
        if self.rampup is not None and self.half_life_images is None:
            raise ValueError("rampup caps half_life_images; set half_life_images too (StyleGAN2: 10000 with rampup 0.05)")
        return self

    def decay_at(self, step: int, total_steps: int, batch_size: int) -> float:
        """The decay of the update that ends ``step`` (1-based) with a global ``batch_size``."""
        if self.half_life_images is None:
            return self.decay
        setting = self.half_life_images
        half_life = setting.at(step - 1, total_steps) if isinstance(setting, Ramp) else float(setting)
        if self.rampup is not None:
            half_life = min(half_life, (step - 1) * batch_size * self.rampup)
        return 0.5 ** (batch_size / max(half_life, 1e-8))


class NanRollbackConfig(Params):
    """On a NaN or infinite loss, go back to the last good checkpoint and lower the learning rates."""

    lr_factor: float = Field(0.5, gt=0, lt=1, description="Multiply every learning rate by this at each rollback.")
    max_rollbacks: int = Field(3, ge=1, description="Stop with the error after this many rollbacks.")


class AdaptiveConfig(Params):
    """ADA (Karras et al. 2020): each augmentation applied with a probability p that rises while
    the discriminator's sign on real images exceeds ``target`` and falls while it is below."""

    target: float = Field(0.6, gt=0, lt=1, description="Target of r = E[sign(D(real))] (ADA: 0.6); inside (0, 1).")
    interval: int = Field(4, ge=1, description="Discriminator steps between adjustments of p.")
    speed_images: int = Field(500_000, ge=1, description="Images over which p could move from 0 to 1 (ADA: 500k).")
    initial: float = Field(0.0, ge=0, le=1, description="p at step 0.")


class AugmentConfig(Params):
    """DiffAugment: random flips, quarter turns, colour, translation and cutout applied to
    everything the discriminators see, real and generated (images only); ``adaptive`` makes it ADA."""

    policy: list[Literal["flip", "rotate90", "color", "translation", "cutout", "scale", "rotate", "aniso", "xfrac",
                         "brightness", "contrast", "lumaflip", "hue", "saturation"]] = Field(
        ["color", "translation", "cutout"], min_length=1,
        description="Augmentations, applied in this order: DiffAugment's flip, rotate90, color, translation, cutout; "
                    "ADA's scale, rotate, aniso, xfrac, brightness, contrast, lumaflip, hue, saturation (the last "
                    "three need RGB images).")
    adaptive: AddedLater[AdaptiveConfig | None] = Field(None, description="Apply each augmentation with an adaptive probability (ADA); null: always.")
    probability: AddedLater[Rampable | None] = Field(None, description="Apply each augmentation with this probability, or one ramped over training {start, end, until, shape} (R3GAN: 0 to 0.55); null: always (or ADA's).")

    @field_validator("probability")
    @classmethod
    def _probability(cls, value):
        return check_range(value, 0, 1, "probability") if value is not None else value

    @model_validator(mode="after")
    def _one_probability(self):
        if self.adaptive is not None and self.probability is not None:
            raise ValueError("give either `adaptive` (ADA steers the probability) or `probability` (fixed or ramped), not both")
        return self
    translation: float = Field(0.125, gt=0, le=0.5, description="Largest shift as a fraction of the side.")
    cutout: float = Field(0.5, gt=0, le=1, description="Side of the cut-out square as a fraction of the image side.")


class TrainConfig(Params):
    """How long and how to train."""

    steps: int = Field(1000, ge=1, le=10**10, description="Generator steps.")
    batch_size: int = Field(64, ge=1, le=2**16, description="Real samples per discriminator step.")
    device: Literal["auto", "cpu", "cuda", "mps"] = Field("auto", description="Where to train.")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "fp32", description="Autocast precision; auto: bf16 where the CPU or GPU runs it natively, else fp32 (the "
                            "choice is recorded in the run's manifest).")
    channels_last: AddedLater[bool] = Field(
        False, description="Channels-last memory for the nets' 4-D weights and image batches (faster convolutions on "
                           "recent CPUs and GPUs; same checkpoints).")
    compile: AddedLater[bool] = Field(
        False, description="torch.compile the trained nets (the first steps compile; the time is printed). Not bitwise "
                           "equal to eager; a compiled run resumes exactly.")
    ema: EMAConfig | None = Field(None, description="Generator EMA; null for none.")
    log_every: int = Field(50, ge=1, le=10**10, description="Steps between logged scalars.")
    sample_every: int = Field(500, ge=1, le=10**10, description="Steps between sample grids.")
    sample_count: int = Field(64, ge=1, le=100_000, description="Images (or 2-D points) in each sample grid (fixed noise).")
    checkpoint_every: int = Field(1000, ge=1, le=10**10, description="Steps between checkpoints.")
    keep_checkpoints: int = Field(3, ge=1, le=10_000, description="Newest checkpoints kept.")
    workers: int = Field(0, ge=0, le=256, description="Data-loading worker processes.")
    progress: bool = Field(True, description="Show a progress bar on a terminal.")
    deterministic: bool = Field(False, description="PyTorch's deterministic algorithms (and the CUDA workspace setting they "
                                                   "need): the same recipe and seed give the same numbers on one machine.")
    sync_batch_norm: bool = Field(True, description="With several ranks, batch norm statistics over the global batch, as one "
                                                    "process would compute them (SyncBatchNorm on GPUs, ganforge's own on "
                                                    "CPUs); false: each rank normalises over its own share.")
    augment: AugmentConfig | None = Field(None, description="Differentiable augmentation of the discriminators' inputs; null for none.")
    nan_rollback: NanRollbackConfig | None = Field(
        None, description="Opt-in: on a NaN/Inf loss roll back to the last good checkpoint with lower learning rates "
                          "instead of stopping.")


class OutputConfig(Params):
    """Where the run folder goes and what logs to."""

    dir: Path | None = Field(None, description="Run folder (default runs/<name>, relative to the working directory).")
    trackers: list[Any] = Field(default_factory=lambda: ["tensorboard"], validate_default=True,
                                description="Logging back-ends besides metrics.jsonl.")


class BestConfig(Params):
    """Which evaluation result picks the best checkpoint (copied to checkpoints/best)."""

    metric: str = Field(..., description="A result key, such as fid, kid, modes or psnr.")
    mode: Literal["min", "max"] = Field("min", description="Whether lower or higher is better.")


class EvalConfig(Params):
    """Evaluation during training and by `ganforge eval`."""

    every: int | None = Field(None, ge=1, description="Steps between evaluations in training; null for none.")
    metrics: list[Any] = Field(default_factory=list, description="Evaluators to run.")
    batch_size: int = Field(250, ge=1, description="Samples per generator and feature-network batch.")
    seed: int = Field(0, description="Noise seed of the evaluation samples.")
    best: BestConfig | None = Field(None, description="Track the best checkpoint by this metric.")
    data: Any = Field(None, description="Held-out data the evaluators compare with (reference statistics, the pairs of "
                                        "paired metrics, the inputs a translation model translates); null: the training data.")


class RecipeBase(Params):
    """A ganforge recipe."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="ganforge recipe")

    name: str = Field(..., max_length=100, description="Run name; the default run folder is runs/<name>.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed for weights, data order and noise.")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value):
            raise ValueError("use letters, digits, '-', '_' and '.' only (it names a folder)")
        return value


# ---------------------------------------------------------------- component slots

def _shorthand(value: Any) -> Any:
    return {"type": value} if isinstance(value, str) else value


class _ShorthandInSchema:
    """Let editors accept a bare component name where a ``{type: ...}`` block is allowed."""

    def __init__(self, names: list[str]):
        self.names = names

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict:
        return {"anyOf": [handler(core_schema), {"type": "string", "enum": self.names}]}


def _nothing_installed(kinds: tuple[str, ...]):
    def fail(value: Any) -> Any:
        raise ValueError(f"no {' or '.join(kinds)} components are installed; install a plugin that provides one")
    return fail


def tagged_params(spec: ComponentSpec) -> type[Params]:
    """The component's own parameter model plus a ``type`` tag naming it."""
    namespace = {
        "__annotations__": {"type": Literal[spec.name]},  # type: ignore[valid-type]
        "type": Field(..., description=f"{spec.kind} from {spec.distribution}"),
        "__module__": spec.params.__module__,
        "__doc__": spec.summary or spec.params.__doc__,
        "model_config": ConfigDict(title=f"{spec.kind}: {spec.name}"),
    }
    return type(f"{spec.params.__name__}__{spec.kind}_{spec.name}", (spec.params,), namespace)


def component_slot(registry: Registry, kinds: tuple[str, ...]) -> Any:
    """A tagged union over every registered component of ``kinds`` (a bare name is shorthand)."""
    specs = [spec for kind in kinds for spec in registry.specs(kind)]
    if not specs:
        return Annotated[Any, BeforeValidator(_nothing_installed(kinds))]
    members = tuple(tagged_params(spec) for spec in specs)
    return Annotated[
        Union[members],  # type: ignore[valid-type]
        Field(discriminator="type"),
        BeforeValidator(_shorthand),
        _ShorthandInSchema([spec.name for spec in specs]),
    ]


def _default_losses(registry: Registry):
    """A recipe without ``losses:`` gets its objective's default block (non-saturating unless the
    objective says otherwise, as CycleGAN's least squares)."""

    def fill(cls: Any, data: Any) -> Any:
        if not isinstance(data, dict) or "losses" in data:
            return data
        objective = _shorthand(data.get("objective"))
        name = objective.get("type") if isinstance(objective, dict) else None
        if name in registry.names("objective"):
            return {**data, "losses": registry.get("objective", name).params.default_losses()}
        return data

    return fill


@functools.lru_cache(maxsize=8)
def recipe_model(registry: Registry) -> type[RecipeBase]:
    """The Recipe model for the components in ``registry``."""
    names = [n for kind in NET_KINDS for n in registry.names(kind)]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise ValueError(f"nets of different kinds share the name(s) {clash}; net names must be unique "
                         "across generators, discriminators and encoders because recipes name them in one "
                         "'models' block")
    output = create_model(
        "OutputConfig", __base__=OutputConfig,
        trackers=(list[component_slot(registry, ("tracker",))], OutputConfig.model_fields["trackers"]),
    )
    evaluation = create_model(
        "EvalConfig", __base__=EvalConfig,
        metrics=(list[component_slot(registry, ("evaluator",))], EvalConfig.model_fields["metrics"]),
        data=(component_slot(registry, ("data",)) | None, EvalConfig.model_fields["data"]),
    )
    return create_model(
        "Recipe",
        __base__=RecipeBase,
        __validators__={"objective_default_losses": model_validator(mode="before")(_default_losses(registry))},
        data=(component_slot(registry, ("data",)), Field(..., description="The data adapter.")),
        models=(dict[str, component_slot(registry, NET_KINDS)],
                Field(..., min_length=1, description="Named nets (generators, discriminators, encoders).")),
        objective=(component_slot(registry, ("objective",)), Field(..., description="The game being trained.")),
        losses=(dict[str, component_slot(registry, ("loss",))],
                Field(default_factory=lambda: {"adversarial": {"type": "non-saturating"}},
                      validate_default=True, description="Named losses the objective uses.")),
        optim=(dict[str, OptimConfig], Field(default_factory=dict,
                                             description="Optimizer per model name (Adam 2e-4, betas 0.5/0.999 when absent).")),
        train=(TrainConfig, Field(default_factory=TrainConfig, description="Training loop settings.")),
        eval=(evaluation, Field(default_factory=evaluation, description="Evaluation settings.")),
        output=(output, Field(default_factory=output, description="Run folder and trackers.")),
    )
