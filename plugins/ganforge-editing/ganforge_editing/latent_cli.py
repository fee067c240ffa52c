"""``ganforge latent ...``: the latent-space tools on a run folder. Imports no torch until a
command runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ganforge.sdk import Commands

ENCODER_FILE, ATTRIBUTES_FILE = "encoder.safetensors", "attributes.safetensors"
ATTRIBUTES_FILES = {"z": ATTRIBUTES_FILE, "w": "attributes-w.safetensors"}


def add_latent_command(subparsers: Commands) -> None:
    p = subparsers.add_parser("latent", help="latent-space tools: interpolate, encode, attributes, arithmetic, edit, "
                                             "complete, degenerate, project; in W: truncation, mix, invert")
    sub = p.add_subparsers(dest="latent_command", metavar="COMMAND", required=True)

    def space_options(q: argparse.ArgumentParser) -> None:
        q.add_argument("--space", choices=["z", "w"], default="z",
                       help="z: through the encoder (`latent encode`); w: images projected into W (StyleGAN2)")
        q.add_argument("--project-steps", type=int, default=200, help="with --space w: inversion steps per image")
        q.add_argument("--lpips-weights", type=Path, help="with --space w: LPIPS weights for the projection "
                                                          "(default: pixel error)")

    def command(name: str, help: str, handler) -> argparse.ArgumentParser:
        q = sub.add_parser(name, help=help, description=help)
        q.add_argument("run", type=Path, help="run folder (or checkpoints/step_<N>) of a noise-to-image model")
        q.add_argument("--seed", type=int, default=0)
        q.set_defaults(handler=handler)
        return q

    q = command("interpolate", "paths between random latents as a PNG grid (rows of steps) or an animated GIF", cmd_interpolate)
    q.add_argument("--rows", type=int, default=4)
    q.add_argument("--steps", type=int, default=8)
    q.add_argument("--method", choices=["slerp", "lerp"], default="slerp")
    q.add_argument("--space", choices=["z", "w"], default="z", help="w: straight paths between styles (StyleGAN2)")
    q.add_argument("--out", type=Path, required=True, help="a .png or .gif file")

    q = command("truncation", "a sheet of samples (rows) at several truncations psi in W (columns); StyleGAN2",
                cmd_truncation)
    q.add_argument("--psi", default="1,0.7,0.5,0", help="comma-separated psi values, one column each")
    q.add_argument("--rows", type=int, default=4)
    q.add_argument("--out", type=Path, required=True, help="a .png file")

    q = command("mix", "a style-mixing sheet: coarse styles from the row sources, fine ones from the column sources; "
                       "StyleGAN2", cmd_mix)
    q.add_argument("--rows", type=int, default=4)
    q.add_argument("--columns", type=int, default=4)
    q.add_argument("--mix-from", type=int, help="first layer whose style comes from the column source (default: the middle)")
    q.add_argument("--out", type=Path, required=True, help="a .png file")

    q = command("invert", "find the styles (W, or W+: one per layer) that reproduce images, by optimisation; StyleGAN2",
                cmd_invert)
    q.add_argument("images", type=Path, nargs="+")
    q.add_argument("--space", choices=["w", "w+"], default="w")
    q.add_argument("--steps", type=int, default=300)
    q.add_argument("--lr", type=float, default=0.05)
    q.add_argument("--lpips-weights", type=Path, help="torchvision's AlexNet (or VGG16 with --lpips-net vgg) weights "
                                                     "file: LPIPS as the distance (default: pixel error)")
    q.add_argument("--lpips-net", choices=["alex", "vgg"], default="alex")
    q.add_argument("--out", type=Path, required=True, help="folder: sheet.png (target | inverted), styles.safetensors")

    q = command("encode", "train an encoder E inverting the frozen generator; writes E and a reconstruction sheet", cmd_encode)
    q.add_argument("--steps", type=int, default=1000)
    q.add_argument("--batch-size", type=int, default=64)
    q.add_argument("--lr", type=float, default=2e-4)
    q.add_argument("--width", type=int, default=64, help="encoder width (with --from-discriminator: the discriminator's)")
    q.add_argument("--from-discriminator", action="store_true", help="start E's trunk as a copy of the discriminator's")
    q.add_argument("--images", type=int, default=2000, help="real images from the run's data for the x -> E -> G term")
    q.add_argument("--out", type=Path, help=f"encoder file (default <run>/{ENCODER_FILE})")

    q = command("attributes", "attribute vectors from labelled data: mean E(x | attribute) - mean E(x | not)", cmd_attributes)
    q.add_argument("--factor", default="y", help="the data's label to use: y (classes) or a factor such as color")
    q.add_argument("--images", type=int, default=2000)
    q.add_argument("--encoder", type=Path, help=f"default <run>/{ENCODER_FILE}")
    q.add_argument("--out", type=Path, help=f"default <run>/{ATTRIBUTES_FILE} (in W: {ATTRIBUTES_FILES['w']})")
    space_options(q)

    q = command("arithmetic", "vector arithmetic a - b + c between the mean latents of labelled sets of the run's data",
                cmd_arithmetic)
    for name, example in (("a", "y=square,color=red"), ("b", "y=square,color=blue"), ("c", "y=triangle,color=blue")):
        q.add_argument(f"--{name}", required=True, metavar="LABEL=VALUE,...", help=f"set {name}, e.g. {example}")
    q.add_argument("--rows", type=int, default=4, help="further rows, each from the mean of --per-row random members")
    q.add_argument("--per-row", type=int, default=3)
    q.add_argument("--images", type=int, default=2000)
    q.add_argument("--encoder", type=Path)
    q.add_argument("--out", type=Path, required=True, help="sheet: a | b | c | a - b + c")
    space_options(q)

    q = command("edit", "encode an image, add or remove attributes, decode; also ranks the attributes it carries", cmd_edit)
    q.add_argument("image", type=Path)
    q.add_argument("--add", action="append", default=[], metavar="NAME=AMOUNT", help="e.g. square=+1.0 (repeatable)")
    q.add_argument("--remove", action="append", default=[], metavar="NAME", help="subtract the attribute once")
    q.add_argument("--encoder", type=Path)
    q.add_argument("--attributes", type=Path)
    q.add_argument("--out", type=Path, required=True, help="sheet: image | reconstruction | edit")
    space_options(q)

    q = command("complete", "fill a centred hole of each image by optimising the latent (semantic inpainting)", cmd_complete)
    q.add_argument("images", type=Path, nargs="+")
    q.add_argument("--hole", type=float, default=0.5, help="side of the centred square hole, as a fraction")
    q.add_argument("--steps", type=int, default=300)
    q.add_argument("--restarts", type=int, default=4)
    q.add_argument("--prior-weight", type=float, default=0.003)
    q.add_argument("--out", type=Path, required=True, help="folder: sheets of masked | completed | G(z)")

    q = command("degenerate", "freeze D and keep training G: grids of what the discriminator rewards", cmd_degenerate)
    q.add_argument("--steps", type=int, default=500)
    q.add_argument("--grids", type=int, default=6, help="sample grids written along the way")
    q.add_argument("--out", type=Path, required=True, help="folder for the grids")

    q = command("project", "a dataset's latents E(x) on a 2-D plane (as they are when 2-D, else PCA) and on the unit "
                           "circle, coloured by label; a game with its own encoder (AAE, BiGAN) uses it", cmd_project)
    q.add_argument("--factor", help="the label that colours the points (default: y when the data has classes, "
                                    "else one colour)")
    q.add_argument("--images", type=int, default=1000)
    q.add_argument("--encoder", type=Path, help=f"default: the game's own encoder, else <run>/{ENCODER_FILE}")
    q.add_argument("--out", type=Path, required=True, help="a .png file")


# ----------------------------------------------------------------- helpers

def _model(run: Path):
    from ganforge.sdk import load

    return load(run)


def _labelled_data(model, n: int):
    """Up to ``n`` images of the run's own data, all their labels by name, and the data's info."""
    import torch

    data = model.training_data()
    items = [data[i] for i in range(min(n, len(data)))]
    labels = {k: torch.stack([item[k] for item in items]) for k in items[0] if k not in ("x", "source")}
    return torch.stack([item["x"] for item in items]), labels, data.info


def _data(model, n: int, factor: str = "y"):
    """Up to ``n`` images of the run's own data with the labels named ``factor``."""
    images, labels, info = _labelled_data(model, n)
    return images, _label(labels, factor), info


