"""StyleGAN2: the nets at tiny size, the game's regularisers and their schedules, exact resume,
and ``ganforge import stylegan2`` of rosinality and NVIDIA checkpoints with the references'
images (fixtures in tests/reference/, made by make_fixtures.py from the reference code)."""

from __future__ import annotations

import argparse
import os
import pickle
from pathlib import Path

import pytest
import torch

import ganforge
from ganforge.cli import main
from ganforge.errors import GanforgeError
from ganforge.importer import import_checkpoint
from ganforge_modern.examples import tiny_stylegan2
from ganforge_modern.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator, minibatch_stddev, upfirdn
from reference_weights import FIXTURES, latents, read_fixture, uniform, weights


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# ---------------------------------------------------------------- the nets

def test_generator_and_discriminator_shapes_and_styles():
    g = StyleGAN2Generator(16, channels=1, z_dim=8, w_dim=6, mapping_layers=2, channel_base=64, channel_max=8).eval()
    assert g.num_ws == 6  # 4 px: one layer; 8 and 16 px: two each; the last RGB takes one more
    z = torch.randn(3, 8)
    image, ws = g(z, return_styles=True)
    assert image.shape == (3, 1, 16, 16) and ws.shape == (3, 6, 6)
    assert image.min() >= -1 and image.max() <= 1
    mixed = g.styles(z, z_mix=torch.randn(3, 8), mix_from=4)
    assert torch.equal(mixed[:, :4], ws[:, :4]) and not torch.equal(mixed[:, 4:], ws[:, 4:])
    g.mapping.w_avg.fill_(0.5)
    assert torch.allclose(g.styles(z, psi=0.0), torch.full_like(ws, 0.5))  # psi 0: every w is the mean
    assert torch.allclose(g.styles(z, psi=torch.tensor([1.0, 1.0, 1.0])), ws)
    d = StyleGAN2Discriminator(16, channels=1, channel_base=64, channel_max=8)
    assert d(torch.randn(6, 1, 16, 16)).shape == (6,)
    assert d(torch.randn(5, 1, 16, 16)).shape == (5,)  # a batch that 4 does not divide: groups of 5


def test_a_resolution_that_is_not_a_power_of_two_is_a_located_error(tmp_path):
    recipe = tiny_stylegan2()
    recipe["data"]["size"] = 24
    (tmp_path / "r.yaml").write_text(__import__("yaml").safe_dump(recipe))
    assert main(["validate", str(tmp_path / "r.yaml")]) != 0
    recipe["data"]["size"] = 16
    recipe["models"]["generator"]["mapping_layers"] = 0
    (tmp_path / "r.yaml").write_text(__import__("yaml").safe_dump(recipe))
    assert main(["validate", str(tmp_path / "r.yaml")]) == 2


def test_resolution_error_message():
    with pytest.raises(GanforgeError, match="power of two .*the data's is 24"):
        StyleGAN2Generator(24)


def test_upfirdn_upsamples_a_constant_to_a_constant_and_the_stddev_channel():
    x = torch.ones(1, 2, 4, 4)
    from ganforge_modern.stylegan2 import fir_kernel

    up = upfirdn(x, fir_kernel(4.0), up=2, pad=(2, 1))
    assert up.shape == (1, 2, 8, 8) and torch.allclose(up[..., 2:-2, 2:-2], torch.ones(1, 2, 4, 4))
    same = torch.ones(4, 3, 2, 2)
    assert torch.allclose(minibatch_stddev(same)[:, 3], torch.full((4, 2, 2), 1e-4))  # sqrt(0 + 1e-8)


# ---------------------------------------------------------------- the game

def build(recipe: dict):
    from ganforge.build import build_run
    from ganforge.recipe import recipe_from_data

    return build_run(recipe_from_data(recipe).recipe)


def test_path_length_regulariser_is_lazy_and_tracks_its_mean():
    run = build(tiny_stylegan2())
    game, nets = run.objective, run.nets
    batch = {"x": torch.rand(4, 3, 16, 16) * 2 - 1}
    seen = []
    for step in range(4):
        run.ctx.clock.step = step
        _, logs = game.generator_loss(nets, batch)
        seen.append("g/path_length" in logs)
    assert seen == [True, False, True, False]  # path_length_every: 2
    assert float(game.path_length_mean) > 0
    assert "path_length_mean" in game.state_dict()


