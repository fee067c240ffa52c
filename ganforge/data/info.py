"""What a data adapter tells the nets it feeds: sample shape and labels."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class DataInfo:
    """Description of a dataset's items.

    Items are dicts: ``x`` is the sample (``(C, H, W)`` images in [-1, 1], or ``(D,)``
    vectors), ``y`` the class index when ``num_classes`` is set, and each name in
    ``factors`` is a further per-item label; ``factor_names`` names the values of integer
    factors (``{"color": ("red", "lime")}``: value 0 is red).

    Translation data (image-to-image) also has ``source``, the image a generator translates
    into the domain of ``x``: ``source_shape`` is its shape, and ``paired`` says whether ``x``
    is that source's own target (pix2pix) or an unrelated image of the target domain (CycleGAN).
    """

    shape: tuple[int, ...]
    num_classes: int | None = None
    class_names: tuple[str, ...] | None = None
    factors: tuple[str, ...] = field(default_factory=tuple)
    factor_names: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    source_shape: tuple[int, ...] | None = None
    paired: bool = False

    @property
    def is_translation(self) -> bool:
        return self.source_shape is not None

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 3

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def size(self) -> int:
        """Image side length (images are square)."""
        return self.shape[-1]

    def value_names(self, factor: str) -> tuple[str, ...] | None:
        """Names of an integer label's values (``y``: the class names), or None."""
        return self.class_names if factor == "y" else self.factor_names.get(factor)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "DataInfo":
        return cls(
            shape=tuple(data["shape"]),
            num_classes=data.get("num_classes"),
            class_names=tuple(data["class_names"]) if data.get("class_names") else None,
            factors=tuple(data.get("factors", ())),
            factor_names={k: tuple(v) for k, v in data.get("factor_names", {}).items()},
            source_shape=tuple(data["source_shape"]) if data.get("source_shape") else None,
            paired=bool(data.get("paired", False)),
        )
