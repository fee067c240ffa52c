"""Stand-ins for pretrained networks, for offline tests and timing benchmarks. Their numbers
are not FIDs: only the code paths and the timings are real."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import torch
from torch import nn


def random_inception_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """torch-fidelity's InceptionV3 architecture with He-initialised weights (its default init
    makes the features vanish) and a scaled classifier, so features and logits vary by image."""
    import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

    with mock.patch.object(tf_inception.FeatureExtractorInceptionV3, "load_state_dict", lambda *a, **k: None), \
            mock.patch.object(tf_inception.torch, "load", lambda *a, **k: {}):
        net = tf_inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                                       feature_extractor_weights_path="unused")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.normal_(0, (2.0 / module.weight[0].numel()) ** 0.5, generator=generator)
                if module.bias is not None:
                    module.bias.zero_()
        net.fc.weight.mul_(300)
    return net.state_dict()


def write_random_inception(folder: Path, seed: int = 0) -> Path:
    """Write random InceptionV3 weights under the standard file name in ``folder``."""
    from ganforge.weights import INCEPTION_V3

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / INCEPTION_V3.filename
    torch.save(random_inception_state(seed), path)
    return path


class UInt8Images(torch.utils.data.Dataset):
    """uint8 (N, 3, H, W) images as the dataset torch-fidelity reads, to compare with it."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]
