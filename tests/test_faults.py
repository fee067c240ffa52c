"""Faults lose nothing: SIGKILL at random steps, corrupt checkpoints, NaN losses, a full disk,
an unwritable folder and out-of-memory errors."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from conftest import REPO, tiny_ring, write_recipe
from ganforge.pipeline import train
from ganforge.recipe import recipe_from_data
from ganforge.train.checkpoint import list_checkpoints


def run_training(recipe: dict, tmp_path, registry, resume: bool = False, name: str = "recipe.yaml"):
    from ganforge.pipeline import train
    from ganforge.recipe import load_recipe

    return train(load_recipe(write_recipe(tmp_path / name, recipe)), resume=resume, registry=registry)


def tensors_equal(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def final_weights(folder, step: int) -> tuple[dict, dict]:
    path = folder / "checkpoints" / f"step_{step:08d}"
    return load_file(path / "nets.safetensors"), load_file(path / "ema.safetensors")


# ---------------------------------------------------------------- SIGKILL

def busy_ring(out, steps: int) -> dict:
    """Slow enough per step (a few ms) for a kill to land mid-run."""
    recipe = tiny_ring(out, steps=steps, checkpoint_every=7, log_every=1, sample_every=1000, batch_size=256,
                       ema={"decay": 0.9})
    recipe["models"]["generator"].update(width=128, depth=3)
    recipe["models"]["discriminator"].update(width=128, depth=3)
    recipe["optim"]["generator"]["schedule"] = {"type": "linear-decay", "start": 0.5}
    return recipe


def last_logged_step(metrics) -> int:
    if not metrics.is_file():
        return 0
    steps = [0]
    for line in metrics.read_text().splitlines():
        try:
            steps.append(json.loads(line)["step"])
        except (ValueError, KeyError):
            pass  # a torn line
    return max(steps)


@pytest.mark.slow
def test_sigkill_at_random_steps_then_resume_is_bitwise_identical(tmp_path, registry):
    steps = 150
    reference = run_training(busy_ring(tmp_path / "ref", steps), tmp_path / "ref", registry)

    recipe = write_recipe(tmp_path / "killed" / "recipe.yaml", busy_ring(tmp_path / "killed", steps))
    metrics = tmp_path / "killed" / "run" / "metrics.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    kills = sorted(random.Random(7).sample(range(10, steps - 20), 3))
    killed_at = []
    for attempt, target in enumerate(kills):
        command = [sys.executable, "-m", "ganforge", "train", str(recipe)] + (["--resume"] if attempt else [])
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while process.poll() is None and last_logged_step(metrics) < target:
            time.sleep(0.002)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()[-2000:]
        killed_at.append(last_logged_step(metrics))
    finish = subprocess.run([sys.executable, "-m", "ganforge", "train", str(recipe), "--resume"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert finish.returncode == 0, finish.stderr[-2000:]
    assert all(0 < step < steps for step in killed_at)

    nets, ema = final_weights(tmp_path / "killed" / "run", steps)
    ref_nets, ref_ema = final_weights(reference.path, steps)
    assert tensors_equal(nets, ref_nets) and tensors_equal(ema, ref_ema)
    logged = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    assert logged == list(range(1, steps + 1))  # no duplicated or missing records after the kills


# ---------------------------------------------------------------- corrupt checkpoints

def test_checkpoints_carry_checksums_that_catch_damage(tmp_path, registry):
    from ganforge.errors import RunFolderError
    from ganforge.train.checkpoint import find_checkpoint, verify_checkpoint

    folder = run_training(tiny_ring(tmp_path, steps=20), tmp_path, registry)
    latest = folder.checkpoints / "step_00000020"
    sums = json.loads((latest / "checksums.json").read_text())
    assert set(sums) == {"nets.safetensors", "state.pt"} and verify_checkpoint(latest) is None

    data = bytearray((latest / "state.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (latest / "state.pt").write_bytes(bytes(data))
    assert "state.pt does not match its checksum" in verify_checkpoint(latest)
    with pytest.raises(RunFolderError, match="is corrupt: state.pt does not match"):
        find_checkpoint(latest)
    warnings = []
    assert find_checkpoint(folder.path, warn=warnings.append) == folder.checkpoints / "step_00000010"
    assert "step_00000020 is corrupt" in warnings[0]


def test_resume_skips_a_truncated_latest_checkpoint(tmp_path, registry, capsys):
    reference = run_training(tiny_ring(tmp_path / "ref", steps=30), tmp_path / "ref", registry)
    recipe = tiny_ring(tmp_path, steps=20)
    folder = run_training(recipe, tmp_path, registry)
    nets = folder.checkpoints / "step_00000020" / "nets.safetensors"
    nets.write_bytes(nets.read_bytes()[: nets.stat().st_size // 2])

    recipe["train"]["steps"] = 30
    run_training(recipe, tmp_path, registry, resume=True)
    err = capsys.readouterr().err
    assert "step_00000020 is corrupt: nets.safetensors does not match its checksum" in err
    assert (folder.checkpoints / "corrupt_step_00000020").is_dir()  # kept for inspection, not resumed from
    a = load_file(folder.checkpoints / "step_00000030" / "nets.safetensors")
    b = load_file(reference.checkpoints / "step_00000030" / "nets.safetensors")
    assert tensors_equal(a, b)


def test_every_checkpoint_corrupt_is_a_clear_error(tmp_path, registry):
    from ganforge.errors import RunFolderError

    recipe = tiny_ring(tmp_path, steps=20)
    folder = run_training(recipe, tmp_path, registry)
    for path in folder.checkpoints.glob("step_*"):
        (path / "checksums.json").unlink()
    with pytest.raises(RunFolderError, match="every checkpoint .* is corrupt"):
        run_training(recipe, tmp_path, registry, resume=True)


# ---------------------------------------------------------------- NaN losses

def poison_losses(monkeypatch, at_calls):
    """Make the logged generator loss NaN on the given calls of a generator phase."""
    from ganforge.train.trainer import Trainer

    original, calls = Trainer.phase, {"g": 0}

    def phase(self, names, loss_fn, batch, generated=None):
        logs = original(self, names, loss_fn, batch, generated)
        if names == self.run.objective.generators:
            calls["g"] += 1
            if at_calls(calls["g"]):
                logs = {**logs, "g/loss": torch.tensor(float("nan"))}
        return logs

    monkeypatch.setattr(Trainer, "phase", phase)


def test_nan_loss_stops_naming_the_step_and_the_loss(tmp_path, registry, monkeypatch):
    from ganforge.train.trainer import NonFiniteLoss

    poison_losses(monkeypatch, lambda n: n == 13)
    with pytest.raises(NonFiniteLoss, match=r"g/loss became nan by step 15.*last good checkpoint is .*step_00000010"):
        run_training(tiny_ring(tmp_path, steps=20), tmp_path, registry)


def test_nan_rollback_lowers_the_learning_rate_and_finishes(tmp_path, registry, monkeypatch, capsys):
    poison_losses(monkeypatch, lambda n: n == 13)
    recipe = tiny_ring(tmp_path, steps=20)
    recipe["train"]["nan_rollback"] = {"lr_factor": 0.25}
    folder = run_training(recipe, tmp_path, registry)
    records = [json.loads(line) for line in folder.metrics_file.read_text().splitlines()]
    events = [r for r in records if r.get("event") == "nan-rollback"]
    assert events == [{"step": 10, "event": "nan-rollback", "from_step": 15, "error": "g/loss became nan by step 15",
                       "lr_scale": 0.25, "rollback": 1}]
    assert [r["step"] for r in records if "event" not in r] == [5, 10, 15, 20]
    state = torch.load(folder.checkpoints / "step_00000020" / "state.pt", weights_only=True)
    assert state["lr_scale"] == 0.25 and state["rollbacks"] == 1
    assert state["optimizers"]["generator"]["param_groups"][0]["lr"] == pytest.approx(1e-3 * 0.25)
    assert "rolled back to step 10" in capsys.readouterr().err


def test_nan_rollback_gives_up_after_max_rollbacks(tmp_path, registry, monkeypatch):
    from ganforge.train.trainer import NonFiniteLoss

    poison_losses(monkeypatch, lambda n: n >= 13)
    recipe = tiny_ring(tmp_path, steps=20)
    recipe["train"]["nan_rollback"] = {"max_rollbacks": 2}
    with pytest.raises(NonFiniteLoss):
        run_training(recipe, tmp_path, registry)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["lr_scale"] for r in records if r.get("event")] == [0.5, 0.25]


# ---------------------------------------------------------------- full disk, unwritable folder, OOM

def test_a_full_disk_says_what_to_do(tmp_path, registry, monkeypatch):
    from ganforge.errors import RunFolderError
    import ganforge.train.trainer as trainer

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(trainer, "save_checkpoint", full)
    with pytest.raises(RunFolderError, match="disk is full: could not write checkpoint step 10.*--resume"):
        run_training(tiny_ring(tmp_path, steps=20), tmp_path, registry)


def test_an_unwritable_folder_says_what_to_do(tmp_path, registry, monkeypatch):
    from ganforge.errors import RunFolderError
    from ganforge.train.rundir import RunFolder

    def refuse(self, record):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(RunFolder, "log", refuse)
    with pytest.raises(RunFolderError, match="cannot write metrics.jsonl .*Permission denied.*output.dir"):
        run_training(tiny_ring(tmp_path, steps=20), tmp_path, registry)


def test_out_of_memory_suggests_a_smaller_batch(tmp_path, registry, monkeypatch):
    from ganforge.train.trainer import OutOfMemory, Trainer

    def oom(self, names, loss_fn, batch, generated=None):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(Trainer, "phase", oom)
    with pytest.raises(OutOfMemory, match=r"ran out of memory at step 1 with train.batch_size 50.*batch_size=25"):
        run_training(tiny_ring(tmp_path, steps=20), tmp_path, registry)


# ---------------------------------------------------------------- safe loading

def test_recipes_cannot_run_code_or_name_import_paths(tmp_path, registry):
    from ganforge.recipe import load_recipe
    from ganforge.recipe.errors import RecipeError

    marker = tmp_path / "ran"
    evil = write_recipe(tmp_path / "evil.yaml", f'name: x\nseed: !!python/object/apply:os.system ["touch {marker}"]\n')
    with pytest.raises(RecipeError):
        load_recipe(evil)
    assert not marker.exists()
    recipe = tiny_ring(tmp_path)
    recipe["data"] = {"type": "os:system"}
    with pytest.raises(RecipeError, match="unknown type 'os:system'"):
        load_recipe(write_recipe(tmp_path / "import.yaml", recipe))


def test_checkpoint_state_with_arbitrary_objects_is_refused(tmp_path, registry):
    import argparse

    from ganforge.errors import RunFolderError
    from ganforge.train.checkpoint import load_checkpoint

    folder = run_training(tiny_ring(tmp_path, steps=10), tmp_path, registry)
    latest = folder.checkpoints / "step_00000010"
    torch.save({"step": 10, "payload": argparse.Namespace(run="code")}, latest / "state.pt")
    with pytest.raises(RunFolderError, match="cannot be read"):
        load_checkpoint(latest)


def test_objective_state_such_as_an_image_pool_is_checkpointed(tmp_path, registry, monkeypatch):
    from ganforge_classic.objectives import Unconditional

    original = Unconditional.generator_loss

    def generator_loss(self, nets, batch, generated=None):  # a stand-in history pool of the last 15 items seen
        self.pool = torch.cat([getattr(self, "pool", torch.zeros(0, 2)), batch["x"][:1]])[-15:]
        return original(self, nets, batch, generated)

    monkeypatch.setattr(Unconditional, "generator_loss", generator_loss)
    monkeypatch.setattr(Unconditional, "state_dict", lambda self: {"pool": self.pool.clone()})
    monkeypatch.setattr(Unconditional, "load_state_dict", lambda self, state: setattr(self, "pool", state["pool"]))
    straight = run_training(tiny_ring(tmp_path / "a", steps=20), tmp_path / "a", registry)
    recipe = tiny_ring(tmp_path / "b", steps=10)
    run_training(recipe, tmp_path / "b", registry)
    recipe["train"]["steps"] = 20
    resumed = run_training(recipe, tmp_path / "b", registry, resume=True)
    states = [torch.load(f.checkpoints / "step_00000020" / "state.pt", weights_only=True)["objective"]["pool"]
              for f in (straight, resumed)]
    assert states[0].shape == (15, 2) and torch.equal(states[0], states[1])


# ---------------------------------------------------------------- non-finite weights, failures after step 0

def test_non_finite_weights_with_finite_losses_stop_the_run_and_are_never_checkpointed(tmp_path, registry, monkeypatch):
    """Batch-norm statistics can overflow while every logged loss stays finite (a learning rate of
    1e12 did it): the weights themselves are checked, and no checkpoint holds them."""
    from ganforge.train.trainer import NonFiniteLoss, Trainer

    original = Trainer.train_step

    def overflowing(self, step, batches):
        logs = original(self, step, batches)
        if step + 1 == 7:  # after step 7: a running variance of the generator overflows
            bn = next(m for m in self.run.nets["generator"].modules() if isinstance(m, torch.nn.BatchNorm1d))
            bn.running_var.fill_(float("inf"))
        return logs

    monkeypatch.setattr(Trainer, "train_step", overflowing)
    with pytest.raises(NonFiniteLoss, match=r"tensor\(s\) became NaN or infinite \(generator\..*running_var.*\) while "
                                            r"the logged losses stayed finite by step 10.*step_00000005"):
        run_training(tiny_ring(tmp_path, steps=20, checkpoint_every=5, log_every=5), tmp_path, registry)
    saved = list_checkpoints(tmp_path / "run" / "checkpoints")
    assert [p.name for p in saved] == ["step_00000005"]


@pytest.mark.parametrize("failing", ["evaluation", "tracker"])
def test_a_failure_after_a_step_saves_a_checkpoint_first(tmp_path, registry, monkeypatch, failing):
    """An evaluation or a tracker that fails mid-run loses nothing: the state after the step is
    checkpointed, the error says where, and --resume finishes the run."""
    from ganforge.errors import GanforgeError
    from ganforge.train.trainer import Trainer

    recipe = tiny_ring(tmp_path, steps=20, checkpoint_every=100, log_every=5)
    if failing == "evaluation":
        recipe["eval"] = {"every": 6, "metrics": [{"type": "mode-coverage", "samples": 50}]}
        monkeypatch.setattr(Trainer, "evaluate", lambda self, step: (_ for _ in ()).throw(RuntimeError("no memory left")))
        step, what = 6, "drawing samples or evaluating"
    else:
        class Broken:
            def log_scalars(self, step, values):
                if step >= 10:
                    raise OSError("the tracking server went away")

        original = Trainer.__init__
        monkeypatch.setattr(Trainer, "__init__", lambda self, run, folder, trackers=(), **kw: original(
            self, run, folder, [Broken()], **kw))
        step, what = 10, "the Broken tracker"
    with pytest.raises(GanforgeError, match=rf"{what} failed at step {step}: .*Nothing learned is lost: the run's "
                                            rf"state at step {step} is in .*step_{step:08d}; .*--resume"):
        run_training(recipe, tmp_path, registry)
    assert (tmp_path / "run" / "checkpoints" / f"step_{step:08d}" / "state.pt").is_file()
    monkeypatch.undo()
    folder = train(recipe_from_data(recipe, registry), registry=registry, resume=True)
    assert (folder.checkpoints / "step_00000020").is_dir()


def test_a_full_disk_while_checkpointing_names_the_bytes_and_leaves_no_half_checkpoint(tmp_path, registry,
                                                                                         monkeypatch):
    import errno

    from ganforge.errors import RunFolderError
    from ganforge.train import checkpoint as checkpoints

    original, calls = checkpoints.atomic_write_bytes, {"n": 0}

    def full_after_a_while(path, data):
        calls["n"] += 1
        if "step_00000010" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(path, data)

    monkeypatch.setattr(checkpoints, "atomic_write_bytes", full_after_a_while)
    with pytest.raises(RunFolderError, match=r"the disk is full: could not write checkpoint step 10 .*it needs about "
                                             r"[\d.]+ MiB and [\d.]+ MiB are free.*checkpoints written before are intact"):
        run_training(tiny_ring(tmp_path, steps=20, checkpoint_every=5), tmp_path, registry)
    folder = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == ["step_00000005"], "no temporary or half checkpoint is left"


# ---------------------------------------------------------------- one writer, and resume that says what it does

def test_a_second_writer_is_refused_naming_the_first_and_a_killed_ones_lock_is_taken_over(tmp_path):
    recipe = busy_ring(tmp_path, steps=100000)
    path = write_recipe(tmp_path / "busy.yaml", recipe)
    command = [sys.executable, "-m", "ganforge", "train", str(path), "--no-preflight"]
    first = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while not list_checkpoints(tmp_path / "run" / "checkpoints") and time.time() < deadline:
            time.sleep(0.2)
        second = subprocess.run(command + ["--resume"], cwd=REPO, capture_output=True, text=True)
        assert second.returncode == 1
        assert f"is in use by another ganforge process (pid {first.pid} on" in second.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    recipe["train"]["steps"] = 14
    write_recipe(path, recipe)
    third = subprocess.run(command + ["--resume", "--reschedule"], cwd=REPO, capture_output=True, text=True)
    assert third.returncode == 0, third.stderr
    assert f"took over the run folder's lock from pid {first.pid}" in third.stderr
    assert "resumed from step " in third.stderr and " of 14 (checkpoint " in third.stderr


def test_a_changed_train_steps_keeps_a_decaying_schedule_unless_asked_to_reschedule(tmp_path, registry):
    from ganforge.errors import RunFolderError

    recipe = tiny_ring(tmp_path, steps=10, checkpoint_every=5)
    recipe["optim"]["generator"]["schedule"] = {"type": "linear-decay", "start": 0.5}
    run_training(recipe, tmp_path, registry)
    longer = dict(recipe, train={**recipe["train"], "steps": 20})
    with pytest.raises(RunFolderError, match=r"train.steps changed from 10 to 20, and generator \(linear-decay\) "
                                             r"move over train.steps.*--reschedule"):
        run_training(longer, tmp_path, registry, resume=True)
    from ganforge.pipeline import train
    from ganforge.recipe import load_recipe

    folder = train(load_recipe(tmp_path / "recipe.yaml"), resume=True, registry=registry, reschedule=True)
    assert (folder.checkpoints / "step_00000020").is_dir()


# ---------------------------------------------------------------- SIGKILL, every game with state

def game_recipe(out, game: str) -> dict:
    """A few-second run of a game that keeps state between steps: CycleGAN's image pools,
    pix2pixHD's coarse-to-fine stage, the semi-supervised game's labelled draws, InfoGAN's codes."""
    train = {"steps": 30, "checkpoint_every": 3, "log_every": 1, "sample_every": 1000, "keep_checkpoints": 20,
             "progress": False, "device": "cpu"}
    if game in ("cyclegan", "pix2pixhd"):
        overrides = {"cyclegan": {"data": {"type": "shapes-recolor", "size": 16, "length": 64},
                                  "models": {"g_ab": {"type": "resnet-generator", "blocks": 1, "width": 4},
                                             "g_ba": {"type": "resnet-generator", "blocks": 1, "width": 4,
                                                      "reverse": True},
                                             "d_b": {"type": "patchgan-discriminator", "receptive_field": 16,
                                                     "width": 4, "norm": "instance"},
                                             "d_a": {"type": "patchgan-discriminator", "receptive_field": 16,
                                                     "width": 4, "norm": "instance", "domain": "source"}},
                                  "objective": {"type": "cyclegan", "pool_size": 5}},
                     "pix2pixhd": {"data": {"type": "shapes-edges", "size": 32, "length": 64},
                                   "models": {"generator": {"type": "pix2pixhd-generator", "width": 4,
                                                            "global_downsamplings": 2, "global_blocks": 1,
                                                            "local_blocks": 1},
                                              "discriminator": {"type": "multiscale-discriminator", "scales": 2,
                                                                "receptive_field": 16, "width": 4,
                                                                "conditional": True}},
                                   "objective": {"type": "pix2pixhd", "coarse_steps": 10, "freeze_global_steps": 5,
                                                 "perceptual_weight": 0}}}[game]
        return {"name": game, "seed": 1, **overrides, "train": {**train, "batch_size": 2},
                "output": {"dir": str(out / "run"), "trackers": []}}
    recipe = tiny_ring(out, **train)
    recipe["train"]["batch_size"] = 32
    if game == "semi-supervised":
        recipe["models"]["discriminator"]["aux_outputs"] = 8
        recipe["objective"] = {"type": "semi-supervised", "labels": 16, "labelled_batch": 8}
    else:  # infogan: noise, one 4-way categorical code and one continuous code
        recipe["models"]["generator"]["z_dim"] = 7
        recipe["models"]["discriminator"]["aux_outputs"] = 5
        recipe["objective"] = {"type": "infogan", "categorical": [4], "continuous": 1}
    return recipe


