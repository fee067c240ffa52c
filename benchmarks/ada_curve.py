"""The ADA plot of docs/results.md: the augmentation probability p of the `ada` run of the
stylegan2-ada-celeba suite, and the discriminator's sign on reals r_t of both its runs (the
overfitting signal ADA steers toward its target), against the step.

    uv run ganforge bench recipes/bench/stylegan2-ada-celeba.yaml --jobs 2
    uv run python benchmarks/ada_curve.py --out docs/images/modern/ada-celeba-p.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def series(folder: Path, key: str) -> tuple[list[int], list[float]]:
    records = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines() if line.strip()]
    points = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
    return [s for s, _ in points], [v for _, v in points]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite-out", type=Path, default=REPO / "runs" / "bench" / "stylegan2-ada-celeba")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", type=float, default=0.6, help="ADA's target for r_t (the recipe's)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ada, plain = (args.suite_out / run / f"seed{args.seed}" for run in ("ada", "no-augment"))
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    steps, p = series(ada, "augment/p")
    left.plot(steps, p, color="C0")
    left.set(xlabel="step", ylabel="p", title="ADA: augmentation probability")
    for folder, colour, label in ((ada, "C0", "with ADA"), (plain, "C1", "without augmentation")):
        steps, r = series(folder, "d/real_sign")
        right.plot(steps, r, color=colour, linewidth=1, alpha=0.8, label=label)
    right.axhline(args.target, color="grey", linestyle="--", linewidth=1, label=f"target {args.target}")
    right.set(xlabel="step", ylabel="r_t = E[sign D(real)]", title="overfitting signal")
    right.legend(fontsize=7)
    for ax in (left, right):
        ax.grid(alpha=0.3)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=90, bbox_inches="tight")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
