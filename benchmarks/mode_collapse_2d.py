"""The PacGAN 2-D protocol: GAN vs PacGAN2 on the ring (8 modes) and the grid (25 modes).

Trains ``recipes/{gan,pacgan2}-{ring,grid}.yaml`` for every seed, evaluates ``mode-coverage``
(2,500 samples, 3 standard deviations) at the end, and prints mean +- standard error of the
modes captured, % high-quality samples and the reverse KL, next to PacGAN's Table 1.
Finished runs are recorded in ``benchmarks/results/mode_collapse_2d.jsonl`` and reused (an
interrupted benchmark continues where it stopped, on this machine or another); ``--report``
prints the table from the recorded runs alone, with the seed count of each row.

    python benchmarks/mode_collapse_2d.py --seeds 10 --jobs 2 --out runs/bench-2d
    python benchmarks/mode_collapse_2d.py --report
    python benchmarks/mode_collapse_2d.py --seeds 3 --variants ema ema+decay   # the recipe search
"""

from __future__ import annotations

import argparse
import json
import math
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
CPU_STEPS = 20000  # the cut that fits the hour per seed on one CPU thread

# The search for the best ganforge recipe: changes to the protocol's recipes, by name, that any
# configuration can take (``--variant ema``); the protocol itself is the variant "".
def _schedule(lr: float, decay_from: float) -> list[str]:
    """EMA of G, both learning rates at ``lr``, decaying linearly to 0 from ``decay_from`` of the run."""
    return ["train.ema={decay: 0.999}", f"optim.generator.lr={lr}", f"optim.discriminator.lr={lr}",
            f"optim.generator.schedule={{type: linear-decay, start: {decay_from}}}",
            f"optim.discriminator.schedule={{type: linear-decay, start: {decay_from}}}"]


VARIANTS = {
    "": [],
    "ema": ["train.ema={decay: 0.999}"],
    "ema+decay": ["train.ema={decay: 0.999}", "optim.generator.schedule={type: linear-decay, start: 0.5}",
                  "optim.discriminator.schedule={type: linear-decay, start: 0.5}"],
    "lr3e-4+ema+decay": _schedule(3e-4, 0.5),
    "lr1e-3+ema+decay": _schedule(1e-3, 0.5),
    "lr2e-3+ema+decay": _schedule(2e-3, 0.5),
    "lr1e-3+ema+longdecay": _schedule(1e-3, 0.2),
}


def overrides(seed: int, steps: int, variant: str = "") -> list[str]:
    return [f"seed={seed}", "eval.metrics=[mode-coverage]", f"eval.every={steps}", f"train.steps={steps}",
            *VARIANTS[variant]]


def label(model: str, layout: str, variant: str = "") -> str:
    return f"{model}-{layout}" + (f"+{variant}" if variant else "")


def run_one(model: str, layout: str, seed: int, out: Path, steps: int, variant: str = "") -> dict:
    name = label(model, layout, variant)
    folder = out / (name if steps == CPU_STEPS else f"{name}-{steps}steps") / f"seed{seed}"
    return train_run(f"{model}-{layout}", folder, overrides(seed, steps, variant), None, LEDGER, f"{name}/seed{seed}")


def recorded(model: str, layout: str, steps: int, seeds: int, variant: str = "") -> list[dict]:
    """Ledger rows of one configuration, one per seed, trained from today's recipe."""
    recipe, name = f"{model}-{layout}", label(model, layout, variant)
    rows = [LEDGER.find(f"{name}/seed{seed}", recipe_sha256(recipe, overrides(seed, steps, variant)))
            for seed in range(seeds)]
    return [row for row in rows if row is not None]


def _pm(value: tuple[float, float], digits: int, width: int) -> str:
    """``mean +- se``; a single seed has no standard error and says so."""
    mean, se = value
    spread = "(1 seed)" if math.isnan(se) else f"+- {se:<4.{digits}f}"
    return f"{mean:>{width}.{digits}f} {spread:<8}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=CPU_STEPS,
                        help="steps per run: 20,000 fit the CPU budget; PacGAN trained 400,000 (the recipes' own)")
    parser.add_argument("--layouts", nargs="+", default=["ring", "grid"], choices=["ring", "grid"])
    parser.add_argument("--models", nargs="+", default=["gan", "pacgan2"], choices=["gan", "pacgan2"])
    parser.add_argument("--variants", nargs="+", default=[""], choices=list(VARIANTS), metavar="VARIANT",
                        help=f"recipe changes to try (the search for the best recipe): {', '.join(v for v in VARIANTS if v)}; "
                             "'' is the protocol")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once")
    parser.add_argument("--threads", type=int, help="threads per run (default: the cores shared between jobs)")
    parser.add_argument("--first-seed", type=int, default=0, help="start at this seed (to split seeds over machines)")
    parser.add_argument("--report", action="store_true", help="train nothing; print the table of the recorded runs")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-2d"))
    args = parser.parse_args()
    use_threads(args.threads, args.jobs)

    configurations = [(m, layout, v) for layout in args.layouts for m in args.models for v in args.variants]
    if not args.report:
        # Seed by seed, so an interrupted benchmark has the same seeds of every configuration.
        jobs = [(m, layout, s, v) for s in range(args.first_seed, args.seeds) for m, layout, v in configurations]
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda job: run_one(*job[:3], args.out, args.steps, job[3]), jobs))
    table = {c: recorded(c[0], c[1], args.steps, args.seeds, c[2]) for c in configurations}

    print(f"# PacGAN 2-D protocol: {args.steps} steps, 2,500 samples, 3 std")
    width = max(16, *(len(label(*c)) for c in configurations))
    print(f"{'run':<{width}} {'seeds':>5} {'modes':>14} {'% high quality':>16} {'reverse KL':>14}   published (modes / % HQ / KL)")
    summary = {}
    for (model, layout, variant), rows in table.items():
        name = label(model, layout, variant)
        if not rows:
            print(f"{name:<{width}} {0:>5}   (no recorded run)")
            continue
        modes = mean_se([r["modes"] for r in rows])
        quality = mean_se([r["high_quality"] for r in rows])
        kl = mean_se([r["reverse_kl"] for r in rows if r["reverse_kl"] is not None] or [float("nan")])
        p = PUBLISHED[(model, layout)]
        print(f"{name:<{width}} {len(rows):>5} {_pm(modes, 1, 7)} {_pm(quality, 1, 9)} {_pm(kl, 2, 7)}   "
              f"{p[0]} +- {p[1]} / {p[2]} +- {p[3]} / {p[4]} +- {p[5]}")
        summary[name] = {"modes": modes, "high_quality": quality, "reverse_kl": kl, "runs": rows,
                                        "published": p}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
