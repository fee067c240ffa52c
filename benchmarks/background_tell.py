"""How much of a discriminator's margin comes from the data's flat background.

MNIST's background is exactly -1; a generator whose image layer is unbounded draws it as -1
plus noise. For each checkpoint this prints the generator's background (pixels below -0.5: their
mean and spread, and the share of values outside [-1, 1]) and the discriminator's mean logit on

- real images, and real images with N(0, 0.13) noise added to their background;
- generated images, and the same images with their background (pixels below -0.8) set to -1.

If the discriminator reads the background, noise lowers the reals' logit and a clean background
raises the fakes'. The numbers of docs/results.md (R3GAN on Stacked MNIST) come from

    uv run python benchmarks/background_tell.py \\
        runs/bench/r3gan-stacked-mnist/r3gan-cpu-gamma1/seed0/checkpoints/step_00004000 \\
        runs/bench/r3gan-stacked-mnist/r3gan-cpu-gamma1-tanh/seed0/checkpoints/step_00004000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch


def measure(checkpoint: Path, n: int, noise: float, seed: int) -> dict[str, float]:
    from ganforge.pipeline import load_weights, rebuild_run
    from ganforge.train.checkpoint import find_checkpoint
    from ganforge.train.rundir import RunFolder

    checkpoint = find_checkpoint(checkpoint)
    folder = RunFolder(checkpoint.parent.parent)
    run = rebuild_run(folder, folder.read_recipe(), with_data=True)
    load_weights(run, checkpoint, use_ema=False)
    generator, discriminator = run.nets["generator"].train(), run.nets["discriminator"].eval()  # G as D sees it
    generator_seed, data = torch.Generator().manual_seed(seed), run.ctx.build("data", run.recipe.data)
    reals = torch.stack([data[int(i)]["x"] for i in torch.randint(len(data), (n,), generator=generator_seed)])
    with torch.no_grad():
        fakes = generator(torch.randn(n, generator.z_dim, generator=generator_seed))
        background = reals < -0.99
        noisy = reals.clone()
        noisy[background] += noise * torch.randn(int(background.sum()), generator=generator_seed)
        cleaned = fakes.where(fakes >= -0.8, torch.tensor(-1.0))
        logit = {name: discriminator(images).mean().item()
                 for name, images in (("real", reals), ("real_noisy", noisy), ("fake", fakes), ("fake_clean", cleaned))}
    drawn = fakes[fakes < -0.5]
    return {**logit, "bg_mean": drawn.mean().item(), "bg_std": drawn.std().item(),
            "outside": (fakes.abs() > 1).float().mean().item()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", type=Path, nargs="+", help="checkpoint folders of image runs with G and D")
    parser.add_argument("--n", type=int, default=512, help="images of each kind")
    parser.add_argument("--noise", type=float, default=0.13, help="spread of the noise added to real backgrounds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("| checkpoint | G's background (mean +- sd) | outside [-1, 1] | D(real) | with noisy background | "
          "D(fake) | with clean background | margin | noise costs | cleaning gains |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for checkpoint in args.checkpoints:
        m = measure(checkpoint, args.n, args.noise, args.seed)
        margin = m["real"] - m["fake"]
        print(f"| {checkpoint} | {m['bg_mean']:.3f} +- {m['bg_std']:.3f} | {m['outside']:.1%} | {m['real']:.2f} | "
              f"{m['real_noisy']:.2f} | {m['fake']:.2f} | {m['fake_clean']:.2f} | {margin:.2f} | "
              f"{(m['real'] - m['real_noisy']) / margin:.0%} | {(m['fake_clean'] - m['fake']) / margin:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
