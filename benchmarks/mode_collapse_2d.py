"""The PacGAN 2-D protocol: GAN vs PacGAN2 on the ring (8 modes) and the grid (25 modes).

Trains ``recipes/{gan,pacgan2}-{ring,grid}.yaml`` for every seed, evaluates ``mode-coverage``
(2,500 samples, 3 standard deviations) at the end, and prints mean +- standard error of the
modes captured, % high-quality samples and the reverse KL, next to PacGAN's Table 1.
Finished runs are reused, so an interrupted benchmark continues where it stopped.

    python benchmarks/mode_collapse_2d.py --seeds 10 --jobs 2 --out runs/bench-2d
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from runs import mean_se, train_run, use_threads

PUBLISHED = {  # PacGAN (Lin et al. 2018), Table 1: modes, % high quality, reverse KL
    ("gan", "ring"): (6.3, 0.5, 98.2, 0.1, 0.45, 0.09),
    ("pacgan2", "ring"): (7.9, 0.1, 95.6, 2.0, 0.07, 0.03),
    ("gan", "grid"): (17.3, 0.8, 94.8, 0.7, 0.70, 0.07),
    ("pacgan2", "grid"): (23.8, 0.7, 91.3, 0.8, 0.13, 0.04),
}


def run_one(model: str, layout: str, seed: int, out: Path, steps: int | None) -> dict:
    overrides = [f"seed={seed}", "eval.metrics=[mode-coverage]", f"eval.every={steps or 20000}"]
    return train_run(f"{model}-{layout}", out / f"{model}-{layout}" / f"seed{seed}", overrides, steps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--steps", type=int, help="override the recipes' 20,000 steps (for a quick look)")
    parser.add_argument("--layouts", nargs="+", default=["ring", "grid"], choices=["ring", "grid"])
    parser.add_argument("--models", nargs="+", default=["gan", "pacgan2"], choices=["gan", "pacgan2"])
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once")
    parser.add_argument("--threads", type=int, help="threads per run (default: the cores shared between jobs)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-2d"))
    args = parser.parse_args()
    use_threads(args.threads, args.jobs)

    # Seed by seed, so an interrupted benchmark has the same seeds of every configuration.
    jobs = [(m, layout, s) for s in range(args.seeds) for layout in args.layouts for m in args.models]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda job: run_one(*job, args.out, args.steps), jobs))
    table: dict[tuple[str, str], list[dict]] = {}
    for (model, layout, _), metrics in zip(jobs, results):
        table.setdefault((model, layout), []).append(metrics)

    print(f"# PacGAN 2-D protocol: {args.seeds} seeds, {args.steps or 20000} steps, 2,500 samples, 3 std")
    print(f"{'run':<16} {'modes':>14} {'% high quality':>16} {'reverse KL':>14}   published (modes / % HQ / KL)")
    summary = {}
    for (model, layout), rows in table.items():
        modes = mean_se([r["modes"] for r in rows])
        quality = mean_se([r["high_quality"] for r in rows])
        kl = mean_se([r["reverse_kl"] for r in rows if r["reverse_kl"] is not None] or [float("nan")])
        p = PUBLISHED[(model, layout)]
        print(f"{model + '-' + layout:<16} {modes[0]:>7.1f} +- {modes[1]:<4.1f} {quality[0]:>9.1f} +- {quality[1]:<4.1f} "
              f"{kl[0]:>7.2f} +- {kl[1]:<4.2f}   {p[0]} +- {p[1]} / {p[2]} +- {p[3]} / {p[4]} +- {p[5]}")
        summary[f"{model}-{layout}"] = {"modes": modes, "high_quality": quality, "reverse_kl": kl, "runs": rows,
                                        "published": p}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
