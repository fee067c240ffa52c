"""FID throughput: ganforge's evaluation path against torch-fidelity's on the same generator.

Measures, in one process and on one device:

1. feature extraction: InceptionV3 images/s on uint8 batches (ganforge's feature network vs
   torch-fidelity's extractor as its own loop calls it, features copied to the host);
2. a whole N-sample FID from a generator, with the real statistics already cached by both:
   ganforge's ``evaluate`` (samples stream on the device into float64 running sums) vs
   ``torch_fidelity.calculate_metrics`` with a ``GenerativeModelModuleWrapper``.

Both paths see the same noise, batch by batch, so the two FIDs must agree. Without the
standard InceptionV3 file (``--weights``, ``GANFORGE_WEIGHTS_DIR`` or the torch hub cache)
pass ``--random-weights``: timings stay real, the values are not FIDs.

    python benchmarks/eval_throughput.py --samples 10000 --device cuda
    python benchmarks/eval_throughput.py --samples 500 --random-weights   # CPU, offline
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10_000, help="generated (and real) samples of the FID")
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--recipe", type=Path, default=REPO / "recipes" / "quickstart.yaml",
                        help="recipe whose generator and data are used (weights stay as initialised)")
    parser.add_argument("--weights", type=Path, help="InceptionV3 weights file (weights-inception-2015-12-05-*.pth)")
    parser.add_argument("--random-weights", action="store_true", help="use random InceptionV3 weights (offline timing)")
    parser.add_argument("--feature-batches", type=int, default=8, help="batches timed for images/s")
    return parser.parse_args()



class SameNoiseGenerator(torch.nn.Module):
    """What torch-fidelity samples from: ignores its noise and draws ganforge's, batch by batch,
    from the same seed, so both paths see identical images."""

    def __init__(self, run, seed: int):
        super().__init__()
        self.run, self.seed = run, seed
        self.net = run.nets[run.objective.generators[0]]
        self.rng = torch.Generator().manual_seed(seed)

    def reset(self) -> None:
        self.rng = torch.Generator().manual_seed(self.seed)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        from ganforge.eval.features import to_uint8

        inputs = self.run.objective.sample_inputs(len(z), self.rng)
        return to_uint8(self.run.objective.sample(self.run.nets, {k: v.to(z.device) for k, v in inputs.items()}))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> int:
    args = parse_args()
    from torch_fidelity import calculate_metrics
    from torch_fidelity.generative_model_modulewrapper import GenerativeModelModuleWrapper

    from ganforge.build import build_run, resolve_device
    from ganforge.eval.evaluators import FID
    from ganforge.eval.features import InceptionV3Features, to_uint8
    from ganforge.eval.runner import evaluate
    from ganforge.eval.session import EvalSession
    from ganforge.eval.testing import UInt8Images, write_random_inception
    from ganforge.weights import INCEPTION_V3, resolve_weights
    from ganforge.recipe import load_recipe

    scratch = Path(tempfile.mkdtemp(prefix="ganforge-bench-"))
    os.environ.setdefault("GANFORGE_CACHE_DIR", str(scratch / "cache"))
    weights = (write_random_inception(scratch / "weights") if args.random_weights
               else resolve_weights(INCEPTION_V3, args.weights))
    device = resolve_device(args.device)
    n, batch = args.samples, min(args.batch_size, args.samples)

    recipe = load_recipe(args.recipe, [f"data.length={max(n, 1000)}"] if "shapes" in args.recipe.read_text() else [])
    run = build_run(recipe.recipe, device=device)
    for net in run.nets.values():
        net.eval()

    # -------------------------------------------------------------- 1. feature extraction
    ours = InceptionV3Features(weights, device=device)
    theirs = ours.net  # the same torch-fidelity module; its own loop copies features to the host
    images = to_uint8(torch.rand(batch, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1).to(device)
    rates = {}
    for name, step in [("torch-fidelity", lambda: [f.cpu() for f in theirs(images)]),
                       ("ganforge", lambda: ours(images))]:
        with torch.no_grad():
            step()  # warm-up
            sync(device)
            started = time.perf_counter()
            for _ in range(args.feature_batches):
                step()
            sync(device)
        rates[name] = args.feature_batches * batch / (time.perf_counter() - started)

    # -------------------------------------------------------------- 2. a whole FID, real statistics cached
    params = type("P", (), {"samples": n, "reference_samples": n, "features": "inception-v3", "weights": weights,
                            "download": False, "classifier": None})()
    session = EvalSession(run.data, run.recipe.data, device, batch_size=batch)
    session.network(f"inception:{weights}", lambda: ours)
    fid = FID(params)
    fid.prepare(session)  # computes and caches the real statistics (not timed)
    order = torch.randperm(len(run.data), generator=torch.Generator().manual_seed(0))[: fid.reference_count]
    real = UInt8Images(torch.stack([to_uint8(run.data[int(i)]["x"][None])[0] for i in order]))
    common = dict(input2=real, fid=True, feature_extractor="inception-v3-compat",
                  feature_extractor_weights_path=str(weights), batch_size=batch, cuda=device.type == "cuda",
                  cache=True, cache_root=str(scratch / "tf-cache"), input2_cache_name="bench-real", verbose=False,
                  input1_model_num_samples=n)
    sampler = SameNoiseGenerator(run, seed=0)
    wrapper = GenerativeModelModuleWrapper(sampler, 1, "normal", 0)
    calculate_metrics(input1=wrapper, **{**common, "input1_model_num_samples": batch})  # warm: caches real stats

    totals, values = {}, {}
    sync(device)
    started = time.perf_counter()
    sampler.reset()
    values["torch-fidelity"] = calculate_metrics(input1=wrapper, **common)["frechet_inception_distance"]
    sync(device)
    totals["torch-fidelity"] = time.perf_counter() - started

    started = time.perf_counter()
    fid = FID(params)
    result = evaluate(run, {"fid": fid}, batch_size=batch, seed=0, session=session)
    sync(device)
    totals["ganforge"] = time.perf_counter() - started
    values["ganforge"] = result["metrics"]["fid"]

    # -------------------------------------------------------------- report
    name = torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"# FID throughput: {n} samples, batch {batch}, {device} ({name}, {torch.get_num_threads()} threads), "
          f"torch {torch.__version__}, weights {'random' if args.random_weights else Path(weights).name}")
    print(f"{'path':<16} {'features img/s':>15} {'FID total s':>12} {'FID':>14}")
    for path in ("torch-fidelity", "ganforge"):
        print(f"{path:<16} {rates[path]:>15.1f} {totals[path]:>12.2f} {values[path]:>14.6f}")
    relative = abs(values["ganforge"] - values["torch-fidelity"]) / max(abs(values["torch-fidelity"]), 1e-12)
    print(f"{'ratio':<16} {rates['ganforge'] / rates['torch-fidelity']:>14.2f}x "
          f"{totals['torch-fidelity'] / totals['ganforge']:>11.2f}x {'rel diff ' + format(relative, '.1e'):>14}")
    return 0 if relative < 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
