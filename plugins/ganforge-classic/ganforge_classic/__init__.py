"""Classic GANs for ganforge: MLP, DCGAN and InfoGAN nets and the classic games.

The names below are this plugin's public API for other plugins (loaded on first use, so
importing the package costs no torch import); everything else in it may change in any release.
"""

from __future__ import annotations

from ganforge.sdk import lazy_attributes

_PUBLIC = {
    "DCGANGenerator": "ganforge_classic.dcgan",
    "DCGANDiscriminator": "ganforge_classic.dcgan",
    "DCGANEncoder": "ganforge_classic.dcgan",
    "MLPGenerator": "ganforge_classic.mlp",
    "MLPDiscriminator": "ganforge_classic.mlp",
    "AdversarialGame": "ganforge_classic.objectives",
    "Unconditional": "ganforge_classic.objectives",
    "balanced_subset": "ganforge_classic.semi_supervised",
    "LabelledSubset": "ganforge_classic.semi_supervised",
    "labels_of": "ganforge_classic.semi_supervised",
    "Reconstructs": "ganforge_classic.codes",
    "MatchesPrior": "ganforge_classic.codes",
}
__all__ = list(_PUBLIC)
__getattr__ = lazy_attributes(__name__, _PUBLIC, f"its public names are {', '.join(_PUBLIC)}")
