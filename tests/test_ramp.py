"""Settings ramped over training: R1/R2's gamma, Adam's beta2 and the augmentation probability
(R3GAN's schedules), read at each step's clock, validated, and followed by a resumed run alike."""

from __future__ import annotations

import pytest
import torch

from ganforge.objective import Clock
from ganforge.pipeline import train
from ganforge.ramp import Ramp, value_at
from ganforge.recipe import recipe_from_data
from ganforge.recipe.errors import RecipeError


def test_a_ramp_moves_along_a_half_cosine_or_a_line_then_holds():
    cosine = Ramp(start=0.05, end=0.005)
    assert cosine.at(0, 100) == pytest.approx(0.05) and cosine.at(100, 100) == pytest.approx(0.005)
    assert cosine.at(50, 100) == pytest.approx(0.0275)  # half way: the mean
    assert cosine.at(10, 100) > Ramp(start=0.05, end=0.005, shape="linear").at(10, 100)  # slow start
    early = Ramp(start=0.0, end=0.55, until=0.5, shape="linear")
    assert early.at(25, 100) == pytest.approx(0.275) and early.at(80, 100) == pytest.approx(0.55)
    assert value_at(0.3, None) == 0.3 and value_at(cosine, None) == pytest.approx(0.05)


def test_r1_reads_its_gamma_at_the_clock():
    from ganforge.losses import R1Penalty

    clock = Clock(step=0, total_steps=10)
    r1 = R1Penalty(Ramp(start=2.0, end=0.0, shape="linear"), clock=clock)
    x = torch.ones(3, 2)
    critic = lambda v: (v * 3).sum(1)  # gradient 3 everywhere: |grad|^2 = 18
    assert float(r1(critic, x, x)) == pytest.approx(18.0)  # gamma 2: 2 / 2 * 18
    clock.step = 5
    assert float(r1(critic, x, x)) == pytest.approx(9.0)


def recipe(tmp_path, **train_settings) -> dict:
    return {"name": "ramps", "seed": 0, "data": {"type": "shapes", "size": 16, "length": 64},
            "models": {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 8},
                       "discriminator": {"type": "dcgan-discriminator", "width": 8, "norm": "none"}},
            "objective": "unconditional",
            "losses": {"adversarial": "non-saturating", "r1": {"type": "r1", "gamma": {"start": 1.0, "end": 0.1}}},
            "optim": {"generator": {"betas": [0.0, 0.9], "beta2": {"start": 0.9, "end": 0.99, "shape": "linear"}},
                      "discriminator": {}},
            "train": {"steps": 4, "batch_size": 4, "progress": False, "log_every": 1, "checkpoint_every": 2,
                      "ema": {"half_life_images": {"start": 0.0, "end": 64.0}, "rampup": 0.5},
                      "augment": {"policy": ["flip"], "probability": {"start": 0.0, "end": 0.5, "shape": "linear"}},
                      **train_settings},
            "output": {"dir": str(tmp_path / "run"), "trackers": []}}


def test_beta2_and_the_augmentation_probability_follow_their_ramps(tmp_path, monkeypatch):
    from ganforge.train.trainer import Trainer

    seen = []
    original = Trainer.train_step

    def watch(self, step, batches):
        logs = original(self, step, batches)
        seen.append((step, self.run.optimizers["generator"].param_groups[0]["betas"][1], self.augment.probability))
        return logs

    monkeypatch.setattr(Trainer, "train_step", watch)
    records = train(recipe_from_data(recipe(tmp_path))).read_metrics()
    assert [round(b, 4) for _, b, _ in seen] == [0.9, 0.9225, 0.945, 0.9675]
    assert [p for _, _, p in seen] == pytest.approx([0.0, 0.125, 0.25, 0.375])
    assert [r["augment/p"] for r in records] == pytest.approx([0.0, 0.125, 0.25, 0.375])


