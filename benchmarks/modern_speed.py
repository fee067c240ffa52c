"""Seconds per training step of StyleGAN2 and R3GAN: ganforge's trainer step against a plain
eager PyTorch loop over the same nets, optimizers and batches (the baseline, written out below),
in one process on one device.

The nets are those of ``recipes/stylegan2-cifar10-cpu.yaml`` (non-saturating loss, R1 every 16
D steps) and ``recipes/r3gan-cifar10-cpu.yaml`` (RpGAN + R1 + R2 every 4 D steps), without
augmentation; the data is random 32 px images held in memory. Each timed unit is a cycle of 16
steps, so the lazy regularisers weigh in as often in both loops.

    python benchmarks/modern_speed.py --steps 2
    python benchmarks/modern_speed.py --device cuda --steps 5 --set train.batch_size=64
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from translation_speed import RandomItems, paired_seconds

REPO = Path(__file__).resolve().parent.parent
CYCLE = 16


def build(recipe: str, device: str, extra: list[str]):
    from ganforge.build import build_run
    from ganforge.data.info import DataInfo
    from ganforge.recipe import load_recipe
    from ganforge.train.rundir import RunFolder
    from ganforge.train.trainer import Trainer

    overrides = [f"train.device={device}", "train.augment=null", "eval.every=null", "output.trackers=[]", *extra]
    loaded = load_recipe(REPO / "recipes" / f"{recipe}.yaml", overrides)
    info = DataInfo(shape=(3, 32, 32))
    data = RandomItems(info, 4 * loaded.recipe.train.batch_size)
    run = build_run(loaded.recipe, data_info=info)
    run.data = run.ctx.data = data
    return run, Trainer(run, RunFolder(Path("/tmp/ganforge-modern-speed")))


def penalty(d, x: torch.Tensor) -> torch.Tensor:
    """|grad D(x)|^2 per image, differentiable."""
    x = x.detach().requires_grad_(True)
    grad, = torch.autograd.grad(d(x).sum(), x, create_graph=True)
    return grad.square().sum([1, 2, 3])


def gamma_and_every(run, loss: str, step: int) -> tuple[float, int]:
    """A regulariser's gamma at ``step`` (it may be a ramp over the run) and its interval."""
    from ganforge.objective import Clock
    from ganforge.ramp import value_at

    settings = run.recipe.losses[loss]
    return value_at(settings.gamma, Clock(step=step, total_steps=run.recipe.train.steps)), settings.every


def plain_stylegan2_step(run, real: torch.Tensor, step: int) -> None:
    """StyleGAN2 (no mixing, no path length, as the CIFAR-10 configuration): D step with lazy R1, G step."""
    g, d = run.nets["generator"], run.nets["discriminator"]
    opt_g, opt_d = run.optimizers["generator"], run.optimizers["discriminator"]
    gamma, every = gamma_and_every(run, "r1", step)
    z = torch.randn(len(real), g.z_dim, device=real.device)
    fake = g(z)
    d.requires_grad_(True)
    opt_d.zero_grad(set_to_none=True)
    loss = F.softplus(d(fake.detach())).mean() + F.softplus(-d(real)).mean()
    if step % every == 0:
        loss = loss + every * gamma / 2 * penalty(d, real).mean()
    loss.backward()
    opt_d.step()
    d.requires_grad_(False)
    opt_g.zero_grad(set_to_none=True)
    F.softplus(-d(fake)).mean().backward()
    opt_g.step()


def plain_r3gan_step(run, real: torch.Tensor, step: int) -> None:
    """R3GAN: D step with RpGAN and lazy R1 + R2, then G step with RpGAN."""
    g, d = run.nets["generator"], run.nets["discriminator"]
    opt_g, opt_d = run.optimizers["generator"], run.optimizers["discriminator"]
    gamma, every = gamma_and_every(run, "r1", step)
    fake = g(torch.randn(len(real), g.z_dim, device=real.device))
    d.requires_grad_(True)
    opt_d.zero_grad(set_to_none=True)
    loss = F.softplus(-(d(real) - d(fake.detach()))).mean()
    if step % every == 0:
        loss = loss + every * gamma / 2 * (penalty(d, real) + penalty(d, fake)).mean()
    loss.backward()
    opt_d.step()
    d.requires_grad_(False)
    opt_g.zero_grad(set_to_none=True)
    F.softplus(-(d(fake) - d(real))).mean().backward()
    opt_g.step()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=2, help="timed cycles of 16 steps per game")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe overrides for both")
    args = parser.parse_args()
    device = torch.device(args.device)
    games = {"stylegan2": ("stylegan2-cifar10-cpu", plain_stylegan2_step), "r3gan": ("r3gan-cifar10-cpu", plain_r3gan_step)}
    print(f"# StyleGAN2 and R3GAN training steps at 32 px on {device} ({platform.machine()}, {torch.get_num_threads()} "
          f"threads), torch {torch.__version__}; median of {args.steps} interleaved cycles of {CYCLE} steps")
    print(f"{'game':<10} {'batch':>5} {'plain s/step':>13} {'ganforge s/step':>16} {'ratio':>7}")
    for game, (recipe, plain) in games.items():
        run, trainer = build(recipe, args.device, args.set)
        batch = next(trainer.stream)

        def baseline():
            for step in range(CYCLE):
                plain(run, batch["x"], step)

        def ours():
            for step in range(CYCLE):
                trainer.train_step(step, iter([batch] * run.objective.d_steps))

        plain_time, ours_time = paired_seconds(baseline, ours, args.steps, args.warmup, device)
        print(f"{game:<10} {len(batch['x']):>5} {plain_time / CYCLE:>13.3f} {ours_time / CYCLE:>16.3f} "
              f"{plain_time / ours_time:>6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
