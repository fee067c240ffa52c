"""The objective contract as the trainer runs it: one generator forward per step, losses that
see both sides (each discriminator its own real logits), lazy regularisers on their schedule,
exact resume with all of them, and games written against the 0.x contract still training."""

from __future__ import annotations

import shutil
import types

import pytest
import torch
from safetensors.torch import load_file

from conftest import REPO, tiny_ring
from ganforge.errors import GanforgeError
from ganforge.losses import AdversarialLoss
from ganforge.pipeline import train
from ganforge.recipe import load_recipe, recipe_from_data
from ganforge.train.checkpoint import list_checkpoints


def counting_forwards(monkeypatch, cls) -> list[bool]:
    """Record, for every forward of ``cls``, whether gradients were on."""
    calls: list[bool] = []
    forward = cls.forward

    def counted(self, *args, **kwargs):
        calls.append(torch.is_grad_enabled())
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(cls, "forward", counted)
    return calls


@pytest.mark.parametrize("d_steps,forwards_per_step", [(1, 1), (2, 2)])
def test_the_generator_runs_once_a_step(tmp_path, registry, monkeypatch, d_steps, forwards_per_step):
    from ganforge_classic.mlp import MLPGenerator

    calls = counting_forwards(monkeypatch, MLPGenerator)
    data = tiny_ring(tmp_path, steps=6, sample_every=100, checkpoint_every=100)
    data["objective"] = {"type": "unconditional", "d_steps": d_steps}
    train(recipe_from_data(data, registry), registry=registry)
    training = calls[:-1]  # the last call draws the final sample grid
    assert len(training) == 6 * forwards_per_step
    assert sum(training) == 6, "one forward with gradients a step, shared by both phases"


def test_pix2pix_runs_its_generator_once_a_step(tmp_path, registry, monkeypatch):
    from ganforge_translation.generators import UNetGenerator

    calls = counting_forwards(monkeypatch, UNetGenerator)
    overrides = [f"output.dir={tmp_path / 'run'}", "output.trackers=[]", "train.steps=3", "train.batch_size=2",
                 "train.sample_every=100", "train.checkpoint_every=100", "train.progress=false", "eval.every=null",
                 "models.generator.width=8", "models.discriminator.width=8", "data.length=16"]
    train(load_recipe(REPO / "recipes" / "pix2pix-shapes.yaml", overrides, registry), registry=registry)
    assert len(calls) - 1 == 3 and all(calls[:-1])


class RecordingLoss(AdversarialLoss):
    """Wraps a loss and records the real logits each generator call receives."""

    def __init__(self, loss):
        self.loss, self.reals = loss, []
        self.generator_needs_real = loss.generator_needs_real

    def discriminator(self, real, fake):
        return self.loss.discriminator(real, fake)

    def generator(self, fake, real=None):
        self.reals.append(real)
        return self.loss.generator(fake, real)


def test_each_discriminator_gives_a_relativistic_loss_its_own_real_logits(tmp_path, registry):
    from ganforge.build import build_run

    overrides = [f"output.dir={tmp_path / 'run'}", "output.trackers=[]", "losses.adversarial=ragan",
                 "models.g_ab.width=4", "models.g_ba.width=4", "models.d_b.width=4", "models.d_a.width=4",
                 "data.length=8"]
    loaded = load_recipe(REPO / "recipes" / "cyclegan-shapes.yaml", overrides, registry)
    run = build_run(loaded.recipe, registry=registry)
    objective = run.objective
    objective.adversarial = recording = RecordingLoss(objective.adversarial)
    batch = {k: v.unsqueeze(0) for k, v in run.data[0].items()}
    with torch.no_grad():
        objective.generator_loss(run.nets, batch)
        d_b, d_a = run.nets[objective.p.discriminator], run.nets[objective.p.reverse_discriminator]
        expected = [d_b(batch["x"]), d_a(batch["source"])]
    assert len(recording.reals) == 2
    for got, want in zip(recording.reals, expected):
        assert torch.equal(got, want)


def test_a_lazy_r1_applies_every_n_discriminator_steps_and_is_logged_on_its_own(tmp_path, registry, monkeypatch):
    from ganforge.losses import R1Penalty

    applied = []
    penalty = R1Penalty.penalty
    monkeypatch.setattr(R1Penalty, "penalty", lambda self, *a: applied.append(self.clock.d_step) or penalty(self, *a))
    data = tiny_ring(tmp_path, steps=6, log_every=6)
    data["objective"] = {"type": "unconditional", "d_steps": 2}
    data["losses"] = {"adversarial": "non-saturating", "r1": {"type": "r1", "gamma": 1.0, "every": 4}}
    folder = train(recipe_from_data(data, registry), registry=registry)
    assert applied == [0, 4, 8]
    assert "d/r1" in folder.read_metrics()[-1]


