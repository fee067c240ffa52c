"""Registration of the translation components. Imports no torch: factories are import strings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ganforge.sdk import AddedLater, ImageFolderParams, ObjectiveParams, Params, RecipePath, ShapesParams, hookimpl
from ganforge_translation.examples import ganforge_kit_examples  # noqa: F401  (a hook implementation)

IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png", ".bmp", ".webp"]
Norm = Literal["batch", "instance", "none"]


# ---------------------------------------------------------------- nets

class UNetParams(Params):
    """pix2pix's U-Net generator (encoder-decoder with skip connections)."""

    depth: int = Field(8, ge=1, le=10, description="Stride-2 levels down (8 takes 256 px to 1x1); the image side must be a multiple of 2^depth.")
    width: int = Field(64, ge=1, le=4096, description="Channels of the outermost level (doubled per level).")
    max_width: int = Field(512, ge=1, le=4096, description="Cap on channels per level.")
    norm: Norm = Field("batch", description="Normalisation (pix2pix: batch).")
    dropout: float = Field(0.5, ge=0, lt=1, description="Dropout in the innermost decoder levels: pix2pix's only noise source; 0 for none.")
    dropout_blocks: int = Field(3, ge=0, description="How many decoder levels below the innermost have dropout.")
    test_dropout: bool = Field(False, description="Keep dropout on when translating (pix2pix's noise at test time).")
    skip: bool = Field(True, description="Skip connections; false gives the plain encoder-decoder of pix2pix's ablation.")
    outer_bias: AddedLater[bool] = Field(True, description="A bias on the first convolution; the reference pix2pix code has none with batch norm (false: its exact layout, needed by `ganforge export --format junyanz-pix2pix`).")
    test_batch_stats: AddedLater[bool] = Field(False, description="When translating, batch norm normalises each image by its own statistics, as the reference test script does without --eval.")
    reverse: bool = Field(False, description="Translate the other way: from the data's target domain to its source domain (CycleGAN's second generator).")


class ResNetParams(Params):
    """CycleGAN's ResNet generator: reflection padding, instance norm, residual blocks."""

    blocks: int = Field(9, ge=1, le=64, description="Residual blocks (CycleGAN: 9 at 256 px, 6 at 128 px).")
    width: int = Field(64, ge=1, le=4096, description="Channels of the first layer (doubled per downsampling).")
    downsamplings: int = Field(2, ge=0, le=4, description="Stride-2 convolutions before the blocks (and transposed ones after).")
    norm: Norm = Field("instance", description="Normalisation (CycleGAN: instance).")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout inside the residual blocks.")
    test_dropout: AddedLater[bool] = Field(False, description="Keep dropout on when translating (the reference test script without --eval).")
    test_batch_stats: AddedLater[bool] = Field(False, description="When translating, batch norm normalises each image by its own statistics, as the reference test script does without --eval.")
    reverse: bool = Field(False, description="Translate the other way: from the data's target domain to its source domain (CycleGAN's second generator).")


class Pix2PixHDGeneratorParams(Params):
    """pix2pixHD's generator: a global generator at half resolution plus a local enhancer."""

    width: int = Field(32, ge=1, le=4096, description="Channels of the local enhancer's first layer (the global generator has twice as many).")
    global_downsamplings: int = Field(4, ge=1, le=6, description="Stride-2 convolutions of the global generator.")
    global_blocks: int = Field(9, ge=1, le=64, description="Residual blocks of the global generator.")
    local_blocks: int = Field(3, ge=1, le=64, description="Residual blocks of the local enhancer.")
    local_enhancers: Literal[0, 1] = Field(1, description="1: global generator + local enhancer; 0: the global generator alone at full resolution.")
    norm: Norm = Field("instance", description="Normalisation (pix2pixHD: instance).")
    label_classes: AddedLater[int] = Field(0, ge=0, le=1024, description="The sources are label maps of this many classes (label ids in the first channel), one-hot encoded as pix2pixHD does; 0: the sources are images.")
    instance_edges: AddedLater[bool] = Field(False, description="Add pix2pixHD's instance-boundary channel, computed from instance ids in the sources' last channel.")