def test_ramped_runs_resume_bit_for_bit(tmp_path):
    """A run stopped at step 2 of 4 and resumed ends with the weights of one trained straight."""
    import shutil

    from ganforge.train.checkpoint import list_checkpoints, load_checkpoint

    straight = train(recipe_from_data(recipe(tmp_path))).checkpoints
    shutil.copytree(tmp_path / "run", tmp_path / "stopped")
    shutil.rmtree(list_checkpoints(tmp_path / "stopped" / "checkpoints")[-1])  # as if stopped after step 2
    again = recipe(tmp_path)
    again["output"]["dir"] = str(tmp_path / "stopped")
    resumed = train(recipe_from_data(again), resume=True).checkpoints
    a, ema_a, _ = load_checkpoint(list_checkpoints(straight)[-1])
    b, ema_b, _ = load_checkpoint(list_checkpoints(resumed)[-1])
    assert list_checkpoints(resumed)[-1].name == "step_00000004"
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert ema_a.keys() == ema_b.keys() and all(torch.equal(ema_a[k], ema_b[k]) for k in ema_a)
    assert any(not torch.equal(ema_a[k], a[k]) for k in ema_a if k in a)  # an average, not a copy


def test_changing_the_horizon_of_a_ramp_is_refused_on_resume(tmp_path):
    from ganforge.errors import RunFolderError

    train(recipe_from_data(recipe(tmp_path)))
    longer = recipe(tmp_path, steps=8)
    with pytest.raises(RunFolderError, match="losses.r1.gamma \\(ramp\\).*train.augment.probability \\(ramp\\)"):
        train(recipe_from_data(longer), resume=True)


@pytest.mark.parametrize("change, where", [
    ({"losses": {"r1": {"type": "r1", "gamma": {"start": 1.0, "end": -1.0}}}}, "losses.r1.gamma"),
    ({"optim": {"generator": {"beta2": {"start": 0.9, "end": 1.0}}}}, "optim.generator.beta2"),
    ({"train": {"augment": {"probability": 0.5, "adaptive": {}}}}, "train.augment"),
    ({"train": {"augment": {"probability": {"start": 0.0, "end": 0.5, "until": 0}}}}, "train.augment.probability"),
])
def test_ramps_out_of_range_are_located_errors(tmp_path, change, where):
    data = recipe(tmp_path)
    for section, value in change.items():
        data[section] = {**data[section], **value}
    with pytest.raises(RecipeError, match=where.replace(".", r"\.")):
        recipe_from_data(data)


def test_the_ema_half_life_gives_stylegan2s_decay_with_its_rampup():
    from ganforge.recipe.model import EMAConfig

    plain = EMAConfig(half_life_images=10_000)
    assert plain.decay_at(1, 100, 32) == pytest.approx(0.5 ** (32 / 10_000))
    ramped = EMAConfig(half_life_images=10_000, rampup=0.05)
    assert ramped.decay_at(1, 100, 32) == 0.0  # nothing seen yet: a plain copy
    assert ramped.decay_at(101, 1000, 32) == pytest.approx(0.5 ** (32 / (100 * 32 * 0.05)))  # capped at 5% of 3,200
    assert ramped.decay_at(10_001, 20_000, 32) == pytest.approx(0.5 ** (32 / 10_000))  # the cap no longer bites
    r3gan = EMAConfig(half_life_images={"start": 0.0, "end": 5e6, "shape": "linear"})
    assert r3gan.decay_at(51, 100, 32) == pytest.approx(0.5 ** (32 / 2.5e6))  # half way along the ramp
    assert EMAConfig(decay=0.99).decay_at(7, 10, 32) == 0.99


@pytest.mark.parametrize("ema, message", [
    ({"decay": 0.99, "half_life_images": 1000}, "either decay or half_life_images"),
    ({"rampup": 0.05}, "set half_life_images too"),
    ({"half_life_images": {"start": -1.0, "end": 10.0}}, "half_life_images must be"),
])
def test_contradictory_ema_settings_are_located_errors(tmp_path, ema, message):
    data = recipe(tmp_path, ema=ema)
    with pytest.raises(RecipeError, match=f"train\\.ema(.|\n)*{message}"):
        recipe_from_data(data)
