"""Super-resolution against bicubic upsampling on held-out CelebA faces (x4), at a size the CPU
can train:

* ``srresnet``: ``recipes/srresnet-celeba.yaml`` (pixel MSE only) at 64 px from 16 px inputs,
  a generator of ``--blocks`` residual blocks of width ``--width``;
* ``srgan``: the same net, pre-trained on pixel MSE for half the steps, then pixel content plus
  1e-3 x the adversarial loss (``recipes/srgan-celeba.yaml``'s game with a pixel content loss,
  since VGG weights are not on this machine);
* ``bicubic``: the same held-out pairs upsampled bicubically, scored by the same evaluators.

Scored on the last 400 of the 4,000 faces (never trained on): PSNR and SSIM of the outputs
against the originals, in [0, 1] over all channels. Finished runs are recorded in
``benchmarks/results/super_resolution.jsonl`` and reused. Needs ``../shared/data/celeba``.

    python benchmarks/super_resolution.py --steps 2000
    python benchmarks/super_resolution.py --steps 2000 --bicubic-skip   # a correction to bicubic
    python benchmarks/super_resolution.py --report
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from runs import REPO, Ledger, recipe_sha256, train_run, use_threads

LEDGER = Ledger("super_resolution")
DATA = REPO.parent / "shared" / "data" / "celeba" / "img"
SIZE, FACTOR = 64, 4


def overrides(steps: int, blocks: int, width: int, adversarial: bool, bicubic_skip: bool) -> list[str]:
    return [*(["models.generator.bicubic_skip=true"] if bicubic_skip else []), f"data.size={SIZE}", f"eval.data.size={SIZE}", f"models.generator.blocks={blocks}",
            f"models.generator.width={width}", "models.discriminator.width=32", "models.discriminator.layers=6",
            "models.discriminator.dense=256", f"objective.pretrain_steps={steps // 2 if adversarial else steps + 1}",
            "objective.adversarial_weight=1e-3", f"train.steps={steps}", f"eval.every={steps}",
            "train.checkpoint_every=500", "train.sample_every=500"]


def bicubic_scores() -> dict[str, float]:
    """PSNR and SSIM of bicubic upsampling on the held-out pairs, by the recipes' own evaluators."""
    import torch
    from torch.utils.data import DataLoader

    from ganforge.build import BuildContext
    from ganforge.builtin.evaluators import PairedParams
    from ganforge.eval.evaluators import PSNR, SSIM
    from ganforge_editing.data import super_resolution, upscale
    from ganforge_editing.plugin import SuperResolutionParams

    params = SuperResolutionParams(root=DATA, size=SIZE, factor=FACTOR, crop="center", offset=3600, limit=400)
    data = super_resolution(params, BuildContext(None, 0, torch.device("cpu"), None))
    metrics = [PSNR(PairedParams()), SSIM(PairedParams())]
    for batch in DataLoader(data, batch_size=50):
        pair = {"fake": upscale(batch["source"], FACTOR), "target": batch["x"]}
        for metric in metrics:
            metric.update(pair, None)
    return {k: v for metric in metrics for k, v in metric.compute().items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--bicubic-skip", action="store_true",
                        help="the generator predicts a correction to bicubic upsampling (starts at bicubic)")
    parser.add_argument("--models", nargs="+", choices=("srresnet", "srgan"), default=("srresnet", "srgan"))
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once")
    parser.add_argument("--threads", type=int, help="threads per run (default: the cores shared between jobs)")
    parser.add_argument("--report", action="store_true", help="train nothing; print the recorded runs")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-sr"))
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} does not exist (these numbers need ../shared/data/celeba)")
        return 0
    use_threads(args.threads, args.jobs)
    skip = "+bicubic" if args.bicubic_skip else ""
    plans = {name: (f"{name}{skip}-celeba-x{FACTOR}-{SIZE}/{args.blocks}x{args.width}/{args.steps}",
                    overrides(args.steps, args.blocks, args.width, name == "srgan", args.bicubic_skip))
             for name in args.models}
    if not args.report:
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda item: train_run("srresnet-celeba", args.out / item[0], item[1], None, LEDGER, item[0]),
                          plans.values()))
    base = bicubic_scores()
    print(f"# x{FACTOR} super-resolution, {SIZE} px CelebA faces, 400 held out; {args.steps} steps of batch 16, "
          f"SRResNet {args.blocks} blocks x {args.width}{', bicubic skip' if args.bicubic_skip else ''}")
    print(f"{'model':<10} {'PSNR (dB)':>10} {'SSIM':>8} {'dPSNR':>8} {'dSSIM':>8}")
    print(f"{'bicubic':<10} {base['psnr']:>10.2f} {base['ssim']:>8.4f} {0:>8.2f} {0:>8.4f}")
    for name, (run, items) in plans.items():
        metrics = LEDGER.find(run, recipe_sha256("srresnet-celeba", items))
        if metrics is None:
            print(f"{name:<10} (not run)")
            continue
        print(f"{name:<10} {metrics['psnr']:>10.2f} {metrics['ssim']:>8.4f} {metrics['psnr'] - base['psnr']:>+8.2f} "
              f"{metrics['ssim'] - base['ssim']:>+8.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
