"""Translation data: items hold ``source`` (the image a generator translates) and ``x`` (an
image of the target domain: the source's own target for paired data, an unrelated one for
unpaired data). ``direction: BtoA`` makes the dataset's B images the sources.

* ``paired-folder``: pix2pix's layout (A|B side by side in one file) or two folders of files
  with matching names; pix2pix's jitter (resize to 286, random 256 crop, flip) or, without
  jitter, a plain resize (validation).
* ``unpaired-folder``: CycleGAN's ``trainA/ trainB/ testA/ testB/``.
* ``label-maps``: pix2pixHD's ``<split>_label/ <split>_inst/ <split>_img/``: label (and
  instance) ids as sources, for label-map generators (``label_classes``).
* ``edges``: Canny edges of any image folder paired with the image (edges-to-faces).
* ``shapes-edges`` and ``shapes-recolor``: the same built on procedural polygons, so tests
  need no files.

Random crops, flips and unpaired partners are drawn from ``default_rng([seed, epoch, index])``:
the same item of the same epoch is the same in every run and worker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from torch import Tensor

from ganforge.sdk import (
    DataAdapter, DataError, DataInfo, ImageFolder, Shapes, convert, files_fingerprint, list_images, open_image,
    readable_images, to_tensor,
)


class Jitter:
    """pix2pix's augmentation, applied alike to every image of an item: resize to ``load_size``
    square, crop ``crop_size`` at a random place, flip half of the time. Without ``jitter``,
    resize straight to ``crop_size`` (deterministic, for validation and testing)."""

    def __init__(self, load_size: int, crop_size: int, jitter: bool, flip: bool):
        if jitter and load_size < crop_size:
            raise DataError(f"load_size {load_size} is smaller than crop_size {crop_size}; the random crop needs "
                            f"load_size >= crop_size (pix2pix: 286 and 256)")
        self.load, self.crop, self.jitter, self.flip = load_size, crop_size, jitter, flip

    def __call__(self, images: list[Image.Image], rng: np.random.Generator) -> list[Tensor]:
        if not self.jitter:
            return [to_tensor(im.resize((self.crop, self.crop), Image.Resampling.BICUBIC)) for im in images]
        top, left = (int(v) for v in rng.integers(self.load - self.crop + 1, size=2))
        flip = self.flip and rng.random() < 0.5
        out = []
        for image in images:
            image = image.resize((self.load, self.load), Image.Resampling.BICUBIC)
            image = image.crop((left, top, left + self.crop, top + self.crop))
            if flip:
                image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            out.append(to_tensor(image))
        return out


def translation_info(params, source_channels: int, target_channels: int, paired: bool) -> DataInfo:
    size = params.crop_size
    return DataInfo(shape=(target_channels, size, size), source_shape=(source_channels, size, size), paired=paired)


def oriented(a: Tensor, b: Tensor, direction: str) -> dict[str, Tensor]:
    source, target = (a, b) if direction == "AtoB" else (b, a)
    return {"source": source, "x": target}


class PairedFolder(DataAdapter):
    """pix2pix data: one folder of A|B images side by side (``root``), or two folders whose files
    match by name (``root_a``, ``root_b``; the extension may differ)."""

    def __init__(self, params, seed: int):
        self.p, self.seed, self.epoch = params, seed, 0
        self.jitter = Jitter(params.load_size, params.crop_size, params.jitter, params.flip)
        if params.root is not None:
            self.where = Path(params.root)
            self.entries, unreadable = readable_images(list_images(self.where, params.extensions), params.on_error,
                                                       self.where)
        else:
            self.where = Path(params.root_a)
            self.entries, unreadable = readable_images(self._matched(Path(params.root_a), Path(params.root_b)),
                                                       params.on_error, self.where)
        self.skipped = [error.path for error in unreadable]
        if params.limit:
            self.entries = self.entries[: params.limit]
        a, b = params.channels_a, params.channels_b
        source, target = (a, b) if params.direction == "AtoB" else (b, a)
        self.info = translation_info(params, source, target, paired=True)

    def _matched(self, root_a: Path, root_b: Path) -> list[tuple[Path, Path]]:
        files_a = {f.relative_to(root_a).with_suffix(""): f for f in list_images(root_a, self.p.extensions)}
        files_b = {f.relative_to(root_b).with_suffix(""): f for f in list_images(root_b, self.p.extensions)}
        only_a, only_b = sorted(set(files_a) - set(files_b)), sorted(set(files_b) - set(files_a))
        if only_a or only_b:
            example = f"{only_a[0]} is in {root_a} only" if only_a else f"{only_b[0]} is in {root_b} only"
            raise DataError(f"paired-folder: {len(only_a)} file(s) of {root_a} and {len(only_b)} of {root_b} have no "
                            f"partner with the same name ({example}); each A file needs a B file of the same name")
        return [(files_a[k], files_b[k]) for k in sorted(files_a)]

    def fingerprint(self) -> str:
        files = [f for entry in self.entries for f in (entry if isinstance(entry, tuple) else (entry,))]
        return f"seed={self.seed};files={files_fingerprint(files, self.where)}"

    def __len__(self) -> int:
        return len(self.entries)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def halves(self, index: int) -> tuple[Image.Image, Image.Image]:
        """The A and B images of item ``index``, converted to their channels."""
        entry = self.entries[index]
        if isinstance(entry, tuple):
            return open_image(entry[0], self.p.channels_a), open_image(entry[1], self.p.channels_b)
        image = open_image(entry, 3)
        width, height = image.size
        if width < 2:
            raise DataError(f"{entry} is {width}x{height}; a paired image holds A and B side by side")
        a = image.crop((0, 0, width // 2, height))
        b = image.crop((width // 2, 0, width // 2 * 2, height))
        return convert(a, self.p.channels_a), convert(b, self.p.channels_b)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        a, b = self.jitter(list(self.halves(index)), np.random.default_rng([self.seed, self.epoch, index]))
        return oriented(a, b, self.p.direction)


class UnpairedFolder(DataAdapter):
    """CycleGAN data: ``root/<split>A`` and ``root/<split>B``. Item ``i`` is A image ``i`` (modulo
    their count) and a B image drawn at random per epoch (in order, without jitter)."""

    def __init__(self, params, seed: int):
        self.p, self.seed, self.epoch = params, seed, 0
        root = Path(params.root)
        self.root = root
        if not root.is_dir():
            raise DataError(f"unpaired-folder root {root} does not exist; it should hold {params.split}A/ and "
                            f"{params.split}B/ (CycleGAN's layout)")
        folders = {side: root / f"{params.split}{side}" for side in "AB"}
        for side, folder in folders.items():
            if not folder.is_dir():
                present = sorted(p.name for p in root.iterdir() if p.is_dir())
                raise DataError(f"unpaired-folder needs {folder} (CycleGAN's {params.split}A/ and {params.split}B/); "
                                f"{root} has {present or 'no folders'}")
        found = {side: readable_images(list_images(folder, params.extensions), params.on_error, folder)
                 for side, folder in folders.items()}
        self.files = {side: good[: params.limit] for side, (good, _) in found.items()}
        self.skipped = [error.path for _, bad in found.values() for error in bad]
        self.jitter = Jitter(params.load_size, params.crop_size, params.jitter, params.flip)
        a, b = params.channels_a, params.channels_b
        source, target = (a, b) if params.direction == "AtoB" else (b, a)
        self.info = translation_info(params, source, target, paired=False)

    def fingerprint(self) -> str:
        files = self.files["A"] + self.files["B"]
        return f"seed={self.seed};split={self.p.split};files={files_fingerprint(files, self.root)}"

    def __len__(self) -> int:
        return max(len(self.files["A"]), len(self.files["B"]))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        files_a, files_b = self.files["A"], self.files["B"]
        partner = int(rng.integers(len(files_b))) if self.p.jitter else index % len(files_b)
        a = open_image(files_a[index % len(files_a)], self.p.channels_a)
        b = open_image(files_b[partner], self.p.channels_b)
        (a,), (b,) = self.jitter([a], rng), self.jitter([b], rng)  # A and B are cropped independently
        return oriented(a, b, self.p.direction)


def canny(image: Tensor, params) -> Tensor:
    """Canny edges (kornia) of one image in [-1, 1] -> (edge_channels, H, W) in [-1, 1]: dark
    lines on white with ``invert`` (as in pix2pix's edges2shoes), else white on black."""
    import kornia

    x = ((image.float() + 1) / 2).unsqueeze(0)
    grey = kornia.color.rgb_to_grayscale(x) if x.shape[1] == 3 else x
    _, edges = kornia.filters.canny(grey, params.low_threshold, params.high_threshold,
                                    sigma=(params.sigma, params.sigma))
    edges = edges[0].clamp(0, 1)
    if params.invert:
        edges = 1 - edges
    return (edges * 2 - 1).expand(params.edge_channels, -1, -1).contiguous()


class Edges(DataAdapter):
    """(Canny edges, image) pairs made from any image folder (edges2faces, edges2shoes)."""

    def __init__(self, params, seed: int):
        self.p = params
        self.images = ImageFolder(params, seed)
        shape = self.images.info.shape
        self.info = DataInfo(shape=shape, source_shape=(params.edge_channels, *shape[1:]), paired=True)

    def fingerprint(self) -> str:
        return f"edges:{self.images.fingerprint()}"

    def __len__(self) -> int:
        return len(self.images)

    def set_epoch(self, epoch: int) -> None:
        self.images.set_epoch(epoch)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        image = self.images[index]["x"]
        return {"source": canny(image, self.p), "x": image}


class ShapesEdges(DataAdapter):
    """Paired built-in data: the Canny edges of a procedural polygon -> the filled polygon."""

    def __init__(self, params, seed: int):
        self.p, self.shapes = params, Shapes(params, seed)
        shape = self.shapes.info.shape
        self.info = DataInfo(shape=shape, source_shape=(params.edge_channels, *shape[1:]), paired=True)

    def fingerprint(self) -> str:
        return f"shapes-edges:{self.shapes.fingerprint()}"

    def __len__(self) -> int:
        return len(self.shapes)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        image = self.shapes[index]["x"]
        return {"source": canny(image, self.p), "x": image}


class ShapesRecolor(DataAdapter):
    """Built-in colour A <-> colour B data: polygons filled with ``colors_a`` as sources and with
    ``colors_b`` as targets. Unpaired by default (each source's partner is another random
    polygon); with ``paired`` the target is the source polygon itself recoloured, colour ``k`` of
    ``colors_a`` becoming colour ``k`` of ``colors_b`` (ground truth for evaluating a CycleGAN)."""

    def __init__(self, params, seed: int):
        if len(params.colors_a) != len(params.colors_b):
            raise DataError(f"shapes-recolor needs as many colors_b as colors_a (colour k becomes colour k); got "
                            f"{len(params.colors_a)} and {len(params.colors_b)}")
        self.p, self.seed, self.epoch = params, seed, 0
        self.a = Shapes(params.model_copy(update={"colors": params.colors_a}), seed)
        self.b = Shapes(params.model_copy(update={"colors": params.colors_b}), seed)
        shape = self.a.info.shape
        self.info = DataInfo(shape=shape, source_shape=shape, paired=params.paired)

    def fingerprint(self) -> str:
        return f"shapes-recolor:{self.a.fingerprint()};paired={self.p.paired}"

    def __len__(self) -> int:
        return len(self.a)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        partner = index if self.p.paired else int(np.random.default_rng([self.seed, self.epoch, index]).integers(len(self.b)))
        return oriented(self.a[index]["x"], self.b[partner]["x"], self.p.direction)


def read_label_map(path: Path, size: int) -> Tensor:
    """A label (or instance) map file as ids, (1, size, size) float, resized by nearest neighbour
    as pix2pixHD does: one id per pixel (modes L, P, I or I;16); a colour image is an error."""
    import torch

    try:
        with Image.open(path) as image:
            image.load()
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the label map {path}: {exc}") from None
    if image.mode not in ("L", "P", "I", "I;16", "I;16B", "I;16L"):
        raise DataError(f"{path} is a {image.mode} image; label and instance maps hold one id per pixel "
                        "(8-bit grey or palette, or 16/32-bit integers), as Cityscapes' labelIds and instanceIds")
    image = image.resize((size, size), Image.Resampling.NEAREST)
    return torch.from_numpy(np.array(image).astype(np.float32))[None]


class LabelMaps(DataAdapter):
    """pix2pixHD's layout: ``root/<split>_label`` (label maps), ``root/<split>_inst`` (instance maps,
    with ``instances``) and ``root/<split>_img`` (the photos), matched by sorted order as the
    reference does. Sources hold label ids (and instance ids) per pixel, not images."""

    def __init__(self, params, seed: int):
        self.p, self.seed = params, seed
        root = Path(params.root)
        folders = {"label": root / f"{params.split}_label", "img": root / f"{params.split}_img"}
        if params.instances:
            folders["inst"] = root / f"{params.split}_inst"
        self.files = {}
        for key, folder in folders.items():
            if not folder.is_dir():
                raise DataError(f"label-maps data needs {folder} (pix2pixHD's layout: {params.split}_label, "
                                f"{params.split}_img{', ' + params.split + '_inst' if params.instances else ''})")
            self.files[key] = list_images(folder, [".png", ".jpg", ".jpeg", ".bmp"])
        counts = {key: len(files) for key, files in self.files.items()}
        if len(set(counts.values())) != 1:
            raise DataError(f"label-maps data: the folders hold different numbers of files ({counts}); they are "
                            "matched by sorted order, so each needs one file per item")
        if params.limit:
            self.files = {key: files[: params.limit] for key, files in self.files.items()}
        self.where = root
        size = params.size
        self.info = DataInfo(shape=(3, size, size), source_shape=(1 + params.instances, size, size), paired=True)

    def fingerprint(self) -> str:
        files = [f for files in self.files.values() for f in files]
        return f"files={files_fingerprint(files, self.where)}"

    def __len__(self) -> int:
        return len(self.files["label"])

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        import torch

        maps = [read_label_map(self.files["label"][index], self.p.size)]
        if self.p.instances:
            maps.append(read_label_map(self.files["inst"][index], self.p.size))
        photo = open_image(self.files["img"][index], 3).resize((self.p.size, self.p.size), Image.Resampling.BICUBIC)
        return {"source": torch.cat(maps), "x": to_tensor(photo)}


def _seed(params, ctx) -> int:
    return params.seed if params.seed is not None else ctx.seed


def paired_folder(params, ctx) -> PairedFolder:
    return PairedFolder(params, _seed(params, ctx))


def unpaired_folder(params, ctx) -> UnpairedFolder:
    return UnpairedFolder(params, _seed(params, ctx))


def edges(params, ctx) -> Edges:
    return Edges(params, _seed(params, ctx))


def shapes_edges(params, ctx) -> ShapesEdges:
    return ShapesEdges(params, _seed(params, ctx))


def shapes_recolor(params, ctx) -> ShapesRecolor:
    return ShapesRecolor(params, _seed(params, ctx))


def label_maps(params, ctx) -> LabelMaps:
    return LabelMaps(params, _seed(params, ctx))
