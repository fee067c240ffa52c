"""The translation numbers of docs/results.md, at a size the CPU can train:

* ``pix2pix``: ``recipes/pix2pix-facades.yaml`` (labels -> photo) at 128 px (resize 143, random
  128 crops, a 7-level U-Net), trained ``--steps`` steps of batch 1, then scored on the 100
  held-out facades: L1, PSNR, SSIM. One run per PatchGAN receptive field in ``--fields``
  (1, 16, 70 and 286 px: pix2pix's ablation; 70 is the recipe's own).
* ``cyclegan``: ``recipes/cyclegan-summer2winter.yaml`` at 64 px (resize 72, random 64 crops, 6
  residual blocks), trained ``--steps`` steps, then scored on testA/testB: cycle error, and the
  FID of G(testA) against testB (238 images each) on the features of a classifier trained first on the
  summer2winter folders (``benchmarks/summer2winter-domains.yaml``), next to the FID of the
  untranslated testA against testB on the same features.

Finished runs are recorded in ``benchmarks/results/translation.jsonl`` and reused. Needs
``../shared/data`` (facades, summer2winter_yosemite).

    python benchmarks/translation_results.py pix2pix --steps 1500 --jobs 2
    python benchmarks/translation_results.py cyclegan --steps 1000
    python benchmarks/translation_results.py pix2pix cyclegan --report
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from runs import ENV, REPO, Ledger, feature_fid, recipe_sha256, train_run, use_threads

LEDGER = Ledger("translation")
DATA = REPO.parent / "shared" / "data"


def pix2pix_overrides(field: int, steps: int) -> list[str]:
    return ["data.load_size=143", "data.crop_size=128", "eval.data.crop_size=128", "models.generator.depth=7",
            f"models.discriminator.receptive_field={field}", f"train.steps={steps}", f"eval.every={steps}",
            "train.checkpoint_every=500", "train.sample_every=500"]


def domain_classifier(out: Path) -> Path:
    """A classifier of the summer2winter folders at 64 px (trained once)."""
    path = (out / "summer2winter-domains.safetensors").resolve()
    if not path.is_file():
        subprocess.run([sys.executable, "-m", "ganforge", "classifier", "train",
                        str(REPO / "benchmarks" / "summer2winter-domains.yaml"), "--out", str(path), "--steps", "1500",
                        "--batch-size", "64", "--device", "cpu"], check=True, env=ENV)
    return path


def untranslated_fid(classifier: Path) -> float:
    """FID of testA (summer) against testB (winter) on the classifier's features: what a
    translation that changes nothing scores."""
    import torch

    from ganforge.build import BuildContext
    from ganforge.eval.features import ClassifierFeatures, to_uint8
    from ganforge_translation.data import unpaired_folder
    from ganforge_translation.plugin import UnpairedFolderParams

    params = UnpairedFolderParams(root=DATA / "summer2winter_yosemite", split="test", crop_size=64, jitter=False,
                                  limit=238)
    data = unpaired_folder(params, BuildContext(None, 0, torch.device("cpu"), None))
    count_a, count_b = len(data.files["A"]), len(data.files["B"])
    network = ClassifierFeatures(classifier)
    a = network(to_uint8(torch.stack([data[i]["source"] for i in range(count_a)])))["pool"].double().numpy()
    b = network(to_uint8(torch.stack([data[i]["x"] for i in range(count_b)])))["pool"].double().numpy()
    return feature_fid(a, b)


def cyclegan_overrides(steps: int, classifier: Path) -> list[str]:
    # testB has 238 images, testA 309: the first 238 of each, so both sides are distinct images
    fid = f"{{type: fid, features: classifier, classifier: '{classifier}', samples: 238, reference_samples: 238}}"
    return [f"eval.metrics=[cycle-error, {fid}]", "eval.data.limit=238", "data.load_size=72", "data.crop_size=64", "eval.data.crop_size=64", "models.g_ab.blocks=6",
            "models.g_ba.blocks=6", f"train.steps={steps}", f"eval.every={steps}", "train.checkpoint_every=250",
            "train.sample_every=250"]


def plans(which: list[str], steps: int, fields: list[int], out_dir: Path) -> list[tuple[str, str, list[str]]]:
    out = []
    if "pix2pix" in which:
        out += [("pix2pix-facades", f"pix2pix-facades-128/field{f}/{steps}", pix2pix_overrides(f, steps)) for f in fields]
    if "cyclegan" in which:
        classifier = domain_classifier(out_dir)
        out.append(("cyclegan-summer2winter", f"cyclegan-summer2winter-64/{steps}", cyclegan_overrides(steps, classifier)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", nargs="+", choices=["pix2pix", "cyclegan"])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--fields", type=int, nargs="+", default=[1, 16, 70, 286])
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once")
    parser.add_argument("--threads", type=int, help="threads per run (default: the cores shared between jobs)")
    parser.add_argument("--report", action="store_true", help="train nothing; print the recorded runs")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-translation"))
    args = parser.parse_args()
    if not (DATA / "facades").is_dir():
        print(f"skipped: {DATA} has no facades (these numbers need ../shared/data)")
        return 0
    use_threads(args.threads, args.jobs)
    todo = plans(args.which, args.steps, args.fields, args.out)
    if not args.report:
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda plan: train_run(plan[0], args.out / plan[1], plan[2], None, LEDGER, plan[1]), todo))
    print(f"# translation on CPU-sized protocols, {args.steps} steps of batch 1")
    for recipe, run, overrides in todo:
        metrics = LEDGER.find(run, recipe_sha256(recipe, overrides))
        shown = "  ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items())) if metrics else "(not run)"
        print(f"{run:<40} {shown}")
    if "cyclegan" in args.which:
        print(f"{'untranslated testA vs testB':<40} fid {untranslated_fid(domain_classifier(args.out)):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
