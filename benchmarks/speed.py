"""The speed table of docs/performance.md in one run: each row against its baseline, measured in
the same process or side by side, as a ratio (baseline time / ganforge time: 1.0 is no tax,
above 1 is faster).

* whole command: ``ganforge train RECIPE`` (a subprocess, data loading, logging, samples and
  checkpoints included) against a plain eager PyTorch loop of the same nets, losses, Adam and
  EMA over batches already in memory (for pix2pix and CycleGAN, the reference-style steps of
  translation_speed.py). Steady state: each is timed at two lengths and the difference divided
  by the extra steps, so start-up and compilation cancel out.
* fast path: the same whole command with ``train.precision: auto`` and ``train.channels_last``
  (and ``train.compile``), against itself in fp32 eager.
* start-up: ``ganforge sample`` and the quick commands against ``python -c "import torch"``.
* data delivery: ``image-folder`` against a plain ``torchvision.transforms.v2`` dataset at the
  same settings, with and without ``fast_decode``, images per second through a DataLoader.

    python benchmarks/speed.py --threads 2                     # everything (about 25 minutes)
    python benchmarks/speed.py --only startup data             # a part
    python benchmarks/speed.py --only command --recipes pix2pix-facades --repeat 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
CELEBA = DATA / "celeba" / "img"
# the translation games' recipes, their data folders and the plain steps of translation_speed.py
TRANSLATION = {"pix2pix-facades": (DATA / "facades", "plain_pix2pix_step", (4, 24)),
               "cyclegan-summer2winter": (DATA / "summer2winter_yosemite", "plain_cyclegan_step", (3, 13))}


def environment(threads: int) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "PYTHONPATH": str(REPO)}


def wall(command: list[str], threads: int) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO, env=environment(threads), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def command_seconds_per_step(recipe: str, steps: tuple[int, int], threads: int, extra: list[str]) -> float:
    """Steady-state seconds per step of the whole ``ganforge train`` command (without in-training
    evaluation: both lengths would pay it once, at their last step)."""
    times = []
    for n in steps:
        with tempfile.TemporaryDirectory() as out:
            times.append(wall([sys.executable, "-m", "ganforge", "train", f"recipes/{recipe}.yaml", "--no-preflight",
                               "--set", f"train.steps={n}", "--set", f"output.dir={out}/run",
                               "--set", "train.progress=false", "--set", "eval.every=null", *extra], threads))
    return (times[1] - times[0]) / (steps[1] - steps[0])


def plain_seconds_per_step(recipe: str, steps: tuple[int, int], threads: int) -> float:
    """Steady-state seconds per step of a plain eager loop of the recipe's nets (the same G, D,
    loss, Adam settings and EMA), its batches already in memory."""
    import copy

    import torch
    import torch.nn.functional as F

    from ganforge.build import build_run
    from ganforge.recipe import load_recipe

    torch.set_num_threads(threads)
    run = build_run(load_recipe(REPO / "recipes" / f"{recipe}.yaml").recipe, device=torch.device("cpu"))
    g, d = run.nets["generator"], run.nets["discriminator"]
    config = run.recipe.train
    hinge = run.recipe.losses["adversarial"].type == "hinge"
    opt = {name: torch.optim.Adam(net.parameters(), lr=run.recipe.optim[name].lr, betas=tuple(run.recipe.optim[name].betas))
           for name, net in (("generator", g), ("discriminator", d))}
    ema = copy.deepcopy(g).requires_grad_(False)
    decay = config.ema.decay if config.ema else None
    z_dim = run.objective.sample_inputs(1, torch.Generator())["z"].shape[1:]
    batches = [torch.rand(config.batch_size, *run.ctx.data_info.shape) * 2 - 1 for _ in range(4)]

    def step(i: int) -> None:
        real = batches[i % len(batches)]
        fake = g(torch.randn(config.batch_size, *z_dim))
        d_real, d_fake = d(real), d(fake.detach())
        d_loss = (F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean() if hinge
                  else F.softplus(-d_real).mean() + F.softplus(d_fake).mean())
        opt["discriminator"].zero_grad(set_to_none=True)
        d_loss.backward()
        opt["discriminator"].step()
        out = d(fake)
        g_loss = -out.mean() if hinge else F.softplus(-out).mean()
        opt["generator"].zero_grad(set_to_none=True)
        g_loss.backward()
        opt["generator"].step()
        if decay is not None:
            with torch.no_grad():
                torch._foreach_lerp_(list(ema.parameters()), list(g.parameters()), 1 - decay)

    times = []
    for n in steps:
        started = time.perf_counter()
        for i in range(n):
            step(i)
        times.append(time.perf_counter() - started)
    return (times[1] - times[0]) / (steps[1] - steps[0])


def plain_translation_seconds_per_step(recipe: str, steps: tuple[int, int], threads: int) -> float:
    """Steady-state seconds per step of the plain pix2pix or CycleGAN loop of translation_speed.py
    (the reference code's step, written out) on the recipe's nets, a 256 px batch in memory."""
    import torch
    import translation_speed

    torch.set_num_threads(threads)
    run, trainer = translation_speed.build(recipe, 1, "cpu")
    batch, plain = next(trainer.stream), getattr(translation_speed, TRANSLATION[recipe][1])
    times = []
    for n in steps:
        started = time.perf_counter()
        for _ in range(n):
            plain(run, batch)
        times.append(time.perf_counter() - started)
    return (times[1] - times[0]) / (steps[1] - steps[0])


FP32 = ["--set", "train.precision=fp32", "--set", "train.channels_last=false"]


def whole_command_rows(threads: int, repeat: int = 1, only: list[str] | None = None) -> list[tuple[str, float, float]]:
    """Each recipe's whole command against its plain loop, measured side by side ``repeat``
    times; the pair with the median ratio is shown (the machine's speed drifts between pairs)."""
    rows = []
    plans = [("quickstart", (100, 600))]  # samples at 250 and 500, a checkpoint at 500 inside the difference
    if CELEBA.is_dir():
        plans.append(("dcgan-celeba-64", (10, 60)))
    plans += [(recipe, steps) for recipe, (folder, _, steps) in TRANSLATION.items() if folder.is_dir()]
    for recipe, steps in plans:
        if only and recipe not in only:
            continue
        plain_loop = plain_translation_seconds_per_step if recipe in TRANSLATION else plain_seconds_per_step
        pairs = sorted(((plain_loop(recipe, steps, threads),
                         command_seconds_per_step(recipe, steps, threads, FP32))  # like for like: the loop is fp32
                        for _ in range(repeat)), key=lambda pair: pair[0] / pair[1])
        plain, ours = pairs[len(pairs) // 2]
        spread = f", {repeat} pairs: {pairs[0][0] / pairs[0][1]:.2f}-{pairs[-1][0] / pairs[-1][1]:.2f}" if repeat > 1 else ""
        rows.append((f"{recipe}: whole `ganforge train` (fp32) vs plain loop (s/step{spread})", plain, ours))
        if recipe == "quickstart":  # its recipe turns the fast path on
            rows.append(("quickstart: its recipe (precision auto + channels_last) vs fp32 (s/step)", ours,
                         command_seconds_per_step(recipe, steps, threads, [])))
    return rows


def fast_path_rows(threads: int, compile: bool) -> list[tuple[str, float, float]]:
    if not CELEBA.is_dir():
        return []
    steps = (10, 60)
    fp32 = command_seconds_per_step("dcgan-celeba-64", steps, threads, FP32)
    fast = ["--set", "train.precision=auto", "--set", "train.channels_last=true"]
    rows = [("dcgan-celeba-64: precision auto + channels_last vs fp32 eager (s/step)", fp32,
             command_seconds_per_step("dcgan-celeba-64", steps, threads, fast))]
    if compile:
        rows.append(("dcgan-celeba-64: + compile vs fp32 eager (s/step)", fp32,
                     command_seconds_per_step("dcgan-celeba-64", steps, threads, [*fast, "--set", "train.compile=true"])))
    return rows


def startup_rows(threads: int) -> list[tuple[str, float, float]]:
    python = [sys.executable]
    torch_import = statistics.median(wall([*python, "-c", "import torch"], threads) for _ in range(3))
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([*python, "-m", "ganforge", "train", "recipes/quickstart.yaml", "--no-preflight", "--set",
                        "train.steps=2", "--set", "train.checkpoint_every=2", "--set", f"output.dir={out}/run"],
                       check=True, cwd=REPO, env=environment(threads), capture_output=True)
        sample = statistics.median(wall([*python, "-m", "ganforge", "sample", f"{out}/run", "--n", "8", "--out",
                                         f"{out}/samples"], threads) for _ in range(3))
    rows = [("`ganforge sample RUN --n 8` vs `import torch` + 1 s (s)", torch_import + 1.0, sample)]
    for args in (["--help"], ["plugins"], ["schema"], ["validate", "recipes/quickstart.yaml", "--no-preflight"]):
        seconds = statistics.median(wall([*python, "-m", "ganforge", *args], threads) for _ in range(3))
        rows.append((f"`ganforge {' '.join(args)}` vs 1 s (s)", 1.0, seconds))
    return rows


def data_rows(threads: int) -> list[tuple[str, float, float]]:
    if not CELEBA.is_dir():
        return []
    import torch
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset
    from torchvision.transforms import v2

    from ganforge.builtin.data import ImageFolderParams
    from ganforge.data.image_folder import ImageFolder

    torch.set_num_threads(threads)
    files = sorted(CELEBA.glob("*.jpg"))

    class Plain(Dataset):
        transform = v2.Compose([v2.PILToTensor(), v2.Resize(64, interpolation=v2.InterpolationMode.BICUBIC, antialias=True), v2.CenterCrop(64),
                                v2.RandomHorizontalFlip(), v2.ToDtype(torch.float32, scale=True),
                                v2.Normalize([0.5] * 3, [0.5] * 3)])

        def __len__(self) -> int:
            return len(files)

        def __getitem__(self, index: int):
            with Image.open(files[index]) as image:
                return self.transform(image.convert("RGB"))

    def rate(dataset, workers: int, batches: int = 12) -> float:
        loader = DataLoader(dataset, batch_size=128, shuffle=True, num_workers=workers, drop_last=True,
                            persistent_workers=False)
        started, seen = time.perf_counter(), 0
        for i, batch in enumerate(loader):
            seen += len(batch["x"] if isinstance(batch, dict) else batch)
            if i + 1 == batches:
                break
        return seen / (time.perf_counter() - started)

    rows = []
    with tempfile.TemporaryDirectory() as cache:
        os.environ["GANFORGE_CACHE_DIR"] = cache
        cached = ImageFolder(ImageFolderParams(root=CELEBA, size=64, flip=True, cache=True), seed=0)
        for _ in DataLoader(cached, batch_size=128, num_workers=2):  # the first epoch fills the cache
            pass
        for workers in (0, 2):
            plain = rate(Plain(), workers)
            ours = rate(ImageFolder(ImageFolderParams(root=CELEBA, size=64, flip=True), seed=0), workers)
            fast = rate(ImageFolder(ImageFolderParams(root=CELEBA, size=64, flip=True, fast_decode=True), seed=0),
                        workers)
            # images per second, shown as such; the ratio is ours / plain (higher is faster)
            rows.append((f"image-folder CelebA 64 px, {workers} workers vs transforms.v2 (img/s)", 1 / plain, 1 / ours))
            rows.append(("  with fast_decode (img/s)", 1 / plain, 1 / fast))
            rows.append(("  with cache, after the first epoch (img/s)", 1 / plain, 1 / rate(cached, workers)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="+", choices=["command", "fast", "startup", "data"],
                        default=["command", "fast", "startup", "data"])
    parser.add_argument("--compile", action="store_true", help="add the train.compile row (minutes of compilation)")
    parser.add_argument("--recipes", nargs="+", metavar="RECIPE", help="only these whole-command rows (recipe names)")
    parser.add_argument("--repeat", type=int, default=1, help="side-by-side pairs of each whole-command row (median)")
    args = parser.parse_args()
    sections = {"command": lambda: whole_command_rows(args.threads, args.repeat, args.recipes),
                "fast": lambda: fast_path_rows(args.threads, args.compile),
                "startup": lambda: startup_rows(args.threads), "data": lambda: data_rows(args.threads)}
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {args.threads} threads; "
          "ratio = baseline / ganforge (>= 1.0: no tax)")
    print(f"| {'what':<72} | baseline | ganforge | ratio |")
    print(f"|{'-' * 74}|---------:|---------:|------:|")
    for name in args.only:
        for what, baseline, ours in sections[name]():
            if what.endswith("(img/s)"):
                shown = f"| {what:<72} | {1 / baseline:8.0f} | {1 / ours:8.0f} |"
            else:
                shown = f"| {what:<72} | {baseline:8.3f} | {ours:8.3f} |"
            print(f"{shown} {baseline / ours:5.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
