"""Image-to-image translation for ganforge: pix2pix, CycleGAN and pix2pixHD.

The names below are this plugin's public API for other plugins (loaded on first use, so
importing the package costs no torch import); everything else in it may change in any release.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "Translation": "ganforge_translation.objectives",
    "input_files": "ganforge_translation.translate",
    "translate_files": "ganforge_translation.translate",
}
__all__ = list(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"ganforge_translation has no public {name!r}; its public names are {', '.join(_PUBLIC)}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)