class PatchGANParams(Params):
    """pix2pix's PatchGAN discriminator: one logit per receptive-field patch."""

    receptive_field: Literal[1, 16, 34, 70, 142, 286] = Field(70, description="Patch size in pixels each logit judges: 1 (PixelGAN), 16, 70 (pix2pix's default) or 286 (ImageGAN at 256 px); 34 and 142 also exist.")
    width: int = Field(64, ge=1, le=4096, description="Channels of the first layer (doubled per layer).")
    max_width: int = Field(512, ge=1, le=4096, description="Cap on channels per layer.")
    norm: Literal["batch", "instance", "spectral", "none"] = Field("batch", description="Normalisation of hidden layers (pix2pix: batch; CycleGAN: instance).")
    conditional: bool = Field(False, description="Judge (source, image) pairs, the source joined to the input channels (pix2pix); false judges images alone (CycleGAN).")
    domain: Literal["target", "source"] = Field("target", description="Which domain's images it judges: the data's target domain, or its source domain (CycleGAN's second discriminator).")


class MultiScaleParams(PatchGANParams):
    """pix2pixHD's multi-scale discriminator: PatchGANs on the input and its 2x, 4x, ... downsamplings."""

    scales: int = Field(3, ge=1, le=5, description="Number of PatchGANs (scales).")
    norm: Literal["batch", "instance", "spectral", "none"] = Field("instance", description="Normalisation of hidden layers (pix2pixHD: instance).")


# ---------------------------------------------------------------- data

class JitterParams(Params):
    """Shared by the folder adapters: pix2pix's resize, random crop and flip."""

    direction: Literal["AtoB", "BtoA"] = Field("AtoB", description="AtoB: A images are the sources, B the targets; BtoA the other way (facades labels -> photo is BtoA).")
    load_size: int = Field(286, ge=1, description="Resize to this square before the random crop (with jitter).")
    crop_size: int = Field(256, ge=1, description="Side of the images the nets see.")
    jitter: bool = Field(True, description="Random crop and flip (training); false: resize straight to crop_size (validation, testing).")
    flip: bool = Field(True, description="Random horizontal flips (with jitter).")
    channels_a: Literal[1, 3] = Field(3, description="Channels of the A images.")
    channels_b: Literal[1, 3] = Field(3, description="Channels of the B images.")
    extensions: list[str] = Field(IMAGE_EXTENSIONS, description="File extensions to read.")
    limit: int | None = Field(None, ge=1, description="Use only the first N items (sorted by name).")
    on_error: Literal["raise", "skip"] = Field("raise", description="Unreadable image files: raise an error naming them, or skip them with a warning.")
    seed: int | None = Field(None, description="Augmentation seed (default: the recipe seed).")


class PairedFolderParams(JitterParams):
    """Paired images: A|B side by side in one file (pix2pix's layout), or two folders of files with matching names."""

    root: RecipePath | None = Field(None, description="Folder of side-by-side A|B images (A on the left).")
    root_a: RecipePath | None = Field(None, description="Folder of A images (with root_b, instead of root).")
    root_b: RecipePath | None = Field(None, description="Folder of B images, named as their A partners (the extension may differ).")

    @model_validator(mode="after")
    def _one_layout(self) -> "PairedFolderParams":
        if (self.root is None) == (self.root_a is None and self.root_b is None):
            raise ValueError("give either `root` (side-by-side A|B images) or both `root_a` and `root_b` (two folders)")
        if self.root is None and (self.root_a is None or self.root_b is None):
            raise ValueError("two-folder pairs need both `root_a` and `root_b`")
        return self


class UnpairedFolderParams(JitterParams):
    """CycleGAN's layout: root/trainA, trainB, testA, testB."""

    root: RecipePath = Field(..., description="Folder holding trainA/ trainB/ testA/ testB/.")
    split: Literal["train", "test"] = Field("train", description="Which pair of folders: trainA/trainB or testA/testB.")


class LabelMapsParams(Params):
    """pix2pixHD's label-map layout: root/<split>_label, <split>_inst, <split>_img."""

    root: RecipePath = Field(..., description="Folder holding <split>_label/ and <split>_img/ (and <split>_inst/ with instances).")
    split: Literal["train", "test"] = Field("test", description="Which folders: train_* or test_*.")
    size: int = Field(512, ge=1, description="Side of the square the maps (nearest) and photos (bicubic) are resized to.")
    instances: bool = Field(True, description="Read instance maps too (for instance_edges generators).")
    limit: int | None = Field(None, ge=1, description="Use only the first N items (sorted by name).")
    seed: int | None = Field(None, description="Unused (no augmentation); kept for a uniform interface.")


