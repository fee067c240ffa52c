"""The fast path: train.precision auto (recorded in the manifest), channels-last memory and
torch.compile, each resuming a stopped run to the weights of one trained straight."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from conftest import tiny_ring
from ganforge.pipeline import train
from ganforge.recipe import recipe_from_data
from ganforge.train import fast
from ganforge.train.checkpoint import list_checkpoints, load_checkpoint


def test_auto_precision_is_bf16_only_where_the_device_runs_it_natively(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(fast, "cpu_has_native_bf16", lambda: True)
    assert fast.resolve_precision("auto", cpu) == "bf16"
    monkeypatch.setattr(fast, "cpu_has_native_bf16", lambda: False)
    assert fast.resolve_precision("auto", cpu) == "fp32"
    assert fast.resolve_precision("fp16", cpu) == "fp16" and fast.resolve_precision("fp32", cpu) == "fp32"
    assert fast.resolve_precision("auto", torch.device("mps")) == "fp32"


def test_the_manifest_records_what_auto_chose(tmp_path, monkeypatch):
    monkeypatch.setattr(fast, "cpu_has_native_bf16", lambda: True)
    folder = train(recipe_from_data(tiny_ring(tmp_path, steps=2, checkpoint_every=2, precision="auto")))
    assert json.loads((folder.path / "manifest.json").read_text())["precision"] == "bf16"


def shapes(tmp_path, **train_settings) -> dict:
    return {"name": "fast", "seed": 0, "data": {"type": "shapes", "size": 16, "length": 64},
            "models": {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 8},
                       "discriminator": {"type": "dcgan-discriminator", "width": 8}},
            "objective": "unconditional",
            "train": {"steps": 4, "batch_size": 8, "progress": False, "checkpoint_every": 2, "keep_checkpoints": 5,
                      "sample_every": 100, **train_settings},
            "output": {"dir": str(tmp_path / "run"), "trackers": []}}


def straight_and_resumed(tmp_path, recipe) -> tuple[dict, dict]:
    """The final weights of a run trained straight, and of the same run stopped after its first
    checkpoint and resumed."""
    straight = train(recipe_from_data(recipe(tmp_path))).checkpoints
    shutil.copytree(tmp_path / "run", tmp_path / "stopped")
    for later in list_checkpoints(tmp_path / "stopped" / "checkpoints")[1:]:
        shutil.rmtree(later)
    again = recipe(tmp_path)
    again["output"]["dir"] = str(tmp_path / "stopped")
    resumed = train(recipe_from_data(again), resume=True).checkpoints
    return load_checkpoint(list_checkpoints(straight)[-1])[0], load_checkpoint(list_checkpoints(resumed)[-1])[0]


def test_channels_last_trains_in_nhwc_and_resumes_bit_for_bit(tmp_path, monkeypatch):
    from ganforge.train.trainer import Trainer

    seen = []
    original = Trainer.train_step

    def watch(self, step, batches):
        first = next(batches)
        seen.append((first["x"].is_contiguous(memory_format=torch.channels_last),
                     all(p.is_contiguous(memory_format=torch.channels_last)
                         for p in self.run.nets["discriminator"].parameters() if p.dim() == 4)))
        return original(self, step, iter([first, *[next(batches) for _ in range(self.run.objective.d_steps - 1)]]))

    monkeypatch.setattr(Trainer, "train_step", watch)
    a, b = straight_and_resumed(tmp_path, lambda path: shapes(path, channels_last=True))
    assert seen and all(batch and weights for batch, weights in seen)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    plain = train(recipe_from_data({**shapes(tmp_path), "output": {"dir": str(tmp_path / "plain"), "trackers": []}}))
    c = load_checkpoint(list_checkpoints(plain.checkpoints)[-1])[0]
    assert all(torch.allclose(a[k].float(), c[k].float(), atol=1e-3) for k in a)  # the same training, other memory


@pytest.mark.slow
def test_a_compiled_run_resumes_bit_for_bit(tmp_path, capsys):
    pytest.importorskip("torch._inductor", reason="torch.compile needs inductor")
    a, b = straight_and_resumed(tmp_path, lambda path: tiny_ring(path, steps=4, checkpoint_every=2, compile=True))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert "train.compile: the first step took" in capsys.readouterr().out


@pytest.mark.slow
def test_a_compiled_run_takes_the_double_backward_of_r1_eagerly_and_trains_as_eager_does(tmp_path):
    """torch.compile cannot differentiate twice: R1 runs its nets eagerly (``twice_differentiable``)
    while the other passes stay compiled, so the compiled run trains to the eager run's weights."""
    pytest.importorskip("torch._inductor", reason="torch.compile needs inductor")

    def recipe(name: str, compile: bool) -> dict:
        data = tiny_ring(tmp_path / name, steps=3, checkpoint_every=3, compile=compile)
        return dict(data, losses={"adversarial": "non-saturating", "r1": {"type": "r1", "gamma": 10.0}})

    eager, compiled = (load_checkpoint(list_checkpoints(train(recipe_from_data(recipe(name, flag))).checkpoints)[-1])[0]
                       for name, flag in (("eager", False), ("compiled", True)))
    assert eager.keys() == compiled.keys()
    assert all(torch.allclose(eager[k], compiled[k], atol=1e-5) for k in eager)


def _compiled_r1_run(tmp_path, monkeypatch):
    """A compiled ring run with R1, compiled by aot_eager (no code generation: fast, and the same
    refusal of a double backward as inductor's)."""
    from ganforge.train import trainer

    monkeypatch.setattr(trainer, "compile_in_place", lambda nets: [net.compile(backend="aot_eager") for net in nets])
    data = tiny_ring(tmp_path, steps=3, checkpoint_every=3, compile=True)
    return recipe_from_data(dict(data, losses={"adversarial": "non-saturating", "r1": {"type": "r1", "gamma": 10.0}}))


def test_a_compiled_run_with_r1_on_a_torch_without_stances_says_to_upgrade_or_leave_compile_off(tmp_path, monkeypatch):
    """Before torch 2.6 a compiled net cannot be run eagerly, so R1's double backward fails: the
    error names the setting and both fixes instead of torch's 'aot_autograd' message."""
    from ganforge.errors import GanforgeError

    recipe = _compiled_r1_run(tmp_path, monkeypatch)
    monkeypatch.delattr(torch.compiler, "set_stance")
    with pytest.raises(GanforgeError, match=r"Upgrade torch to 2\.6 or later, or set train\.compile: false"):
        train(recipe)


def test_a_penalty_that_does_not_run_its_nets_eagerly_is_told_how_to(tmp_path, monkeypatch):
    """With stances, a plugin's penalty that forgets ``twice_differentiable`` gets told to wrap its
    pass in it (shown here by taking the wrapper out of R1)."""
    import contextlib

    from ganforge import losses
    from ganforge.errors import GanforgeError

    recipe = _compiled_r1_run(tmp_path, monkeypatch)
    monkeypatch.setattr(losses, "twice_differentiable", contextlib.nullcontext)
    with pytest.raises(GanforgeError, match=r"with ganforge\.sdk\.twice_differentiable\(\)"):
        train(recipe)
