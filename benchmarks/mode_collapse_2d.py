"""The PacGAN 2-D protocol: GAN vs PacGAN2 on the ring (8 modes) and the grid (25 modes).

Trains ``recipes/{gan,pacgan2}-{ring,grid}.yaml`` for every seed, evaluates ``mode-coverage``
(2,500 samples, 3 standard deviations) at the end, and prints mean +- standard error of the
modes captured, % high-quality samples and the reverse KL, next to PacGAN's Table 1.
Finished runs are recorded in ``benchmarks/results/mode_collapse_2d.jsonl`` and reused (an
interrupted benchmark continues where it stopped, on this machine or another); ``--report``
prints the table from the recorded runs alone, with the seed count of each row.

    python benchmarks/mode_collapse_2d.py --seeds 10 --jobs 2 --out runs/bench-2d
    python benchmarks/mode_collapse_2d.py --report
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from runs import Ledger, mean_se, recipe_sha256, train_run, use_threads

PUBLISHED = {  # PacGAN (Lin et al. 2018), Table 1: modes, % high quality, reverse KL
    ("gan", "ring"): (6.3, 0.5, 98.2, 0.1, 0.45, 0.09),
    ("pacgan2", "ring"): (7.9, 0.1, 95.6, 2.0, 0.07, 0.03),
    ("gan", "grid"): (17.3, 0.8, 94.8, 0.7, 0.70, 0.07),
    ("pacgan2", "grid"): (23.8, 0.7, 91.3, 0.8, 0.13, 0.04),
}


LEDGER = Ledger("mode_collapse_2d")


def overrides(seed: int, steps: int) -> list[str]:
    return [f"seed={seed}", "eval.metrics=[mode-coverage]", f"eval.every={steps}", f"train.steps={steps}"]


def run_one(model: str, layout: str, seed: int, out: Path, steps: int) -> dict:
    name = f"{model}-{layout}"
    return train_run(name, out / name / f"seed{seed}", overrides(seed, steps), None, LEDGER, f"{name}/seed{seed}")


def recorded(model: str, layout: str, steps: int, seeds: int) -> list[dict]:
    """Ledger rows of one configuration, one per seed, trained from today's recipe."""
    name = f"{model}-{layout}"
    rows = [LEDGER.find(f"{name}/seed{seed}", recipe_sha256(name, overrides(seed, steps))) for seed in range(seeds)]
    return [row for row in rows if row is not None]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20000,
                        help="steps per run: 20,000 fit the CPU budget; PacGAN trained 400,000 (the recipes' own)")
    parser.add_argument("--layouts", nargs="+", default=["ring", "grid"], choices=["ring", "grid"])
    parser.add_argument("--models", nargs="+", default=["gan", "pacgan2"], choices=["gan", "pacgan2"])
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once")
    parser.add_argument("--threads", type=int, help="threads per run (default: the cores shared between jobs)")
    parser.add_argument("--first-seed", type=int, default=0, help="start at this seed (to split seeds over machines)")
    parser.add_argument("--report", action="store_true", help="train nothing; print the table of the recorded runs")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-2d"))
    args = parser.parse_args()
    use_threads(args.threads, args.jobs)

    configurations = [(m, layout) for layout in args.layouts for m in args.models]
    if not args.report:
        # Seed by seed, so an interrupted benchmark has the same seeds of every configuration.
        jobs = [(m, layout, s) for s in range(args.first_seed, args.seeds) for m, layout in configurations]
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda job: run_one(*job, args.out, args.steps), jobs))
    table = {(m, layout): recorded(m, layout, args.steps, args.seeds) for m, layout in configurations}

    print(f"# PacGAN 2-D protocol: {args.steps} steps, 2,500 samples, 3 std")
    print(f"{'run':<16} {'seeds':>5} {'modes':>14} {'% high quality':>16} {'reverse KL':>14}   published (modes / % HQ / KL)")
    summary = {}
    for (model, layout), rows in table.items():
        if not rows:
            print(f"{model + '-' + layout:<16} {0:>5}   (no recorded run)")
            continue
        modes = mean_se([r["modes"] for r in rows])
        quality = mean_se([r["high_quality"] for r in rows])
        kl = mean_se([r["reverse_kl"] for r in rows if r["reverse_kl"] is not None] or [float("nan")])
        p = PUBLISHED[(model, layout)]
        print(f"{model + '-' + layout:<16} {len(rows):>5} {modes[0]:>7.1f} +- {modes[1]:<4.1f} {quality[0]:>9.1f} +- {quality[1]:<4.1f} "
              f"{kl[0]:>7.2f} +- {kl[1]:<4.2f}   {p[0]} +- {p[1]} / {p[2]} +- {p[3]} / {p[4]} +- {p[5]}")
        summary[f"{model}-{layout}"] = {"modes": modes, "high_quality": quality, "reverse_kl": kl, "runs": rows,
                                        "published": p}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
