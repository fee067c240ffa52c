"""Settings added to recipes after runs were trained and results recorded, with the default
that computes what those runs did. At that default they are left out wherever two resolved
recipes are compared (a results key, a resumed run's recipe against its folder's), so upgrading
ganforge neither loses a recorded result nor refuses to resume a run in progress."""

from __future__ import annotations

from typing import Any

LATER_IN_IMAGE_FOLDERS = [("fast_decode", False), ("cache", False)]
"""Settings every image-folder data type has (its own and those that read any image folder)."""
LATER_BY_TYPE: dict[str, list[tuple[str, Any]]] = {
    "unet-generator": [("outer_bias", True), ("test_batch_stats", False)],
    "resnet-generator": [("test_dropout", False), ("test_batch_stats", False)],
    "pix2pixhd-generator": [("label_classes", 0), ("instance_edges", False)],
    "r3gan-generator": [("output", "linear")],
    **{name: LATER_IN_IMAGE_FOLDERS for name in ("image-folder", "inpainting", "super-resolution", "edges")},
}
"""Settings of a component block of this type added after results were recorded, with the
default that computes what those results did: at that default they are left out of a run's key,
so the results stay found."""
LATER_IN_OPTIM = [("beta2", None)]
LATER_IN_AUGMENT = [("adaptive", None), ("probability", None)]
LATER_IN_EMA = [("half_life_images", None), ("rampup", None)]
LATER_IN_TRAIN = [("channels_last", False), ("compile", False)]


def without_later_defaults(node: Any) -> Any:
    """``node`` (a resolved recipe, or part of one) with the settings added later removed where
    they hold the default that computes what earlier results did (in place; returned)."""
    if isinstance(node, list):
        for item in node:
            without_later_defaults(item)
    elif isinstance(node, dict):
        for key, value in LATER_BY_TYPE.get(node.get("type"), []):
            if node.get(key, value) == value:
                node.pop(key, None)
        for config in (node.get("optim") or {}).values() if isinstance(node.get("optim"), dict) else ():
            for key, value in LATER_IN_OPTIM:
                if isinstance(config, dict) and config.get(key, value) == value:
                    config.pop(key, None)
        train = node.get("train") if isinstance(node.get("train"), dict) else {}
        for key, value in LATER_IN_TRAIN:
            if train.get(key, value) == value:
                train.pop(key, None)
        for section, later in (("augment", LATER_IN_AUGMENT), ("ema", LATER_IN_EMA)):
            settings = train.get(section)
            for key, value in later if isinstance(settings, dict) else ():
                if settings.get(key, value) == value:
                    settings.pop(key, None)
        for item in node.values():
            without_later_defaults(item)
    return node