def _label(labels: dict, factor: str):
    from ganforge.sdk import GanforgeError

    if factor not in labels:
        raise GanforgeError(f"the run's data has no label {factor!r}; it has {', '.join(sorted(labels)) or 'none'}")
    return labels[factor]


def _names(labels, factor: str, info) -> tuple[object, list[str]]:
    """Integer labels and a name for each value (a continuous factor is split at its median)."""
    if labels.is_floating_point():
        return (labels > labels.median()).long(), [f"low {factor}", f"high {factor}"]
    names = info.value_names(factor)
    return labels.long(), list(names) if names else [f"{factor}={k}" for k in range(int(labels.max()) + 1)]


def _selection(text: str, labels: dict, info) -> dict[str, int]:
    """``y=square,color=red`` as label values: a value's name (class names, colours, binary
    attributes) or its integer."""
    from ganforge.sdk import GanforgeError

    where = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if name not in labels:
            raise GanforgeError(f"{part!r}: the run's data has no label {name!r}; it has {', '.join(sorted(labels))}")
        if labels[name].is_floating_point():
            raise GanforgeError(f"{part!r}: {name} is continuous; sets are chosen by integer labels")
        names = list(info.value_names(name) or ())
        if value in names:
            where[name] = names.index(value)
        elif value.lstrip("-").isdigit():
            where[name] = int(value)
        else:
            known = ", ".join(names) if names else "an integer"
            raise GanforgeError(f"{part!r}: {value!r} is not a value of {name}; use {known}")
    if not where:
        raise GanforgeError(f"{text!r} chooses no set; write LABEL=VALUE pairs such as y=square,color=red")
    return where