class CannyParams(Params):
    """Canny edge detection (kornia) of the target images."""

    low_threshold: float = Field(0.1, gt=0, lt=1, description="Canny's lower hysteresis threshold (gradient magnitude of [0, 1] images).")
    high_threshold: float = Field(0.2, gt=0, lt=1, description="Canny's upper hysteresis threshold.")
    sigma: float = Field(1.0, gt=0, description="Gaussian blur before the gradients.")
    invert: bool = Field(True, description="Dark edges on white (pix2pix's edges2shoes); false: white on black.")
    edge_channels: Literal[1, 3] = Field(1, description="Channels of the edge images.")

    @model_validator(mode="after")
    def _thresholds(self):
        if self.low_threshold > self.high_threshold:
            raise ValueError("low_threshold must not exceed high_threshold")
        return self


class EdgesParams(ImageFolderParams, CannyParams):
    """(Canny edges, image) pairs from any image folder, as in the edges-to-faces demo."""

    size: int | None = Field(256, ge=1, description="Resize the shorter side to this, then crop square.")


class ShapesEdgesParams(ShapesParams, CannyParams):
    """Built-in paired data: edges of a procedural polygon -> the filled polygon."""


class ShapesRecolorParams(ShapesParams):
    """Built-in colour A <-> colour B data on procedural polygons (unpaired unless `paired`)."""

    colors_a: list[str] = Field(["red", "yellow"], min_length=1, description="Fill colours of the source domain.")
    colors_b: list[str] = Field(["blue", "cyan"], min_length=1, description="Fill colours of the target domain (colour k of colors_a becomes colour k).")
    paired: bool = Field(False, description="Pair each source with itself recoloured (ground truth for evaluation); false: with a random other polygon.")
    direction: Literal["AtoB", "BtoA"] = Field("AtoB", description="AtoB: colors_a polygons are the sources.")


# ---------------------------------------------------------------- objectives

class Pix2PixParams(ObjectiveParams):
    """pix2pix: conditional adversarial loss on (source, output) pairs plus lambda x L1."""

    generator: str = Field("generator", description="Name of the generator in `models`.")
    discriminator: str = Field("discriminator", description="Name of the (conditional) discriminator in `models`.")
    reconstruction: Literal["l1", "l2"] = Field("l1", description="Distance of outputs to targets.")
    reconstruction_weight: float = Field(100.0, ge=0, description="Its weight, lambda (pix2pix: 100).")
    discriminator_weight: float = Field(0.5, gt=0, description="Scale of D's loss (pix2pix halves it to slow D down).")

    def required_models(self) -> dict[str, str]:
        return {self.generator: "generator", self.discriminator: "discriminator"}

    def required_losses(self) -> tuple[str, ...]:
        return ("adversarial",)


class CycleGANParams(ObjectiveParams):
    """CycleGAN: two generators and two discriminators with cycle and identity losses."""

    generator: str = Field("g_ab", description="Generator from the data's source domain (A) to its target domain (B).")
    reverse_generator: str = Field("g_ba", description="Generator from B back to A (a generator with `reverse: true`).")
    discriminator: str = Field("d_b", description="Discriminator of B images.")
    reverse_discriminator: str = Field("d_a", description="Discriminator of A images (`domain: source`).")
    cycle_weight: float = Field(10.0, ge=0, description="Weight of each cycle loss, lambda (CycleGAN: 10).")
    identity_weight: float = Field(0.5, ge=0, description="Identity loss weight as a fraction of cycle_weight (CycleGAN: 0.5); 0 turns it off.")
    pool_size: int = Field(50, ge=0, description="Generated images remembered for each discriminator (0: none).")

    def required_models(self) -> dict[str, str]:
        return {self.generator: "generator", self.reverse_generator: "generator",
                self.discriminator: "discriminator", self.reverse_discriminator: "discriminator"}

    def required_losses(self) -> tuple[str, ...]:
        return ("adversarial",)

    @classmethod
    def default_losses(cls) -> dict:
        return {"adversarial": {"type": "least-squares"}}


class DualGANParams(CycleGANParams):
    """DualGAN: CycleGAN's two cycles with weight-clipped Wasserstein critics (Yi et al. 2017)."""

    cycle_weight: float = Field(500.0, ge=0, description="Weight of each domain's L1 reconstruction, lambda_U = "
                                                         "lambda_V (the paper: 100 to 1,000).")
    identity_weight: float = Field(0.0, ge=0, le=0, description="DualGAN has no identity loss (kept at 0).")
    pool_size: int = Field(0, ge=0, description="Generated images remembered for each critic (DualGAN: none).")
    clip: float = Field(0.01, gt=0, description="Clip every critic weight to [-clip, clip] after each critic step.")
    d_steps: int = Field(2, ge=1, le=100, description="Critic steps per generator step (n_critic; the paper: 2).")

    @classmethod
    def default_losses(cls) -> dict:
        return {"adversarial": {"type": "wasserstein"}}