@pytest.mark.slow
def test_path_length_and_lazy_r1_differentiate_twice_through_compiled_nets(monkeypatch):
    """torch.compile cannot take a double backward: path length and R1 run the compiled nets
    eagerly (``twice_differentiable``), so a compiled run's losses and gradients are the eager ones."""
    inductor = pytest.importorskip("torch._inductor.config", reason="torch.compile needs inductor")
    monkeypatch.setattr(inductor, "fallback_random", True)  # the noise inputs drawn as eager draws them
    batch = {"x": torch.rand(4, 3, 16, 16) * 2 - 1}

    def losses_and_grads(compiled: bool):
        run = build(tiny_stylegan2())
        game, nets = run.objective, run.nets
        if compiled:
            for net in nets.values():
                net.compile()
        torch.manual_seed(1)
        g_loss, g_logs = game.generator_loss(nets, batch)
        d_loss, d_logs = game.discriminator_loss(nets, batch)
        (g_loss + d_loss).backward()
        assert "g/path_length" in g_logs and any("r1" in key for key in d_logs)
        return [g_loss.detach(), d_loss.detach()] + [p.grad.clone() for p in nets["generator"].parameters()
                                                     if p.grad is not None]

    for eager, compiled in zip(losses_and_grads(False), losses_and_grads(True), strict=True):
        assert torch.allclose(eager, compiled, rtol=1e-4, atol=1e-5)


def test_lazy_r1_is_added_on_its_discriminator_steps_only():
    run = build(tiny_stylegan2())
    batch = {"x": torch.rand(4, 3, 16, 16) * 2 - 1}
    due = []
    for d_step in range(4):
        run.ctx.clock.d_step = d_step
        _, logs = run.objective.discriminator_loss(run.nets, batch)
        due.append("d/r1" in logs)
    assert due == [True, False, True, False]


def test_stylegan2_trains_and_resumes_bit_for_bit(tmp_path):
    from ganforge.testing import check_resume

    check_resume(tiny_stylegan2(), tmp_path)


def test_truncation_is_psi_in_w(tmp_path):
    from ganforge.pipeline import train
    from ganforge.recipe import recipe_from_data

    recipe = tiny_stylegan2(steps=2)
    recipe["output"] = {"dir": str(tmp_path / "run"), "trackers": []}
    train(recipe_from_data(recipe))
    model = ganforge.load(tmp_path / "run")
    inputs = model.inputs(4, seed=1, truncation=0.5)
    assert torch.equal(inputs["psi"], torch.full((4,), 0.5))
    g = model.nets["generator"]
    assert torch.allclose(model.sample(4, seed=1, truncation=0.5), g(inputs["z"], psi=0.5))
    assert main(["sample", str(tmp_path / "run"), "--n", "4", "--truncation", "0.7", "--out", str(tmp_path / "s")]) == 0
    assert (tmp_path / "s" / "grid.png").is_file()


# ---------------------------------------------------------------- import

def rosinality_checkpoint(tmp_path: Path, with_latent_avg: bool = True) -> tuple[Path, dict, dict]:
    meta, outputs = read_fixture("rosinality_16px")
    state = weights([tuple(x) for x in meta["layout"]], meta["seed"], tuple(meta["near_one"]), tuple(meta["small"]))
    checkpoint = {"g_ema": state, "args": argparse.Namespace(size=16, latent=32, n_mlp=2)}
    if with_latent_avg:
        checkpoint["latent_avg"] = (0.3 * uniform(meta["style_dim"], meta["latent_avg_seed"])).float()
    path = tmp_path / "550000.pt"
    torch.save(checkpoint, path)
    return path, meta, outputs


def test_rosinality_checkpoints_give_the_references_images(tmp_path):
    path, meta, outputs = rosinality_checkpoint(tmp_path)
    run, imported = import_checkpoint("stylegan2", path, tmp_path / "run", {})
    assert "16 px, 3 channels, z 32, w 32, 2 mapping layers" in imported.notes[0]
    g = ganforge.load(run).nets["generator"]
    z, z_mix = latents(2, 32, meta["z_seed"]), latents(2, 32, meta["z_mix_seed"])
    with torch.no_grad():  # ganforge clamps to [-1, 1] when not training, as the references do when saving
        assert (g(z) - outputs["plain"].clamp(-1, 1)).abs().max() <= 1e-5
        assert (g(z, psi=meta["psi"]) - outputs["truncated"].clamp(-1, 1)).abs().max() <= 1e-5
        assert (g(z, z_mix=z_mix, mix_from=meta["inject_index"]) - outputs["mixed"].clamp(-1, 1)).abs().max() <= 1e-5
        g.train()  # unclamped, with the stored noise
        g.noise_mode = "const"
        assert (g(z) - outputs["plain"]).abs().max() <= 1e-5