def _space(model, args):
    """(encode, decode) of the latent space chosen by ``--space``: the trained encoder and the
    generator in Z, projection and synthesis in W."""
    if args.space == "w":
        from ganforge.sdk import build_lpips
        from ganforge_editing.latent_w import Projection

        lpips = build_lpips("alex", args.lpips_weights, False, model.device) if args.lpips_weights else None
        projection = Projection(model, steps=args.project_steps, lpips=lpips, seed=args.seed)
        return projection, projection.generate
    import torch

    encoder = _load_encoder(model, args.encoder)

    def encode(images):
        with torch.no_grad():
            return encoder(images)

    def decode(z):
        with torch.no_grad():
            return model.generate({"z": z})

    return encode, decode


def _load_encoder(model, path: Path | None):
    from ganforge_classic import DCGANEncoder
    from safetensors import safe_open
    from safetensors.torch import load_file

    from ganforge.sdk import GanforgeError

    path = path or model.folder / ENCODER_FILE
    if not Path(path).is_file():
        raise GanforgeError(f"no encoder at {path}; train one with `ganforge latent encode {model.folder}`")
    with safe_open(str(path), "pt") as handle:
        meta = json.loads(handle.metadata()["ganforge_encoder"])
    encoder = DCGANEncoder(model.info.shape, meta["z_dim"], meta["width"], meta["max_width"])
    encoder.load_state_dict(load_file(str(path)))
    return encoder.eval()


def _load_attributes(model, path: Path | None, space: str = "z") -> tuple[dict, dict[str, tuple[list[str], dict]]]:
    """The attribute vectors, and for each factor they were made for, the label values it
    names (in order) and its linear probe."""
    from ganforge.sdk import GanforgeError

    path = path or model.folder / ATTRIBUTES_FILES[space]
    if not Path(path).is_file():
        raise GanforgeError(f"no attribute vectors at {path}; make them with "
                            f"`ganforge latent attributes {model.folder}{' --space w' if space == 'w' else ''}`")
    stored = _attributes_space(Path(path))
    if stored != space:
        raise GanforgeError(f"{path} holds attribute vectors in {stored.upper()}, not {space.upper()}; "
                            f"use --space {stored}, or make vectors in {space.upper()} with "
                            f"`ganforge latent attributes {model.folder} --space {space}`")
    return _read_attributes(Path(path), model)


def _attributes_space(path: Path) -> str:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        return (handle.metadata() or {}).get("space", "z")


def _read_attributes(path: Path, model) -> tuple[dict, dict[str, tuple[list[str], dict]]]:
    from safetensors import safe_open
    from safetensors.torch import load_file

    from ganforge.sdk import GanforgeError

    with safe_open(str(path), "pt") as handle:
        meta = handle.metadata() or {}
    tensors = load_file(str(path))
    stored = {k: tensors.pop(k) for k in list(tensors) if k.startswith("_probe/")}
    if "factors" in meta:
        factors = {factor: (names, {k.rsplit("/", 1)[1]: v for k, v in stored.items()
                                    if k.startswith(f"_probe/{factor}/")})
                   for factor, names in json.loads(meta["factors"]).items()}
    elif "names" in meta:  # one factor, as written before factors were added up
        factors = {"y": (json.loads(meta["names"]), {k.split("/", 1)[1]: v for k, v in stored.items()})}
    else:
        factors = {}
    if not factors or any(set(probe) != {"weight", "bias", "mean", "std"} for _, probe in factors.values()):
        raise GanforgeError(f"{path} was written by an older ganforge; make it again with "
                            f"`ganforge latent attributes {model.folder}`")
    return tensors, factors


