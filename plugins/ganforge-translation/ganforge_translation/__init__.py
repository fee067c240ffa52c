"""Image-to-image translation for ganforge: pix2pix, CycleGAN and pix2pixHD.

The names below are this plugin's public API for other plugins (loaded on first use, so
importing the package costs no torch import); everything else in it may change in any release.
"""

from __future__ import annotations

from ganforge.sdk import lazy_attributes

_PUBLIC = {
    "Translation": "ganforge_translation.objectives",
    "input_files": "ganforge_translation.translate",
    "translate_files": "ganforge_translation.translate",
}
__all__ = list(_PUBLIC)
__getattr__ = lazy_attributes(__name__, _PUBLIC, f"its public names are {', '.join(_PUBLIC)}")