class Pix2PixHDParams(ObjectiveParams):
    """pix2pixHD: multi-scale D, feature matching, VGG loss, coarse-to-fine training."""

    generator: str = Field("generator", description="Name of the generator in `models` (pix2pixhd-generator).")
    discriminator: str = Field("discriminator", description="Name of the conditional multi-scale discriminator in `models`.")
    feature_matching_weight: float = Field(10.0, ge=0, description="Weight of D's feature-matching loss (pix2pixHD: 10).")
    perceptual_weight: float = Field(10.0, ge=0, description="Weight of losses.perceptual, the VGG19 loss (pix2pixHD: 10); 0 for none.")
    coarse_steps: int = Field(0, ge=0, description="First train the global generator alone at half resolution for this many steps.")
    freeze_global_steps: int = Field(0, ge=0, description="Then train the local enhancer with the global generator fixed for this many steps.")

    def required_models(self) -> dict[str, str]:
        return {self.generator: "generator", self.discriminator: "discriminator"}

    def required_losses(self) -> tuple[str, ...]:
        return ("adversarial",) + (("perceptual",) if self.perceptual_weight else ())

    def unused_losses(self) -> tuple[str, ...]:
        return () if self.perceptual_weight else ("perceptual",)  # no VGG19 weights needed at weight 0

    @classmethod
    def default_losses(cls) -> dict:
        return {"adversarial": {"type": "least-squares"}, "perceptual": {"type": "vgg-perceptual"}}


class CycleErrorParams(Params):
    """CycleGAN's cycle-reconstruction error on the evaluation data."""

    samples: int = Field(10_000, ge=1, description="Images of each domain evaluated (at most the data).")


# ---------------------------------------------------------------- checkpoint formats

class JunyanzPix2PixFormat(Params):
    """Options of the reference pix2pix test script (junyanz/pytorch-CycleGAN-and-pix2pix), for
    one generator file (latest_net_G.pth). Detected from the file where it can show them."""

    netG: Literal["unet_128", "unet_256", "resnet_6blocks", "resnet_9blocks"] | None = Field(None, description="The generator architecture (detected; given, it is checked).")
    norm: Literal["batch", "instance"] | None = Field(None, description="Normalisation (detected; given, it is checked).")
    ngf: int | None = Field(None, ge=1, description="Channels of the first layer (detected; given, it is checked).")
    no_dropout: bool | None = Field(None, description="Trained with --no_dropout. ResNet files show it; a U-Net's dropout holds no tensors, so without --eval it must be given (true or false).")
    eval: bool = Field(False, description="Translate as the reference test script does with --eval (running batch-norm statistics, no dropout); without it, as the reference does by default (each image's own statistics, dropout on).")
    direction: Literal["AtoB", "BtoA"] = Field("AtoB", description="The --direction it was trained with: which half of A|B images is the source.")
    crop_size: int | None = Field(None, ge=1, description="Image side the net translates (default: 128 for unet_128, else 256, as the reference's test script).")
    data: str | None = Field(None, description="Folder of A|B test images for the recipe's data block (fine-tuning, eval); default datasets/<name>/test, the reference's layout.")


class JunyanzCycleGANFormat(JunyanzPix2PixFormat):
    """Options of the reference CycleGAN test script, for G_A (``*_net_G_A.pth``, A to B) and
    G_B (B to A); a single published generator (horse2zebra.pth) is a one-way model."""

    G_B: str | None = Field(None, description="The *_net_G_B.pth file (B to A); without it the run translates one way only, as the reference's --model test.")
    data: str | None = Field(None, description="Folder holding testA/ and testB/ for the recipe's data block; default datasets/<name>.")


class Pix2PixHDFormat(Params):
    """Options of NVIDIA pix2pixHD's test script, for latest_net_G.pth. Architecture detected."""

    netG: Literal["global", "local"] | None = Field(None, description="global or local (detected; given, it is checked).")
    label_nc: int | None = Field(None, ge=0, description="Label classes one-hot encoded as input (35 for Cityscapes); 0 for image input. Needed when the input channels do not show it.")
    no_instance: bool = Field(False, description="Trained with --no_instance (no instance-boundary channel).")
    size: int = Field(512, ge=1, description="Image side the run translates at (square; the reference test script's loadSize).")
    data: str | None = Field(None, description="Folder of A|B test images for the recipe's data block; default datasets/<name>/test.")


# ---------------------------------------------------------------- registration

