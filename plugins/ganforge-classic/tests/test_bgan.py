"""The boundary-seeking GAN: the continuous loss pulls D's logit on fakes to zero; the discrete
game moves G's pixel probabilities towards the samples D calls real, trains on binary images,
resumes exactly and samples black-and-white images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.build import build_run
from ganforge.errors import GanforgeError
from ganforge.pipeline import load_generator, train
from ganforge.recipe import recipe_from_data
from ganforge.testing import check_resume


@pytest.fixture
def registry():
    from ganforge.plugins import create_plugins
    from ganforge.registry import Registry

    return Registry(create_plugins(strict=True))


def test_boundary_seeking_generator_loss_is_half_the_squared_logit_and_seeks_zero(registry):
    from ganforge_classic.boundary_seeking import BoundarySeeking

    loss = BoundarySeeking()
    logits = torch.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    value = loss.generator(logits)
    assert float(value.detach()) == pytest.approx((4 + 0 + 9) / 2 / 3)
    (grad,) = torch.autograd.grad(value, logits)
    assert grad.tolist() == pytest.approx([-2 / 3, 0.0, 1.0])  # descent moves each logit towards 0 (D = 1/2)
    real, fake = torch.tensor([4.0]), torch.tensor([-4.0])
    assert float(loss.discriminator(real, fake)) == pytest.approx(2 * float(torch.nn.functional.softplus(torch.tensor(-4.0))))


def digits(tmp_path: Path, name: str, **objective) -> dict:
    rng = np.random.default_rng(0)
    images = (rng.random((64, 16, 16)) * 255).astype(np.uint8)
    np.savez(tmp_path / "digits.npz", x_train=images)
    return {"name": name, "seed": 3,
            "data": {"type": "npz", "path": str(tmp_path / "digits.npz"), "binarize": 0.5},
            "models": {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 8},
                       "discriminator": {"type": "dcgan-discriminator", "width": 8}},
            "objective": {"type": "bgan-discrete", "samples": 4, **objective},
            "losses": {"adversarial": "boundary-seeking"},
            "train": {"steps": 3, "batch_size": 8, "device": "cpu", "log_every": 1, "sample_every": 3,
                      "checkpoint_every": 3, "progress": False},
            "output": {"dir": str(tmp_path / name), "trackers": []}}


class FixedCritic(torch.nn.Module):
    """Calls a sample real in proportion to how white its first pixel is."""

    def forward(self, x):
        return 5.0 * x[:, 0, 0, 0]


def test_the_importance_weights_move_g_towards_what_d_calls_real(tmp_path, registry):
    run = build_run(recipe_from_data(digits(tmp_path, "weights", samples=16), registry).recipe, registry=registry)
    objective, generator = run.objective, run.nets["generator"]
    nets = {"generator": generator, "discriminator": FixedCritic()}
    optimizer = torch.optim.Adam(generator.parameters(), lr=1e-2)
    batch = {"x": torch.ones(16, 1, 16, 16)}
    torch.manual_seed(0)

    def probs() -> torch.Tensor:
        with torch.no_grad():
            return objective.generate(nets, batch)["probs"].mean(0).flatten()

    before = probs()
    for _ in range(30):
        loss, logs = objective.generator_loss(nets, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert 1.0 <= float(logs["g/effective_samples"]) <= 16.0
    after = probs()
    assert float(after[0]) > float(before[0]) + 0.3, (before[0], after[0])  # the pixel D rewards turns white
    moved = after - before
    assert int(moved.argmax()) == 0 and float(moved[1:].mean()) < float(moved[0]) / 2, "it moves most of all"


def test_discrete_bgan_trains_on_binary_images_resumes_exactly_and_samples_binary(tmp_path, registry):
    recipe = digits(tmp_path, "bgan")
    folder = train(recipe_from_data(recipe, registry), registry=registry)
    records = folder.read_metrics()
    assert [r["step"] for r in records] == [1, 2, 3] and all(np.isfinite(r["g/loss"]) for r in records)
    check_resume(recipe, tmp_path / "resume", registry=registry)
    run, step = load_generator(folder.path, registry=registry)
    inputs = run.objective.sample_inputs(6, torch.Generator().manual_seed(0))
    samples = run.objective.sample(run.nets, inputs)
    assert step == 3 and samples.shape == (6, 1, 16, 16) and set(samples.unique().tolist()) <= {-1.0, 1.0}
    assert torch.equal(samples, run.objective.sample(run.nets, inputs)), "the uniform draws are part of the inputs"


def test_discrete_bgan_refuses_grey_data_and_other_losses_before_step_0(tmp_path, registry):
    grey = digits(tmp_path, "grey")
    del grey["data"]["binarize"]
    with pytest.raises(GanforgeError, match=r"grey values; binarise it \(for npz data: `data.binarize: 0.5`\)"):
        build_run(recipe_from_data(grey, registry).recipe, registry=registry)
    hinge = digits(tmp_path, "hinge")
    hinge["losses"]["adversarial"] = "hinge"
    with pytest.raises(GanforgeError, match="losses.adversarial: boundary-seeking"):
        build_run(recipe_from_data(hinge, registry).recipe, registry=registry)
    penalised = digits(tmp_path, "gp")
    penalised["losses"]["gp"] = "gradient-penalty"
    with pytest.raises(GanforgeError, match="does not know what to do with loss 'gp'"):
        build_run(recipe_from_data(penalised, registry).recipe, registry=registry)
