"""WGAN-GP against SNGAN on CIFAR-10, each from its shipped recipe, at a number of steps a CPU
can afford (``--steps``; the recipes' own schedules, 20,000 and 40,000 generator steps, need a
GPU), over seeds; and the CPU cuts of StyleGAN2 and R3GAN against them (``--models``).

Score: FID of 10,000 samples of G (not the recipes' weight average, too young in a short run)
against 10,000 training images, on the features of a CIFAR-10 classifier that ganforge trains
first (``ganforge classifier train``), as the InceptionV3 weights of the standard FID are not
available everywhere. Such an FID is comparable only between runs scored with the same
classifier file; as its scale, the script also prints the FID of the 10,000 CIFAR-10 test
images against the same training images, what a perfect generator would score.

Needs ``../shared/data/cifar10/cifar10_jpg.zip``. Finished runs are recorded in
``benchmarks/results/zoo_cifar10.jsonl`` and reused.

    python benchmarks/zoo_cifar10.py --steps 2000 --seeds 1 --jobs 2
    python benchmarks/zoo_cifar10.py --steps 2000 --seeds 1 --report
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from runs import ENV, REPO, Ledger, feature_fid, mean_se, recipe_sha256, train_run, use_threads

CIFAR10 = REPO.parent / "shared" / "data" / "cifar10" / "cifar10_jpg.zip"
LEDGER = Ledger("zoo_cifar10")
RECIPES = ("wgan-gp-cifar10", "sngan-cifar10", "stylegan2-cifar10-cpu", "r3gan-cifar10-cpu")


def classifier(out: Path, steps: int) -> Path:
    """A CIFAR-10 classifier whose penultimate features score the runs (trained once)."""
    path = (out / "cifar10-classifier.safetensors").resolve()
    if not path.is_file():
        subprocess.run([sys.executable, "-m", "ganforge", "classifier", "train", str(REPO / "recipes" / "sngan-cifar10.yaml"),
                        "--set", "data.labels=true", "--set", "data.flip=false", "--out", str(path),
                        "--steps", str(steps), "--device", "cpu"], check=True, env=ENV)
    return path


def real_fid(classifier_file: Path, count: int = 10_000) -> float:
    """FID of the CIFAR-10 test images against ``count`` training images on the classifier's
    features: the score of a generator that draws real images."""
    import torch

    from ganforge.build import BuildContext
    from ganforge.builtin.data import ImageFolderParams
    from ganforge.data.image_folder import build
    from ganforge.eval.features import ClassifierFeatures, to_uint8

    network = ClassifierFeatures(classifier_file)
    context = BuildContext(None, 0, torch.device("cpu"), None)

    def features(split: str) -> np.ndarray:
        data = build(ImageFolderParams(root=CIFAR10 / split), context)
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))[:count].tolist()
        chunks = [network(to_uint8(torch.stack([data[i]["x"] for i in order[start:start + 500]])))["pool"]
                  for start in range(0, len(order), 500)]
        return torch.cat(chunks).double().numpy()

    return feature_fid(features("test"), features("train"))


def overrides(seed: int, steps: int, classifier_file: Path) -> list[str]:
    fid = f"{{type: fid, features: classifier, classifier: '{classifier_file}', samples: 10000}}"
    # G itself, as both papers score it: the recipes' weight average (decay 0.999) still holds 37% of
    # the untrained weights after 1,000 steps, and would score those rather than the training
    return [f"seed={seed}", f"train.steps={steps}", f"eval.every={steps}", f"eval.metrics=[{fid}]", "train.ema=null"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000, help="generator steps of each run")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=0, help="start at this seed (to split seeds over machines)")
    parser.add_argument("--models", nargs="+", choices=RECIPES, default=list(RECIPES[:2]))
    parser.add_argument("--classifier-steps", type=int, default=3000)
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once")
    parser.add_argument("--threads", type=int, help="threads per run (default: the cores shared out over --jobs)")
    parser.add_argument("--report", action="store_true", help="train nothing; print the recorded runs")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-cifar10"))
    args = parser.parse_args()
    if not CIFAR10.is_file():
        print(f"skipped: {CIFAR10} is missing (these numbers need CIFAR-10)")
        return 0
    use_threads(args.threads, args.jobs)
    args.out = args.out.resolve()
    if args.report and not (args.out / "cifar10-classifier.safetensors").is_file():
        print(f"nothing to report: {args.out} has no classifier (runs are recorded under the classifier that scored them)")
        return 1
    scorer = classifier(args.out, args.classifier_steps)
    seeds = range(args.first_seed, args.seeds)
    plans = [(recipe, seed, f"{recipe}/{args.steps}/seed{seed}", overrides(seed, args.steps, scorer))
             for recipe in args.models for seed in seeds]
    if not args.report:
        with ThreadPoolExecutor(args.jobs) as pool:  # each run is its own process; threads only wait
            list(pool.map(lambda p: train_run(p[0], args.out / p[2], p[3], None, LEDGER, p[2]), plans))
    print(f"# CIFAR-10: {args.steps} generator steps, classifier-feature FID ({scorer.name})")
    for recipe in args.models:
        found = [LEDGER.find(run, recipe_sha256(recipe, extra)) for r, _, run, extra in plans if r == recipe]
        fids = [m["fid"] for m in found if m]
        shown = ", ".join(f"{f:.2f}" for f in fids) or "(not run)"
        mean, se = mean_se(fids) if fids else (float("nan"), float("nan"))
        print(f"{recipe:<18} seeds {len(fids)}: {shown}   mean {mean:.2f} +- {se:.2g}")
    print(f"{'real test images':<18} {real_fid(scorer):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