@pytest.mark.slow
@pytest.mark.parametrize("game", ["cyclegan", "pix2pixhd", "semi-supervised", "infogan"])
def test_every_game_with_state_resumes_bitwise_after_a_sigkill(tmp_path, registry, game):
    steps = 30
    reference = run_training(game_recipe(tmp_path / "ref", game), tmp_path / "ref", registry)
    recipe = write_recipe(tmp_path / "killed" / "recipe.yaml", game_recipe(tmp_path / "killed", game))
    metrics = tmp_path / "killed" / "run" / "metrics.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    target = random.Random(game).randrange(8, 20)
    first = subprocess.Popen([sys.executable, "-m", "ganforge", "train", str(recipe), "--no-preflight"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while first.poll() is None and last_logged_step(metrics) < target:
        time.sleep(0.002)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL, first.stderr.read().decode()[-2000:]
    finish = subprocess.run([sys.executable, "-m", "ganforge", "train", str(recipe), "--resume", "--no-preflight"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert finish.returncode == 0, finish.stderr[-2000:]
    killed = load_file(tmp_path / "killed" / "run" / "checkpoints" / f"step_{steps:08d}" / "nets.safetensors")
    straight = load_file(reference.checkpoints / f"step_{steps:08d}" / "nets.safetensors")
    assert tensors_equal(killed, straight)
    logged = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    assert logged == list(range(1, steps + 1))


def test_skipped_checkpoints_are_always_named_on_resume_and_in_eval(tmp_path, registry, capsys):
    from ganforge.pipeline import evaluate_checkpoint

    recipe = tiny_ring(tmp_path, steps=12, checkpoint_every=4, keep_checkpoints=5)
    recipe["eval"] = {"metrics": [{"type": "mode-coverage", "samples": 50}]}
    run_training(recipe, tmp_path, registry)
    checkpoints = tmp_path / "run" / "checkpoints"
    (checkpoints / "step_00000012" / "nets.safetensors").write_bytes(b"damaged")  # corrupt
    (checkpoints / "step_00000008" / "state.pt").unlink()  # incomplete
    capsys.readouterr()
    record = evaluate_checkpoint(tmp_path / "run", registry=registry)
    err = capsys.readouterr().err
    assert record["step"] == 4
    assert "step_00000012 is corrupt" in err and "step_00000008 is incomplete (state.pt missing)" in err
    recipe["train"]["steps"] = 12
    run_training(recipe, tmp_path, registry, resume=True)
    err = capsys.readouterr().err
    assert "step_00000008 is incomplete (state.pt missing)" in err and "resumed from step 4 of 12" in err