def test_rosinality_without_latent_avg_centres_truncation_on_seeded_codes(tmp_path):
    path, meta, outputs = rosinality_checkpoint(tmp_path, with_latent_avg=False)
    run, imported = import_checkpoint("stylegan2", path, tmp_path / "run", {"mean_latent_samples": 512})
    assert any("mean w of 512 seeded z" in note for note in imported.notes)
    g = ganforge.load(run).nets["generator"]
    with torch.no_grad():
        expected = g.mapping(torch.randn(512, 32, generator=torch.Generator().manual_seed(0))).mean(0)
        assert torch.allclose(g.mapping.w_avg, expected, atol=1e-6)
        assert (g(latents(2, 32, meta["z_seed"])) - outputs["plain"].clamp(-1, 1)).abs().max() <= 1e-5


def test_nvidia_pickles_are_read_without_running_their_code(tmp_path):
    meta, outputs = read_fixture("nvidia_16px")
    pickle_file = FIXTURES / "nvidia_16px.pkl"
    assert b"must never run" in pickle_file.read_bytes()  # its classes' code raises if executed
    run, imported = import_checkpoint("stylegan2", pickle_file, tmp_path / "run", {})
    assert "conv_clamp 256" in imported.notes[0] and "read without running" in imported.notes[1]
    g = ganforge.load(run).nets["generator"]
    z = latents(2, 16, meta["z_seed"])
    with torch.no_grad():
        assert (g(z) - outputs["plain"].clamp(-1, 1)).abs().max() <= 1e-5
        assert (g(z, psi=meta["psi"]) - outputs["truncated"].clamp(-1, 1)).abs().max() <= 1e-5


class RunsCode:
    def __reduce__(self):
        return (os.system, ("touch /tmp/ganforge-pickle-ran",))


def test_a_pickle_with_anything_else_is_refused(tmp_path):
    evil = tmp_path / "network-snapshot-000000.pkl"
    evil.write_bytes(pickle.dumps({"G_ema": RunsCode()}))
    with pytest.raises(GanforgeError, match="refused: the pickle names posix.system"):
        import_checkpoint("stylegan2", evil, tmp_path / "run", {})
    assert not os.path.exists("/tmp/ganforge-pickle-ran")
    cut = tmp_path / "cut.pkl"
    cut.write_bytes((FIXTURES / "nvidia_16px.pkl").read_bytes()[:20000])
    with pytest.raises(GanforgeError, match="cannot be read as a network pickle"):
        import_checkpoint("stylegan2", cut, tmp_path / "run", {})
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"G": 1}))
    with pytest.raises(GanforgeError, match="has no G_ema net"):
        import_checkpoint("stylegan2", plain, tmp_path / "run", {})
    assert not (tmp_path / "run").exists()


def test_files_of_other_architectures_get_located_errors(tmp_path):
    torch.save({"model.1.weight": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(GanforgeError, match="not a rosinality StyleGAN2 checkpoint"):
        import_checkpoint("stylegan2", tmp_path / "other.pt", tmp_path / "run", {})
    path, _, _ = rosinality_checkpoint(tmp_path)
    checkpoint = torch.load(path, weights_only=False)
    del checkpoint["g_ema"]["convs.1.conv.weight"]
    torch.save(checkpoint, tmp_path / "missing.pt")
    with pytest.raises(GanforgeError, match="lacks 1 tensor.*generator.synthesis.layers.2.conv.weight"):
        import_checkpoint("stylegan2", tmp_path / "missing.pt", tmp_path / "run", {})


def test_an_imported_stylegan2_exports_to_onnx(tmp_path):
    pytest.importorskip("onnxruntime")
    run, _ = import_checkpoint("stylegan2", FIXTURES / "nvidia_16px.pkl", tmp_path / "run", {})
    assert main(["export", str(run), "--out", str(tmp_path / "g.onnx")]) == 0
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "s")]) == 0
