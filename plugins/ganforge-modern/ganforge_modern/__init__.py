"""Modern GANs for ganforge: StyleGAN2's nets and game, and import of StyleGAN2 checkpoints.

The names below are this plugin's public API for other plugins (loaded on first use, so
importing the package costs no torch import); everything else in it may change in any release.
"""

from __future__ import annotations

from ganforge.sdk import lazy_attributes

_PUBLIC = {
    "StyleGAN2Generator": "ganforge_modern.stylegan2",
    "StyleGAN2Discriminator": "ganforge_modern.stylegan2",
    "upfirdn": "ganforge_modern.stylegan2",
}
__all__ = list(_PUBLIC)
__getattr__ = lazy_attributes(__name__, _PUBLIC, f"its public names are {', '.join(_PUBLIC)}")