def test_resume_is_bitwise_with_k_to_1_a_lazy_regulariser_and_a_relativistic_loss(tmp_path, registry):
    data = tiny_ring(tmp_path / "a", steps=12, checkpoint_every=4, keep_checkpoints=10, ema={"decay": 0.9})
    data["objective"] = {"type": "unconditional", "d_steps": 2}
    data["losses"] = {"adversarial": {"type": "ragan", "variant": "hinge"}, "r1": {"type": "r1", "every": 3},
                      "r2": {"type": "r2", "gamma": 1.0}}
    full = train(recipe_from_data(data, registry), registry=registry)
    crashed = tmp_path / "crashed"
    shutil.copytree(full.path, crashed)
    for later in list_checkpoints(crashed / "checkpoints")[1:]:
        shutil.rmtree(later)
    resumed = train(recipe_from_data(dict(data, output={"dir": str(crashed), "trackers": []}), registry),
                    registry=registry, resume=True)
    for name in ("nets.safetensors", "ema.safetensors"):
        a, b = (load_file(f.checkpoints / "step_00000012" / name) for f in (full, resumed))
        assert all(torch.equal(a[k], b[k]) for k in a), name


OLD_GAME = '''
import torch
from pydantic import Field
from ganforge.sdk import ObjectiveParams, Objective, hookimpl


class OldParams(ObjectiveParams):
    """A game written for ganforge 0.x."""

    def required_models(self):
        return {"generator": "generator", "discriminator": "discriminator"}


class OldGame(Objective):
    generators, discriminators = ("generator",), ("discriminator",)

    def __init__(self, params, ctx):
        self.z_dim = ctx.nets["generator"].z_dim

    def discriminator_loss(self, nets, batch):
        with torch.no_grad():
            fake = nets["generator"](torch.randn(len(batch["x"]), self.z_dim))
        loss = torch.nn.functional.softplus(nets["discriminator"](fake)).mean() + \\
            torch.nn.functional.softplus(-nets["discriminator"](batch["x"])).mean()
        return loss, {"d/loss": loss.detach()}

    def generator_loss(self, nets, batch):
        fake = nets["generator"](torch.randn(len(batch["x"]), self.z_dim))
        loss = torch.nn.functional.softplus(-nets["discriminator"](fake)).mean()
        return loss, {"g/loss": loss.detach()}

    def sample_inputs(self, n, generator):
        return {"z": torch.randn(n, self.z_dim, generator=generator)}

    def sample(self, nets, inputs):
        return nets["generator"](inputs["z"])


class HalfNewGame(OldGame):
    def generate(self, nets, batch):  # shares its forward but kept the two-argument loss methods
        return {"fake": nets["generator"](torch.randn(len(batch["x"]), self.z_dim))}


@hookimpl
def ganforge_register_objectives(register):
    register("old-game", params=OldParams, factory="gf_fixture_old:OldGame", summary="0.x game")
    register("half-new-game", params=OldParams, factory="gf_fixture_old:HalfNewGame", summary="inconsistent game")
'''


def test_a_game_written_for_the_old_contract_still_trains_and_an_inconsistent_one_is_named(plugin_site, tmp_path):
    from conftest import install_fixture_plugin
    from ganforge.plugins import create_plugins
    from ganforge.registry import Registry

    install_fixture_plugin(plugin_site, "gf-fixture-old", "gf_fixture_old", OLD_GAME)
    registry = Registry(create_plugins(strict=True))
    data = tiny_ring(tmp_path, steps=4)
    data["objective"] = "old-game"
    folder = train(recipe_from_data(data, registry), registry=registry)
    assert [p.name for p in list_checkpoints(folder.checkpoints)] == ["step_00000004"]
    data["objective"] = "half-new-game"
    with pytest.raises(GanforgeError, match="objective 'half-new-game' \\(from gf-fixture-old\\) overrides "
                                            "generate\\(\\).*discriminator_loss.*add `generated=None`"):
        train(recipe_from_data(data, registry), registry=registry)


def test_a_tracker_without_log_scalars_is_named_before_training(tmp_path, registry):
    from ganforge.build import build_run
    from ganforge.capabilities import CapabilityError
    from ganforge.train.rundir import RunFolder
    from ganforge.train.trainer import Trainer

    run = build_run(recipe_from_data(tiny_ring(tmp_path), registry).recipe, registry=registry)
    silent = types.SimpleNamespace(close=lambda: None)
    with pytest.raises(CapabilityError, match="needs tracker SimpleNamespace to implement Tracker.*no log_scalars"):
        Trainer(run, RunFolder(tmp_path / "run"), [silent])


def test_check_resume_passes_an_exact_game_and_names_what_a_broken_resume_changes(tmp_path, monkeypatch):
    from ganforge.data.stream import BatchStream
    from ganforge.testing import ConformanceError, check_resume

    recipe = tiny_ring(tmp_path / "ring")
    check_resume(recipe, tmp_path / "exact")
    monkeypatch.setattr(BatchStream, "load_state_dict", lambda self, state: None)  # forgets where the epoch was
    with pytest.raises(ConformanceError, match=r"exact resume: expected the weights of a run resumed at step 3 .* "
                                               r"tensors differ, first \['discriminator\."):
        check_resume(recipe, tmp_path / "broken")
