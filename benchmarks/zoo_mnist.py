"""The classic zoo's MNIST numbers, each from its shipped recipe, over seeds:

* ``sgan``: semi-supervised GAN with 100 labels, D's accuracy on the 10,000 test digits
  (goal >= 97%; Salimans et al. 2016 report 99.07%).
* ``infogan``: InfoGAN's 10-way categorical code as a digit classifier on the test set after
  one-to-one matching of codes to digits (Chen et al. 2016 report 95%).
* ``stacked``: DCGAN vs PacDCGAN2 on Stacked MNIST, modes out of 1,000 and KL to uniform on
  26,000 samples, counted by an MNIST classifier trained first (published: DCGAN 78.9-99
  modes; PacDCGAN2 1,000 modes, KL 0.06).

Needs ``../shared/data/mnist/mnist.npz`` (the recipes' path). Finished runs are recorded in
``benchmarks/results/zoo_mnist.jsonl`` and reused, so an interrupted benchmark continues where it
stopped, on this machine or another.

    python benchmarks/zoo_mnist.py sgan infogan stacked --seeds 3 --out runs/bench-mnist
    python benchmarks/zoo_mnist.py infogan --first-seed 2 --seeds 3   # seed 2 only, say on another core
    python benchmarks/zoo_mnist.py stacked --seeds 3 --jobs 6          # all six runs at once, on a GPU
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from runs import ENV, REPO, Ledger, mean_se, train_run, use_threads

MNIST = REPO.parent / "shared" / "data" / "mnist" / "mnist.npz"
LEDGER = Ledger("zoo_mnist")
PUBLISHED = {
    "sgan-mnist-100labels": "99.07% (Salimans et al. 2016, Table 1)",
    "infogan-mnist": "95% (Chen et al. 2016, 5% error)",
    "dcgan-stacked-mnist": "78.9-99 modes, KL 3.4-4.7 (PacGAN Table 3)",
    "pacdcgan2-stacked-mnist": "1000 modes, KL 0.06 (PacGAN Table 3)",
}


def classifier(out: Path) -> Path:
    """An MNIST classifier for counting Stacked MNIST modes (trained once)."""
    path = out / "mnist-classifier.safetensors"
    if not path.is_file():
        subprocess.run([sys.executable, "-m", "ganforge", "classifier", "train", str(REPO / "recipes" / "dcgan-mnist.yaml"),
                        "--out", str(path), "--steps", "3000"], check=True, env=ENV)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", nargs="+", choices=["sgan", "infogan", "stacked"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="start at this seed (to split seeds over machines)")
    parser.add_argument("--steps", type=int, help="override the recipes' steps (for a quick look)")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once (say, several on one GPU)")
    parser.add_argument("--threads", type=int, help="threads per run (default: the cores shared out over --jobs)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-mnist"))
    args = parser.parse_args()
    if not MNIST.is_file():
        print(f"skipped: {MNIST} is missing (these numbers need MNIST)")
        return 0
    use_threads(args.threads, args.jobs)
    args.out = args.out.resolve()
    plans: list[tuple[str, list[str], list[str]]] = []  # (recipe, overrides, keys reported)
    final = [f"eval.every={args.steps}"] if args.steps else []
    if "sgan" in args.which:
        plans.append(("sgan-mnist-100labels", final, ["heldout_accuracy"]))
    if "infogan" in args.which:
        plans.append(("infogan-mnist", final, ["heldout_accuracy"]))
    if "stacked" in args.which:
        metric = f"eval.metrics=[{{type: stacked-mnist, classifier: '{classifier(args.out)}', samples: 26000}}]"
        every = f"eval.every={args.steps or 20000}"
        plans += [(name, [metric, every], ["stacked_mnist_modes", "stacked_mnist_kl"])
                  for name in ("dcgan-stacked-mnist", "pacdcgan2-stacked-mnist")]

    seeds = range(args.first_seed, args.seeds)
    with ThreadPoolExecutor(args.jobs) as pool:  # each run is its own process; threads only wait
        runs = {(recipe, seed): pool.submit(train_run, recipe, args.out / recipe / f"seed{seed}",
                                            [f"seed={seed}", *overrides], args.steps, LEDGER, f"{recipe}/seed{seed}")
                for recipe, overrides, _ in plans for seed in seeds}
    summary = {}
    print(f"# classic zoo on MNIST: {args.seeds} seed(s), {args.steps or 'recipe'} steps")
    for recipe, overrides, keys in plans:
        rows = [runs[recipe, seed].result() for seed in seeds]
        numbers = {key: mean_se([float(r[key]) for r in rows]) for key in keys}
        shown = "  ".join(f"{k} {m:.4g} +- {se:.2g}" for k, (m, se) in numbers.items())
        print(f"{recipe:<26} {shown}   published: {PUBLISHED[recipe]}")
        summary[recipe] = {"numbers": numbers, "runs": rows, "published": PUBLISHED[recipe]}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
