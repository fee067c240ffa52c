"""What a data adapter tells the nets it feeds: sample shape and labels."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class DataInfo:
    """Description of a dataset's items.

    Items are dicts: ``x`` is the sample (``(C, H, W)`` images in [-1, 1], or ``(D,)``
    vectors), ``y`` the class index when ``num_classes`` is set, and each name in
    ``factors`` is a further per-item label.
    """

    shape: tuple[int, ...]
    num_classes: int | None = None
    class_names: tuple[str, ...] | None = None
    factors: tuple[str, ...] = field(default_factory=tuple)

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

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "DataInfo":
        return cls(
            shape=tuple(data["shape"]),
            num_classes=data.get("num_classes"),
            class_names=tuple(data["class_names"]) if data.get("class_names") else None,
            factors=tuple(data.get("factors", ())),
        )
