"""The VGG19 perceptual loss: its layers and weights, ImageNet normalisation, gradients, and
clear errors when the weights file is missing or not VGG19's (tests inject random weights)."""

from __future__ import annotations

import pytest
import torch
from torchvision.models.vgg import cfgs, make_layers

from ganforge.builtin.losses import VGGPerceptualParams
from ganforge.build import BuildContext
from ganforge.errors import GanforgeError
from ganforge.perceptual import LAYERS, vgg_perceptual
from ganforge.samples import comparison_sheet


def random_vgg(path, depth: int = 7):
    torch.manual_seed(0)
    trunk = make_layers(cfgs["E"])[:depth]
    torch.save({f"features.{k}": v for k, v in trunk.state_dict().items()}, path)
    return trunk


def ctx():
    return BuildContext(recipe=None, seed=0, device=torch.device("cpu"), registry=None)


def test_perceptual_loss_compares_vgg_features_of_normalised_images(tmp_path):
    trunk = random_vgg(tmp_path / "vgg.pth")
    params = VGGPerceptualParams(layers=["relu1_1", "relu2_1"], layer_weights=[0.5, 2.0], weights=tmp_path / "vgg.pth")
    loss = vgg_perceptual(params, ctx())
    a, b = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    assert float(loss(a, a)) == 0.0
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    fa, fb = trunk.eval()(((a + 1) / 2 - mean) / std), None
    expected = 0.0
    for name, weight in (("relu1_1", 0.5), ("relu2_1", 2.0)):
        sub = trunk[: LAYERS[name] + 1]
        expected += weight * (sub(((a + 1) / 2 - mean) / std) - sub(((b + 1) / 2 - mean) / std)).abs().mean()
    assert torch.allclose(loss(a, b), expected, rtol=1e-5)
    out = a.clone().requires_grad_(True)
    loss(out, b).backward()
    assert out.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in loss.trunk.parameters())
    grey = torch.rand(2, 1, 16, 16)
    assert torch.allclose(loss(grey, b), loss(grey.expand(-1, 3, -1, -1), b))


def test_missing_or_wrong_weights_name_the_file_and_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_OFFLINE", "1")
    monkeypatch.delenv("GANFORGE_WEIGHTS_DIR", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    with pytest.raises(GanforgeError, match=r"vgg19-dcbb9e9d.pth.*GANFORGE_WEIGHTS_DIR"):
        vgg_perceptual(VGGPerceptualParams(), ctx())
    torch.save({"something": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(GanforgeError, match="not a torchvision VGG19 state dict"):
        vgg_perceptual(VGGPerceptualParams(layers=["relu1_1"], layer_weights=[1.0], weights=tmp_path / "other.pth"), ctx())
    monkeypatch.setenv("GANFORGE_WEIGHTS_DIR", str(tmp_path))
    random_vgg(tmp_path / "vgg19-dcbb9e9d.pth", depth=2)
    assert vgg_perceptual(VGGPerceptualParams(layers=["relu1_1"], layer_weights=[1.0]), ctx()) is not None


def test_layer_weights_must_match_layers():
    with pytest.raises(ValueError, match="one weight per layer"):
        VGGPerceptualParams(layers=["relu1_1"], layer_weights=[1.0, 2.0])


def test_comparison_sheet_lays_out_rows_of_columns():
    sheet = comparison_sheet([torch.zeros(3, 1, 8, 8), torch.ones(3, 3, 8, 8), -torch.ones(3, 3, 4, 4)])
    assert sheet.shape == (3 * 10 + 2, 3 * 10 + 2, 3)