def _read_images(files: list[Path], model):
    import torch
    from PIL import Image

    from ganforge.sdk import convert, open_image, to_tensor

    channels, size = model.info.shape[0], model.info.shape[-1]
    return torch.stack([to_tensor(convert(open_image(f, 3), channels).resize((size, size), Image.Resampling.BICUBIC))
                        for f in files])


# ----------------------------------------------------------------- commands

def cmd_interpolate(args) -> int:
    from ganforge_editing.latent import interpolate, save_strip

    model = _model(args.run)
    if args.space == "w":
        from ganforge_editing.latent_w import interpolate_w

        out = save_strip(interpolate_w(model, args.rows, args.steps, args.seed), args.rows, args.out)
        print(f"wrote {out}: {args.rows} straight paths in W of {args.steps} steps")
        return 0
    out = save_strip(interpolate(model, args.rows, args.steps, args.method, args.seed), args.rows, args.out)
    print(f"wrote {out}: {args.rows} {args.method} paths of {args.steps} steps")
    return 0


def cmd_truncation(args) -> int:
    from ganforge.sdk import GanforgeError, image_grid, save_png
    from ganforge_editing.latent_w import truncation_sheet

    try:
        psis = [float(v) for v in args.psi.split(",") if v.strip()]
    except ValueError:
        raise GanforgeError(f"--psi takes comma-separated numbers, such as 1,0.7,0.5,0; got {args.psi!r}") from None
    images = truncation_sheet(_model(args.run), psis, args.rows, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_png(image_grid(images, nrow=len(psis)), args.out)
    print(f"wrote {args.out}: {args.rows} samples at psi {', '.join(map(str, psis))}")
    return 0


def cmd_mix(args) -> int:
    from ganforge.sdk import image_grid, save_png
    from ganforge_editing.latent_w import mixing_sheet

    images = mixing_sheet(_model(args.run), args.rows, args.columns, args.mix_from, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_png(image_grid(images, nrow=args.columns + 1), args.out)
    print(f"wrote {args.out}: {args.rows} x {args.columns} mixes")
    return 0


def cmd_invert(args) -> int:
    from safetensors.torch import save_file

    from ganforge.sdk import build_lpips, comparison_sheet, save_png
    from ganforge_editing.latent import psnr
    from ganforge_editing.latent_w import invert

    model = _model(args.run)
    targets = _read_images(args.images, model)
    lpips = build_lpips(args.lpips_net, args.lpips_weights, False, model.device) if args.lpips_weights else None
    result = invert(model, targets, space=args.space, steps=args.steps, lr=args.lr, lpips=lpips, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    save_png(comparison_sheet([targets, result.images]), args.out / "sheet.png")
    save_file({"ws": result.ws.contiguous()}, str(args.out / "styles.safetensors"),
              metadata={"space": args.space, "files": ",".join(str(f) for f in args.images)})
    quality = sum(psnr(result.images[i], targets[i]) for i in range(len(targets))) / len(targets)
    print(f"wrote {args.out}: {len(targets)} images inverted into {args.space.upper()} ({result.distance} distance, "
          f"{args.steps} steps; loss {result.losses[0]:.4f} -> {result.losses[-1]:.4f}), mean PSNR {quality:.2f} dB")
    return 0


def cmd_encode(args) -> int:
    import torch

    from ganforge.sdk import comparison_sheet, save_png
    from ganforge_editing.latent import (
        new_encoder,
        reconstruct,
        save_encoder,
        train_encoder,
    )

    model = _model(args.run)
    images = _labelled_data(model, args.images + 64)[0]  # E needs images only: any folder will do
    train_images, held_out = images[:-64], images[-64:]
    encoder, report = train_encoder(model, train_images, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                                    width=args.width, from_discriminator=args.from_discriminator, seed=args.seed)
    baseline, _ = new_encoder(model, args.width)
    ours = reconstruct(model, encoder, held_out)
    error = float((ours - held_out).abs().mean())
    random_error = float((reconstruct(model, baseline.eval(), held_out) - held_out).abs().mean())
    trunk = encoder.trunk[0]
    out = args.out or model.folder / ENCODER_FILE
    meta = {"z_dim": encoder.z_dim, "width": trunk.out_channels, "max_width": max(
        m.out_channels for m in encoder.trunk if isinstance(m, torch.nn.Conv2d)), "steps": args.steps,
        "initialised_from": report.initialised_from, "held_out_l1": error, "random_encoder_l1": random_error}
    save_encoder(encoder, out, meta)
    sheet = Path(out).with_name(Path(out).stem + "-reconstructions.png")
    save_png(comparison_sheet([held_out[:16], ours[:16]]), sheet)
    print(f"wrote {out} and {sheet} (image | G(E(image))); held-out L1 {error:.4f} vs {random_error:.4f} for a "
          f"random encoder; E started from {report.initialised_from}")
    return 0


def cmd_attributes(args) -> int:
    from safetensors.torch import save_file

    from ganforge_editing.latent import attribute_vectors, fit_attribute_probe

    model = _model(args.run)
    encoder, _ = _space(model, args)
    images, labels, info = _data(model, args.images, args.factor)
    labels, names = _names(labels, args.factor, info)
    codes = encoder(images)
    vectors = attribute_vectors(codes, labels, names)
    probe = fit_attribute_probe(codes, labels, names)
    out = args.out or model.folder / ATTRIBUTES_FILES[args.space]
    earlier, factors = _load_attributes(model, out, args.space) if out.is_file() else ({}, {})
    factors[args.factor] = (names, probe)  # this factor's values and probe replace its earlier ones; others stay
    tensors = {**earlier, **vectors}
    tensors.update({f"_probe/{factor}/{k}": v for factor, (_, p) in factors.items() for k, v in p.items()})
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(out),
              metadata={"space": args.space,
                        "factors": json.dumps({factor: factor_names for factor, (factor_names, _) in factors.items()})})
    kept = f"; kept the vectors of {', '.join(f for f in factors if f != args.factor)}" if len(factors) > 1 else ""
    print(f"wrote {out}: " + ", ".join(f"{k} (|v| {float(v.norm()):.2f})" for k, v in vectors.items()) + kept)
    return 0


def cmd_arithmetic(args) -> int:
    import torch

    from ganforge.sdk import comparison_sheet, save_png
    from ganforge_editing.latent import analogy, check_analogy_sets, matching

    model = _model(args.run)
    images, labels, info = _labelled_data(model, args.images)
    selections = [_selection(text, labels, info) for text in (args.a, args.b, args.c)]
    sets = [matching(labels, where) for where in selections]
    check_analogy_sets(sets)
    if args.space == "w":  # project only the images the three sets use
        used = sets[0] | sets[1] | sets[2]
        images, sets = images[used], [mask[used] for mask in sets]
    encoder, decode = _space(model, args)
    table = analogy(encoder(images), sets, rows=args.rows, per_row=args.per_row, seed=args.seed)
    with torch.no_grad():
        pictures = decode(table.flatten(0, 1)).view(*table.shape[:2], *model.info.shape)
    save_png(comparison_sheet([pictures[:, k] for k in range(4)]), args.out)
    sizes = ", ".join(f"{name}: {int(mask.sum())} images" for name, mask in zip("abc", sets))
    print(f"wrote {args.out} (a | b | c | a - b + c; row 1 from the sets' means, then {args.rows} rows from "
          f"{args.per_row} random members each); {sizes}")
    return 0


def cmd_edit(args) -> int:

    from ganforge.sdk import GanforgeError, comparison_sheet, save_png
    from ganforge_editing.latent import edit, rank_attributes

    model = _model(args.run)
    vectors, factors = _load_attributes(model, args.attributes, args.space)
    encoder, decode = _space(model, args)
    amounts = {}
    for item in args.add:
        name, _, amount = item.partition("=")
        try:
            amounts[name] = float(amount or 1.0)
        except ValueError:
            raise GanforgeError(f"--add {item}: the amount must be a number, as in {name}=+1.0") from None
    for name in args.remove:
        amounts[name] = amounts.get(name, 0.0) - 1.0
    image = _read_images([args.image], model)
    code = encoder(image)
    edited, reconstruction = decode(edit(code, vectors, amounts)), decode(code)
    save_png(comparison_sheet([image, reconstruction, edited]), args.out)
    ranked = sorted((pair for names, probe in factors.values()
                     for pair in rank_attributes(code, names, probe)[0]),
                    key=lambda pair: -pair[1])
    print(f"wrote {args.out} (image | reconstruction | edit); attributes it carries (probability): "
          + ", ".join(f"{name} {score:.2f}" for name, score in ranked[:5]))
    return 0


def cmd_complete(args) -> int:
    from ganforge.sdk import comparison_sheet, save_png
    from ganforge_editing.data import hole_mask
    from ganforge_editing.latent import complete

    model = _model(args.run)
    from ganforge_translation import input_files

    files = input_files(args.images)
    images = _read_images(files, model)
    hole = hole_mask(images.shape[-1], "center", args.hole, None)[None]
    result = complete(model, images, hole, steps=args.steps, restarts=args.restarts, prior_weight=args.prior_weight,
                      seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    for file, masked, filled, generated in zip(files, images * (1 - hole), result.images, result.generated):
        save_png(comparison_sheet([masked[None], filled[None], generated[None]]), args.out / f"{file.stem}.png")
    print(f"wrote {len(files)} sheets to {args.out} (masked | completed | G(z)); known-pixel error "
          f"{result.masked_error[0]:.4f} -> {result.masked_error[-1]:.4f} over {args.steps} steps")
    return 0


def cmd_degenerate(args) -> int:
    import torch

    from ganforge.sdk import BatchStream, render, save_png

    model = _model(args.run)
    run, objective = model.run, model.objective
    data = model.training_data()
    stream = BatchStream(data, run.recipe.train.batch_size, args.seed, device=model.device)
    for name in objective.discriminators:
        model.nets[name].requires_grad_(False)
    params = [p for name in objective.generators for p in model.nets[name].parameters()]
    settings = run.recipe.optim.get(objective.generators[0])
    optimizer = torch.optim.Adam(params, lr=settings.lr if settings else 2e-4, betas=(0.5, 0.999))
    fixed = model.inputs(64, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    every = max(1, args.steps // max(args.grids - 1, 1))
    for net in model.nets.values():
        net.train()
    for step in range(args.steps + 1):
        if step % every == 0 or step == args.steps:
            save_png(render(model.generate(fixed)), args.out / f"step_{step:06d}.png")
        if step == args.steps:
            break
        loss, _ = objective.generator_loss(model.nets, next(stream))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    print(f"wrote grids to {args.out}: G trained {args.steps} steps against the frozen discriminator")
    return 0


def cmd_project(args) -> int:
    try:
        import matplotlib
    except ImportError:
        from ganforge.sdk import GanforgeError

        raise GanforgeError("latent project draws its picture with matplotlib, which is not installed: "
                            "pip install 'ganforge[report]'") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from ganforge_classic import Reconstructs

    model = _model(args.run)
    if args.encoder is None and isinstance(model.objective, Reconstructs):  # the game trained its own (AAE, BiGAN)
        def encoder(x):
            return model.objective.encode(model.nets, x)
    else:
        encoder = _load_encoder(model, args.encoder)
    images, all_labels, info = _labelled_data(model, args.images)
    factor = args.factor or ("y" if "y" in all_labels else None)
    if factor is None:
        labels, names = torch.zeros(len(images), dtype=torch.long), ["all images"]
    else:
        labels, names = _names(_label(all_labels, factor), factor, info)
    with torch.no_grad():
        codes = encoder(images)
    if codes.shape[1] == 2:  # the codes themselves (an AAE's 2-D prior)
        plane, title, axis = codes, f"E(x) ({len(images)} images)", "z"
    else:
        centred = codes - codes.mean(0)
        _, _, v = torch.pca_lowrank(centred, q=2, center=False)
        plane, title, axis = centred @ v[:, :2], f"E(x) on its first two principal axes ({len(images)} images)", "PC "
    circle = plane / plane.norm(dim=1, keepdim=True).clamp(min=1e-8)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for k, name in enumerate(names):
        chosen = labels == k
        axes[0].scatter(plane[chosen, 0], plane[chosen, 1], s=6, label=name, alpha=0.7)
        angle = torch.atan2(circle[chosen, 1], circle[chosen, 0])
        axes[1].scatter(torch.cos(angle) * (1 + 0.03 * k), torch.sin(angle) * (1 + 0.03 * k), s=6, alpha=0.7)
    axes[0].set(title=title, xlabel=f"{axis}1", ylabel=f"{axis}2")
    axes[1].set(title="directions on the unit circle", aspect="equal")
    axes[0].legend(fontsize=7, markerscale=2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {args.out}")
    return 0
