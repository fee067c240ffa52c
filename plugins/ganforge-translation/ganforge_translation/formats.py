"""Checkpoint formats of the reference translation code: ``ganforge import junyanz-pix2pix |
junyanz-cyclegan | pix2pixhd FILE --out RUN`` and ``ganforge export RUN --format junyanz-pix2pix``.

Each reader detects the architecture from the file, checks it against any option given, and
returns a recipe whose nets behave at test time as the reference test script does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganforge.sdk import DataInfo, GanforgeError, ImportedRun, read_state_dict
from ganforge_translation import junyanz
from ganforge_translation.junyanz import Layout, LayoutError

ADAM = {"lr": 2e-4, "betas": [0.5, 0.999]}
HD_KEY = re.compile(r"model(1_[12])?\.\d+\.(conv_block\.\d+\.)?(weight|bias|running_mean|running_var|num_batches_tracked)$")


def tensors_only(state: dict[str, Any], source: Path) -> dict[str, Tensor]:
    """The state dict's tensors; an error for a file that holds something else (a whole
    training checkpoint, say)."""
    others = [k for k, v in state.items() if not isinstance(v, Tensor)]
    if others:
        raise GanforgeError(f"{source} is not a generator's state dict: {others[0]!r} holds a "
                            f"{type(state[others[0]]).__name__}, not a tensor (a training checkpoint? "
                            "save its generator's state_dict() alone)")
    return state


def data_root(given: str | None, default: str) -> str:
    """The recipe's data folder: ``--data`` or the reference's layout, from where the command runs."""
    return str(Path(given or default).expanduser().resolve())


def run_name(source: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(source).stem).strip("-")[:80] or "imported"


def check_given(layout: Layout, params: Any, source: Path) -> None:
    """Options given on the command line must agree with what the file shows."""
    for option, found in (("netG", layout.netG), ("norm", layout.norm), ("ngf", layout.ngf)):
        given = getattr(params, option)
        if given is not None and given != found:
            raise GanforgeError(f"--{option} {given} does not match {source}, which holds a {layout.netG} generator "
                                f"with {layout.norm} norm and ngf {layout.ngf}; drop --{option} (it is detected)")
    if layout.dropout is not None and params.no_dropout is not None and params.no_dropout == layout.dropout:
        raise GanforgeError(f"--no_dropout {params.no_dropout} does not match {source}, whose residual blocks "
                            f"{'have' if layout.dropout else 'have no'} dropout layers; drop the option (it is detected)")


def read_junyanz(source: Path, params: Any, default_dropout: bool) -> tuple[Layout, dict[str, Tensor], bool, list[str]]:
    """(layout, tensors under ganforge's names, dropout, notes) of one reference generator file."""
    source = Path(source)
    state = tensors_only(read_state_dict(source), source)
    try:
        layout = junyanz.describe(state)
    except LayoutError as exc:
        raise GanforgeError(f"{source}: {exc}") from None
    check_given(layout, params, source)
    if layout.dropout is not None:
        dropout = layout.dropout
    elif params.no_dropout is not None:
        dropout = not params.no_dropout
    elif not params.eval:
        raise GanforgeError(f"{source} is a {layout.netG} generator, whose dropout layers hold no tensors: the file "
                            "cannot show whether it was trained with dropout, and without --eval the reference keeps "
                            "dropout on when testing. Say which: --no_dropout false (trained with dropout, pix2pix's "
                            "default) or --no_dropout true; or add --eval, where it makes no difference")
    else:
        dropout = default_dropout
    notes = [f"{source.name}: {layout.netG}, {layout.norm} norm, ngf {layout.ngf}, {layout.input_nc} -> "
             f"{layout.output_nc} channels (read from the file)"]
    if layout.kind == "unet" and params.no_dropout is None:
        notes.append(f"dropout {'on' if dropout else 'off'} in the recipe (the format's default; with --eval it does "
                     "not change the translations, only fine-tuning)")
    stale = [k for k in state if k.endswith(("running_mean", "running_var", "num_batches_tracked"))
             and layout.norm == "instance"]
    if stale:
        notes.append(f"dropped {len(stale)} instance-norm statistics saved by PyTorch < 0.4 (the reference drops them too)")
    return layout, junyanz.to_ganforge(state, layout), dropout, notes


def behaviour_note(layout: Layout, dropout: bool, reference_eval: bool) -> str:
    if reference_eval:
        return "test time as the reference with --eval: running batch-norm statistics, no dropout"
    parts = []
    if layout.norm == "batch":
        parts.append("batch norm normalises each image by its own statistics")
    if dropout:
        parts.append("dropout stays on (outputs vary with the seed)")
    return ("test time as the reference without --eval: " + ", ".join(parts) + "; pass --eval for the other"
            if parts else "test time: the same with and without --eval (instance norm, no dropout)")


def patchgan(norm: str, conditional: bool, domain: str = "target") -> dict:
    """The reference's default discriminator (n_layers 3: a 70 px PatchGAN), not in the file."""
    return {"type": "patchgan-discriminator", "receptive_field": 70, "norm": norm, "conditional": conditional,
            "domain": domain}


class JunyanzPix2Pix:
    """One reference generator (pix2pix, or a single CycleGAN direction with --model test)."""

    default_dropout = True
    default_netG_norm = "batch"

    def __init__(self, params: Any, ctx: Any = None):
        self.params = params

    def read(self, source: Path) -> ImportedRun:
        p = self.params
        layout, tensors, dropout, notes = read_junyanz(source, p, self.default_dropout)
        size = p.crop_size or (128 if layout.netG == "unet_128" else 256)
        notes.append(behaviour_note(layout, dropout, p.eval))
        notes.append("the discriminator is not in the file: fine-tuning starts one from scratch")
        name = run_name(source)
        a, b = (layout.input_nc, layout.output_nc) if p.direction == "AtoB" else (layout.output_nc, layout.input_nc)
        recipe = {
            "name": name,
            "data": {"type": "paired-folder", "root": data_root(p.data, f"datasets/{name}/test"), "direction": p.direction,
                     "load_size": size, "crop_size": size, "jitter": False, "channels_a": a, "channels_b": b},
            "models": {"generator": junyanz.generator_slot(layout, dropout=dropout, reference_eval=p.eval),
                       "discriminator": patchgan(layout.norm, conditional=True)},
            "objective": {"type": "pix2pix"},
            "optim": {"generator": ADAM, "discriminator": ADAM},
            "train": {"batch_size": 1},
        }
        info = DataInfo(shape=(layout.output_nc, size, size), source_shape=(layout.input_nc, size, size), paired=True)
        return ImportedRun(recipe, info, tensors, notes)

    def write(self, model: Any, out: Path, reverse: bool = False) -> Path:
        """The generator (``reverse``: CycleGAN's second) as a reference state dict, checked by reading it back."""
        generators = list(model.objective.generators)
        if reverse and len(generators) < 2:
            raise GanforgeError(f"{model.folder} has one generator; --reverse is for CycleGAN runs")
        name = generators[1 if reverse else 0]
        slot = model.run.recipe.models[name].model_dump()
        source_c, target_c = model.info.source_shape[0], model.info.shape[0]
        in_c, out_c = (target_c, source_c) if reverse else (source_c, target_c)
        try:
            layout = junyanz.layout_of_slot(slot, in_c, out_c)
        except LayoutError as exc:
            raise GanforgeError(f"{model.folder}: {exc}") from None
        own = {f"generator.{k}": v for k, v in model.nets[name].state_dict().items()}
        reference = junyanz.to_reference(own, layout)
        back = junyanz.to_ganforge(reference, junyanz.describe(reference))
        if any(not torch.equal(back[k], own[k]) for k in own):  # the layout reads back to the same net
            raise GanforgeError("the reference layout did not read back to the same weights; please report this")
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        torch.save(reference, out)
        return out


class JunyanzCycleGAN(JunyanzPix2Pix):
    """A reference CycleGAN: G_A (A to B) and, with --G_B, G_B (B to A)."""

    default_dropout = False

    def read(self, source: Path) -> ImportedRun:
        p = self.params
        if p.G_B is None:
            imported = super().read(source)
            imported.notes.insert(1, "one generator (no --G_B): a one-way model, as the reference's --model test "
                                     "(its recipe is a pix2pix game: fine-tuning it needs paired data)")
            return imported
        layout_a, tensors_a, dropout_a, notes = read_junyanz(Path(source), p, self.default_dropout)
        layout_b, tensors_b, dropout_b, notes_b = read_junyanz(Path(p.G_B), p, self.default_dropout)
        if (layout_b.input_nc, layout_b.output_nc) != (layout_a.output_nc, layout_a.input_nc):
            raise GanforgeError(f"{p.G_B} maps {layout_b.input_nc} to {layout_b.output_nc} channels, but G_A maps "
                                f"{layout_a.input_nc} to {layout_a.output_nc}: is it G_B of the same model?")
        size = p.crop_size or (128 if layout_a.netG == "unet_128" else 256)
        notes += notes_b + [behaviour_note(layout_a, dropout_a, p.eval),
                            "the discriminators are not in the files: fine-tuning starts them from scratch"]
        name = run_name(source)
        a, b = (layout_a.input_nc, layout_a.output_nc) if p.direction == "AtoB" else (layout_a.output_nc, layout_a.input_nc)
        tensors = {**{k.replace("generator.", "g_ab.", 1): v for k, v in tensors_a.items()},
                   **{k.replace("generator.", "g_ba.", 1): v for k, v in tensors_b.items()}}
        recipe = {
            "name": name,
            "data": {"type": "unpaired-folder", "root": data_root(p.data, f"datasets/{name}"), "split": "test",
                     "direction": p.direction, "load_size": size, "crop_size": size, "jitter": False,
                     "channels_a": a, "channels_b": b},
            "models": {"g_ab": junyanz.generator_slot(layout_a, dropout=dropout_a, reference_eval=p.eval),
                       "g_ba": junyanz.generator_slot(layout_b, dropout=dropout_b, reference_eval=p.eval, reverse=True),
                       "d_b": patchgan(layout_a.norm, conditional=False),
                       "d_a": patchgan(layout_a.norm, conditional=False, domain="source")},
            "objective": {"type": "cyclegan"},
            "optim": {n: ADAM for n in ("g_ab", "g_ba", "d_b", "d_a")},
            "train": {"batch_size": 1},
        }
        info = DataInfo(shape=(layout_a.output_nc, size, size), source_shape=(layout_a.input_nc, size, size))
        return ImportedRun(recipe, info, tensors, notes)


class Pix2PixHDCheckpoint:
    """NVIDIA pix2pixHD's generator (``netG: global`` or ``local`` with one local enhancer),
    instance norm; label-map inputs are one-hot encoded with the instance-boundary channel as
    the reference does, by the generator itself."""

    def __init__(self, params: Any, ctx: Any = None):
        self.params = params

    def read(self, source: Path) -> ImportedRun:
        p, source = self.params, Path(source)
        state = tensors_only(read_state_dict(source), source)
        keys = list(state)
        if any(k.startswith("model2_") for k in keys):
            raise GanforgeError(f"{source} has {max(int(k[5]) for k in keys if k.startswith('model') and k[5:6].isdigit())} "
                                "local enhancers; ganforge's pix2pixhd-generator has one (netG local, 1024 px)")
        local = any(k.startswith("model1_1.") for k in keys)
        strange = next((k for k in keys if not HD_KEY.match(k)), None)
        if "model.1.weight" not in state or strange is not None:
            raise GanforgeError(f"{source} is not a pix2pixHD generator: {strange or keys[0]!r} fits no pix2pixHD "
                                f"layout. {junyanz.closest(keys)}")
        if any(k.endswith(("running_mean", "running_var")) or (k.endswith(".weight") and state[k].dim() == 1) for k in keys):
            raise GanforgeError(f"{source} was trained with --norm batch; ganforge imports pix2pixHD's default "
                                "instance norm only")
        netG = "local" if local else "global"
        if p.netG is not None and p.netG != netG:
            raise GanforgeError(f"--netG {p.netG} does not match {source}, which holds a {netG} generator; drop --netG")
        trunk = [k for k in keys if k.startswith("model.")]
        blocks = sorted({int(k.split(".")[1]) for k in trunk if ".conv_block." in k})
        if not blocks:
            raise GanforgeError(f"{source} has no residual blocks (model.<i>.conv_block.*): not a pix2pixHD generator")
        downsamplings = sum(1 for k in trunk if re.match(r"model\.(\d+)\.weight$", k) and 1 < int(k.split(".")[1]) < blocks[0])
        global_width = state["model.1.weight"].shape[0]
        input_nc = state["model.1.weight"].shape[1]
        if local:
            width = state["model1_1.1.weight"].shape[0]
            local_blocks = len({int(k.split(".")[1]) for k in keys if k.startswith("model1_2.") and ".conv_block." in k})
            last = max(int(k.split(".")[1]) for k in keys if re.match(r"model1_2\.\d+\.weight$", k))
            output_nc = state[f"model1_2.{last}.weight"].shape[0]
            if global_width != 2 * width:
                raise GanforgeError(f"{source}: the global generator has {global_width} channels, not twice the local "
                                    f"enhancer's {width}: not a pix2pixHD local generator")
        else:
            width, local_blocks = global_width, 1
            last = max(int(k.split(".")[1]) for k in trunk if re.match(r"model\.\d+\.weight$", k))
            output_nc = state[f"model.{last}.weight"].shape[0]
        label_nc, instance = self.input_encoding(input_nc, source)
        size = p.size
        factor = 2 ** (downsamplings + local)
        if size % factor:
            raise GanforgeError(f"--size {size} is not a multiple of {factor}, which this generator's "
                                f"{downsamplings} global downsamplings{' and local enhancer' if local else ''} need")
        tensors = {}
        for key, value in state.items():
            parts = key.split(".")
            head, index = parts[0], int(parts[1])
            rest = ".".join(parts[2:]).replace("conv_block.", "body.")
            if head == "model":
                ours = "global_net.head.1" if not local and index == last else f"global_net.body.{index}"
            else:
                ours = "local_down" if head == "model1_1" else "local_up"
                ours = f"{ours}.{index}"
            tensors[f"generator.{ours}.{rest}"] = value.detach().clone()
        notes = [f"{source.name}: pix2pixHD {netG} generator, ngf {width}, {downsamplings} global downsamplings, "
                 f"{len(blocks)} global blocks" + (f", {local_blocks} local blocks" if local else "") +
                 f", {input_nc} -> {output_nc} channels"]
        if local:
            out_channels = global_width  # the global generator's own output layer is dropped by the reference
            tensors["generator.global_net.head.1.weight"] = torch.zeros(output_nc, out_channels, 7, 7)
            tensors["generator.global_net.head.1.bias"] = torch.zeros(output_nc)
            notes.append("the global generator's own output layer is not in a local checkpoint (the reference "
                         "drops it): zeros here, used only by coarse-stage training")
        notes.append(f"input: {label_nc} label classes one-hot encoded" if label_nc else "input: images")
        if instance:
            notes.append("plus the instance-boundary channel from instance maps (give them to translate with --instances)")
        notes.append("the discriminator is not in the file: fine-tuning starts one from scratch")
        name = run_name(source)
        generator = {"type": "pix2pixhd-generator", "width": width, "global_downsamplings": downsamplings,
                     "global_blocks": len(blocks), "local_blocks": local_blocks, "local_enhancers": int(local),
                     "norm": "instance", "label_classes": label_nc, "instance_edges": instance}
        root = data_root(p.data, f"datasets/{name}")
        if label_nc:
            data = {"type": "label-maps", "root": root, "split": "test", "size": size, "instances": instance}
            source_channels = 1 + instance
        else:
            data = {"type": "paired-folder", "root": data_root(p.data, f"datasets/{name}/test"), "load_size": size,
                    "crop_size": size, "jitter": False}
            source_channels = 3
            if instance:
                raise GanforgeError(f"{source} takes an image plus instance boundaries: ganforge imports image-input "
                                    "pix2pixHD models trained with --no_instance only; pass --no_instance if it was")
        recipe = {
            "name": name,
            "data": data,
            "models": {"generator": generator,
                       "discriminator": {"type": "multiscale-discriminator", "scales": 2, "norm": "instance",
                                         "conditional": True}},
            "objective": {"type": "pix2pixhd", "perceptual_weight": 0},
            "optim": {"generator": ADAM, "discriminator": ADAM},
            "train": {"batch_size": 1},
        }
        info = DataInfo(shape=(output_nc, size, size), source_shape=(source_channels, size, size), paired=True)
        return ImportedRun(recipe, info, tensors, notes)

    def input_encoding(self, input_nc: int, source: Path) -> tuple[int, bool]:
        """(label classes, instance boundaries) from the options and the first layer's channels."""
        p = self.params
        instance = not p.no_instance
        if p.label_nc is None:
            if input_nc == 3 and p.no_instance:
                return 0, False
            guess = input_nc - instance
            raise GanforgeError(f"{source} takes {input_nc} input channels: give --label_nc (the label classes: "
                                f"{guess} if it was trained {'with' if instance else 'without'} instance maps"
                                f"{'' if instance else ', --no_instance'}; Cityscapes: --label_nc 35), or --label_nc 0 "
                                "--no_instance for image input")
        expected = (p.label_nc or 3) + instance
        if expected != input_nc:
            raise GanforgeError(f"{source} takes {input_nc} input channels, but --label_nc {p.label_nc}"
                                f"{'' if instance else ' --no_instance'} makes {expected}; a model trained with "
                                "--instance_feat or --load_features (feature channels) cannot be imported")
        return p.label_nc, instance