@hookimpl
def ganforge_register_generators(register):
    register("unet-generator", params=UNetParams, factory="ganforge_translation.generators:UNetGenerator.build",
             summary="pix2pix's U-Net: encoder-decoder with skip connections, dropout as noise.")
    register("resnet-generator", params=ResNetParams, factory="ganforge_translation.generators:ResNetGenerator.build",
             summary="CycleGAN's ResNet generator (6 or 9 blocks, reflection padding, instance norm).")
    register("pix2pixhd-generator", params=Pix2PixHDGeneratorParams, factory="ganforge_translation.hd:Pix2PixHDGenerator.build",
             summary="pix2pixHD's global generator plus local enhancer.")


@hookimpl
def ganforge_register_discriminators(register):
    register("patchgan-discriminator", params=PatchGANParams,
             factory="ganforge_translation.discriminators:PatchGAN.build",
             summary="PatchGAN with a receptive field of 1, 16, 70 or 286 px.")
    register("multiscale-discriminator", params=MultiScaleParams,
             factory="ganforge_translation.discriminators:MultiScaleDiscriminator.build",
             summary="pix2pixHD's PatchGANs at several scales, with intermediate features.")


@hookimpl
def ganforge_register_data(register):
    for name, params, attr, summary in [
        ("paired-folder", PairedFolderParams, "paired_folder", "Paired images: A|B side by side, or two folders with matching names."),
        ("unpaired-folder", UnpairedFolderParams, "unpaired_folder", "Unpaired images in CycleGAN's trainA/ trainB/ testA/ testB/."),
        ("label-maps", LabelMapsParams, "label_maps", "pix2pixHD's label maps (and instance maps) with their photos."),
        ("edges", EdgesParams, "edges", "(Canny edges, image) pairs from any image folder."),
        ("shapes-edges", ShapesEdgesParams, "shapes_edges", "Built-in paired data: polygon edges -> filled polygons."),
        ("shapes-recolor", ShapesRecolorParams, "shapes_recolor", "Built-in colour A <-> colour B polygons (unpaired or paired)."),
    ]:
        register(name, params=params, factory=f"ganforge_translation.data:{attr}", summary=summary)


@hookimpl
def ganforge_register_objectives(register):
    register("pix2pix", params=Pix2PixParams, factory="ganforge_translation.objectives:Pix2Pix",
             summary="pix2pix: conditional GAN on pairs plus lambda x L1.")
    register("cyclegan", params=CycleGANParams, factory="ganforge_translation.objectives:CycleGAN",
             summary="CycleGAN: two generators, two discriminators, cycle and identity losses, image pools.")
    register("dualgan", params=DualGANParams, factory="ganforge_translation.objectives:DualGAN",
             summary="DualGAN: two translators, weight-clipped Wasserstein critics, L1 reconstruction of both domains.")
    register("pix2pixhd", params=Pix2PixHDParams, factory="ganforge_translation.objectives:Pix2PixHD",
             summary="pix2pixHD: multi-scale D, feature matching, VGG loss, coarse to fine.")


@hookimpl
def ganforge_register_evaluators(register):
    register("cycle-error", params=CycleErrorParams, factory="ganforge_translation.evaluators:cycle_error",
             summary="CycleGAN's cycle-reconstruction error (|F(G(a)) - a|, |G(F(b)) - b|).")


@hookimpl
def ganforge_add_commands(subparsers):
    from ganforge_translation.cli import add_translate_command

    add_translate_command(subparsers)


@hookimpl
def ganforge_register_formats(register):
    register("junyanz-pix2pix", params=JunyanzPix2PixFormat, factory="ganforge_translation.formats:JunyanzPix2Pix",
             summary="pix2pix generators of junyanz/pytorch-CycleGAN-and-pix2pix (unet_*/resnet_*), read and written.")
    register("junyanz-cyclegan", params=JunyanzCycleGANFormat, factory="ganforge_translation.formats:JunyanzCycleGAN",
             summary="CycleGAN generator pairs (G_A, G_B) of junyanz/pytorch-CycleGAN-and-pix2pix, read and written.")
    register("junyanz", params=JunyanzPix2PixFormat, factory="ganforge_translation.formats:JunyanzPix2Pix",
             summary="The generator layout of junyanz/pytorch-CycleGAN-and-pix2pix (`export --format junyanz`; the same reader as junyanz-pix2pix).")
    register("pix2pixhd", params=Pix2PixHDFormat, factory="ganforge_translation.formats:Pix2PixHDCheckpoint",
             summary="NVIDIA pix2pixHD global and local generators (label maps one-hot encoded as it does).")
