"""Coupled GANs: the two-domain data shows unrelated images side by side, the coupled nets share
exactly the layers they say, the pixel agreement scores corresponding pairs 1, and a run trains,
resumes and samples pairs; a CoGAN on one domain or with plain nets fails at validation."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ganforge.build import build_run
from ganforge.errors import GanforgeError
from ganforge.pipeline import load_generator, train
from ganforge.recipe import recipe_from_data
from ganforge.testing import check_resume
from ganforge_classic.coupled import CoupledDiscriminator, CoupledGenerator, PixelAgreement, edges, halves, negative


@pytest.fixture
def registry():
    from ganforge.plugins import create_plugins
    from ganforge.registry import Registry

    return Registry(create_plugins(strict=True))


def test_edges_outline_a_stroke_and_negatives_flip_it():
    image = -torch.ones(1, 1, 7, 7)
    image[..., 2:5, 2:5] = 1.0  # a white 3x3 square
    outline = edges(image)[0, 0]
    assert outline[1:6, 1:6].eq(1).sum() == 25 - 9 and outline[2:5, 2:5].eq(-1).all()
    assert outline[0].eq(-1).all() and outline[:, 0].eq(-1).all()
    assert torch.equal(negative(image), -image)


def digits(tmp_path, count: int = 40) -> str:
    rng = np.random.default_rng(0)
    images = np.zeros((count, 16, 16), np.uint8)
    for i in range(count):  # image i carries its index in its first row, to tell images apart
        images[i, 0, :] = i * 5
        images[i, 4:12, 4 + i % 4:8 + i % 4] = 255
    path = tmp_path / "digits.npz"
    np.savez(path, x_train=images, y_train=np.arange(count) % 10)
    rng.random()
    return str(path)


def cogan(tmp_path, name: str, second: str = "negative", **train) -> dict:
    return {"name": name, "seed": 0,
            "data": {"type": "coupled-npz", "path": digits(tmp_path), "size": 16, "second": second},
            "models": {"generator": {"type": "coupled-generator", "z_dim": 8, "width": 8},
                       "discriminator": {"type": "coupled-discriminator", "width": 8}},
            "objective": "cogan",
            "train": {"steps": 3, "batch_size": 8, "device": "cpu", "log_every": 1, "sample_every": 3,
                      "checkpoint_every": 3, "progress": False, **train},
            "output": {"dir": str(tmp_path / name), "trackers": []}}


def test_the_two_domains_come_from_disjoint_halves_side_by_side(tmp_path, registry):
    run = build_run(recipe_from_data(cogan(tmp_path, "data"), registry).recipe, registry=registry)
    data = run.data
    assert len(data) == 20 and data.info.shape == (1, 16, 32)
    firsts, seconds = set(), set()
    for i in range(len(data)):
        a, b = halves(data[i]["x"])
        firsts.add(round(float(a[0, 0, 0]), 3))
        seconds.add(round(float(-b[0, 0, 0]), 3))  # the negative of its image
    assert len(firsts) == len(seconds) == 20 and not firsts & seconds, "no image in both domains"


def test_coupled_nets_share_exactly_their_shared_layers():
    generator = CoupledGenerator(8, (1, 16, 32), width=8, max_width=64, private_layers=1)
    pairs = generator(torch.randn(4, 8))
    assert pairs.shape == (4, 1, 16, 32) and pairs.abs().max() <= 1
    first, _ = halves(pairs)
    first.sum().backward()  # only the first domain's image
    assert all(p.grad is not None for p in generator.shared.parameters()), "shared layers serve the first domain"
    assert all(p.grad is None or not p.grad.any() for p in generator.heads[1].parameters()), "the second domain's own"
    critic = CoupledDiscriminator((1, 16, 32), width=8, max_width=64, private_layers=1)
    logits = critic(pairs.detach())
    assert logits.shape == (4, 2)
    logits[:, 1].sum().backward()
    assert all(p.grad is None or not p.grad.any() for p in critic.private[0].parameters())
    assert all(p.grad is not None for p in critic.shared.parameters())
    swapped = critic(torch.cat(halves(pairs.detach())[::-1], -1))
    assert not torch.allclose(swapped, logits.flip(1).detach()), "each domain has its own first layers"


def test_pixel_agreement_is_one_for_corresponding_pairs_and_lower_otherwise():
    a = (torch.rand(16, 1, 16, 16) > 0.7).float() * 2 - 1
    for mapping, make in (("edges", edges), ("negative", negative)):
        metric = PixelAgreement(SimpleNamespace(mapping=mapping, samples=16))
        metric.update({"fake": torch.cat([a, make(a)], -1)}, None)
        assert metric.compute()["pixel_agreement"] == 1.0
        unrelated = PixelAgreement(SimpleNamespace(mapping=mapping, samples=16))
        unrelated.update({"fake": torch.cat([a, make(a.roll(1, 0))], -1)}, None)
        assert unrelated.compute()["pixel_agreement"] < 0.9


def test_cogan_trains_resumes_exactly_and_samples_pairs(tmp_path, registry):
    recipe = cogan(tmp_path, "run", second="edges")
    recipe["eval"] = {"every": 3, "metrics": [{"type": "pixel-agreement", "mapping": "edges", "samples": 16}]}
    folder = train(recipe_from_data(copy.deepcopy(recipe), registry), registry=registry)
    assert 0 <= folder.read_evals()[-1]["metrics"]["pixel_agreement"] <= 1
    check_resume(recipe, tmp_path / "resume", registry=registry)
    run, _ = load_generator(folder.path, registry=registry)
    samples = run.objective.sample(run.nets, run.objective.sample_inputs(3, torch.Generator().manual_seed(0)))
    assert samples.shape == (3, 1, 16, 32)


@pytest.mark.parametrize("change,message", [
    (lambda r: r.update(data={"type": "shapes", "size": 16, "length": 32}),
     r"pairs of square images side by side, \(C, H, 2H\); the data gives \(3, 16, 16\). Use two-domain data"),
    (lambda r: r["models"].update(generator={"type": "mlp-generator", "z_dim": 8, "width": 8}),
     "set models.generator.type: coupled-generator"),
    (lambda r: r["models"]["generator"].update(private_layers=4), "private_layers must be 1 to 2, got 4"),
])
def test_a_cogan_that_cannot_work_fails_before_step_0(tmp_path, registry, change, message):
    recipe = cogan(tmp_path, "bad")
    change(recipe)
    with pytest.raises(GanforgeError, match=message):
        build_run(recipe_from_data(recipe, registry).recipe, registry=registry)
