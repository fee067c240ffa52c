"""Seconds per training step of pix2pix and CycleGAN at 256 px: ganforge's trainer step against
a plain eager PyTorch loop over the same networks, losses and batches (the baseline, written
out below), in one process on one device.

The nets are those of ``recipes/pix2pix-facades.yaml`` (U-Net 256 + 70 px PatchGAN) and
``recipes/cyclegan-summer2winter.yaml`` (two 9-block ResNets + two 70 px PatchGANs); the data
is random 256 px image pairs held in memory, so no files are needed and data loading is not timed.

    python benchmarks/translation_speed.py --device cpu --steps 3
    python benchmarks/translation_speed.py --device cuda --steps 50 --batch-sizes 1 16
"""

from __future__ import annotations

import argparse
import itertools
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parent.parent


class RandomItems(torch.utils.data.Dataset):
    """Random images in [-1, 1] of the data's shape, with a source image for translation data;
    item i is the same every time."""

    def __init__(self, info, length: int):
        self.info, self.length = info, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        rng = torch.Generator().manual_seed(index)
        item = {"source": torch.rand(self.info.source_shape, generator=rng) * 2 - 1} if self.info.is_translation else {}
        return {**item, "x": torch.rand(self.info.shape, generator=rng) * 2 - 1}


def build(recipe: str, batch_size: int, device: str):
    """The recipe's nets, optimizers and objective on random 256 px pairs, wrapped in a Trainer."""
    from ganforge.build import build_run
    from ganforge.data.info import DataInfo
    from ganforge.recipe import load_recipe
    from ganforge.train.rundir import RunFolder
    from ganforge.train.trainer import Trainer

    overrides = [f"train.batch_size={batch_size}", f"train.device={device}", "eval.every=null", "output.trackers=[]"]
    loaded = load_recipe(REPO / "recipes" / f"{recipe}.yaml", overrides)
    info = DataInfo(shape=(3, 256, 256), source_shape=(3, 256, 256), paired=True)
    data = RandomItems(info, 4 * batch_size)
    run = build_run(loaded.recipe, data_info=info)
    run.data = run.ctx.data = run.objective.data = data
    return run, Trainer(run, RunFolder(Path("/tmp/ganforge-translation-speed")))


def ganforge_step(trainer, batch) -> None:
    """The trainer's own step (as ``Trainer.fit`` runs it) on a batch already in memory."""
    trainer.train_step(0, itertools.repeat(batch))


def plain_pix2pix_step(run, batch) -> None:
    """pix2pix as its reference code trains it: G forward, D step on the detached fake, G step."""
    g, d = run.nets["generator"], run.nets["discriminator"]
    opt_g, opt_d = run.optimizers["generator"], run.optimizers["discriminator"]
    source, real = batch["source"], batch["x"]
    fake = g(source)
    d.requires_grad_(True)
    opt_d.zero_grad(set_to_none=True)
    real_logits, fake_logits = d(real, source), d(fake.detach(), source)
    loss_d = 0.5 * (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                    + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    loss_d.backward()
    opt_d.step()
    d.requires_grad_(False)
    opt_g.zero_grad(set_to_none=True)
    logits = d(fake, source)
    loss_g = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits)) + 100 * F.l1_loss(fake, real)
    loss_g.backward()
    opt_g.step()


def plain_cyclegan_step(run, batch) -> None:
    """CycleGAN as its reference code trains it (without image pools): G step, then both D steps."""
    g, f, d_b, d_a = (run.nets[n] for n in ("g_ab", "g_ba", "d_b", "d_a"))
    opts = run.optimizers
    a, b = batch["source"], batch["x"]
    for d in (d_a, d_b):
        d.requires_grad_(False)
    opts["g_ab"].zero_grad(set_to_none=True)
    opts["g_ba"].zero_grad(set_to_none=True)
    fake_b, fake_a = g(a), f(b)
    mse = lambda x, target: F.mse_loss(x, torch.full_like(x, target))
    loss = (mse(d_b(fake_b), 1) + mse(d_a(fake_a), 1) + 10 * (F.l1_loss(f(fake_b), a) + F.l1_loss(g(fake_a), b))
            + 5 * (F.l1_loss(g(b), b) + F.l1_loss(f(a), a)))
    loss.backward()
    opts["g_ab"].step()
    opts["g_ba"].step()
    for d, real, fake, name in ((d_b, b, fake_b, "d_b"), (d_a, a, fake_a, "d_a")):
        d.requires_grad_(True)
        opts[name].zero_grad(set_to_none=True)
        (0.5 * (mse(d(real), 1) + mse(d(fake.detach()), 0))).backward()
        opts[name].step()


def timed(step, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def paired_seconds(baseline, ours, steps: int, warmup: int, device: torch.device) -> tuple[float, float]:
    """Median seconds per step of each, their steps interleaved (baseline, ours, baseline, ...) so
    that a machine getting slower or faster during the run weighs on both alike."""
    for _ in range(warmup):
        baseline()
        ours()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(steps):
        times[0].append(timed(baseline, device))
        times[1].append(timed(ours, device))
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1])
    parser.add_argument("--games", nargs="+", default=["pix2pix", "cyclegan"], choices=["pix2pix", "cyclegan"])
    args = parser.parse_args()
    device = torch.device(args.device)
    recipes = {"pix2pix": ("pix2pix-facades", plain_pix2pix_step), "cyclegan": ("cyclegan-summer2winter", plain_cyclegan_step)}
    print(f"# translation training steps at 256 px on {device} ({platform.machine()}, {torch.get_num_threads()} "
          f"threads), torch {torch.__version__}, median of {args.steps} interleaved steps after {args.warmup} warm-up")
    print(f"{'game':<10} {'batch':>5} {'plain s/step':>13} {'ganforge s/step':>16} {'ratio':>7} {'images/s':>9}")
    for game in args.games:
        recipe, plain = recipes[game]
        for batch_size in args.batch_sizes:
            run, trainer = build(recipe, batch_size, args.device)
            batch = next(trainer.stream)
            baseline, ours = paired_seconds(lambda: plain(run, batch), lambda: ganforge_step(trainer, batch),
                                            args.steps, args.warmup, device)
            print(f"{game:<10} {batch_size:>5} {baseline:>13.3f} {ours:>16.3f} {baseline / ours:>6.2f}x "
                  f"{batch_size / ours:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
