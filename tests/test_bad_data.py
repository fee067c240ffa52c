"""Bad input: unreadable image files (data.on_error), odd image modes and sizes, odd npz arrays."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.builtin.data import ImageFolderParams, NpzParams
from ganforge.data.image_folder import ImageFolder
from ganforge.data.npz import NpzImages
from ganforge.data.stream import BatchStream
from ganforge.errors import DataError


def _noise(side: int, seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 255, (side, side, 3), dtype=np.uint8))


def _encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


# Bad files: name -> (bytes, what the error says). The truncated JPEG keeps its header, so only
# a full decode finds it; the others fail on the header.
BAD = {
    "x.png": (lambda: b"", "empty file"),
    "trunc.jpg": (lambda: (lambda d: d[: len(d) // 2])(_encoded(_noise(64, 1), "JPEG")), "truncated"),
    "notes.jpg": (lambda: b"shopping list: eggs, milk\n" * 4, "not an image: the file holds text"),
    "garbage.png": (lambda: _encoded(_noise(16, 2), "PNG")[:33] + bytes(range(256)) * 2, "damaged PNG file"),
}
GOOD = ["good0.png", "good1.png", "good2.png"]


def _folder(root, bad=BAD, good=GOOD):
    root.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(good):
        _noise(16, 10 + i).save(root / name)
    for name in bad:
        (root / name).write_bytes(BAD[name][0]())
    return root


def _read_all(data) -> list[dict[str, torch.Tensor]]:
    return [data[i] for i in range(len(data))]


@pytest.mark.parametrize("name", list(BAD))
def test_raise_names_the_bad_file_and_what_is_wrong(tmp_path, name):
    root = _folder(tmp_path, bad=[name], good=["good0.png"])
    with pytest.raises(DataError) as caught:
        _read_all(ImageFolder(ImageFolderParams(root=root), seed=0))
    message = str(caught.value)
    assert f"cannot read image {root / name}: {BAD[name][1]}" in message
    assert "Remove or replace the file, or set data.on_error: skip" in message


def test_raise_lists_every_file_with_a_bad_header(tmp_path):
    root = _folder(tmp_path)
    with pytest.raises(DataError, match="cannot read 3 image files") as caught:
        ImageFolder(ImageFolderParams(root=root), seed=0)
    for name in ("x.png", "notes.jpg", "garbage.png"):
        assert f"{name} ({BAD[name][1]}" in str(caught.value)


def test_skip_leaves_out_the_bad_files_and_warns(tmp_path):
    root = _folder(tmp_path)
    with pytest.warns(UserWarning, match=r"skipped 3 unreadable image file\(s\) .*garbage.png \(damaged PNG"):
        data = ImageFolder(ImageFolderParams(root=root, on_error="skip"), seed=0)
    assert sorted(p.name for p in data.skipped) == ["garbage.png", "notes.jpg", "x.png"]
    assert [p.name for p in data.files] == [*GOOD, "trunc.jpg"], "the header of trunc.jpg reads"
    with pytest.warns(UserWarning, match=r"skipped unreadable image .*trunc.jpg: truncated"):
        items = _read_all(data)
    assert sorted(p.name for p in data.skipped) == sorted(BAD)
    good = [torch.from_numpy(np.array(_noise(16, 10 + i))).permute(2, 0, 1) / 127.5 - 1 for i in range(3)]
    assert all(torch.equal(item["x"], image) for item, image in zip(items, good))
    assert torch.equal(items[3]["x"], items[0]["x"]), "trunc.jpg is replaced by the next readable item (wrapping)"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data[3]  # a known bad file is not decoded (nor warned about) again


def test_skip_gives_the_same_batches_in_every_run_with_or_without_workers(tmp_path):
    root = _folder(tmp_path)
    params = ImageFolderParams(root=root, size=8, crop="random", flip=True, on_error="skip")

    def batches(workers):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stream = BatchStream(ImageFolder(params, seed=3), 2, seed=3, workers=workers)
            return [next(stream)["x"] for _ in range(5)]  # two batches an epoch: crosses epochs

    first = batches(0)
    assert all(torch.equal(a, b) for a, b in zip(first, batches(0)))
    assert all(torch.equal(a, b) for a, b in zip(first, batches(2)))


def test_skip_keeps_labels_with_their_images(tmp_path):
    _folder(tmp_path / "cat", bad=["trunc.jpg"], good=["a.png"])
    _folder(tmp_path / "dog", bad=["x.png"], good=["b.png"])
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        data = ImageFolder(ImageFolderParams(root=tmp_path, labels=True, on_error="skip"), seed=0)
    assert [p.name for p in data.files] == ["a.png", "trunc.jpg", "b.png"]
    with pytest.warns(UserWarning, match="trunc.jpg"):
        item = data[1]
    assert int(item["y"]) == 1 and torch.equal(item["x"], data[2]["x"]), "replaced by dog/b.png, with its label"


def test_skip_limit_counts_readable_files_and_all_bad_is_an_error(tmp_path):
    root = _folder(tmp_path, bad=["garbage.png", "notes.jpg"])
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        data = ImageFolder(ImageFolderParams(root=root, limit=2, on_error="skip"), seed=0)
    assert [p.name for p in data.files] == ["good0.png", "good1.png"]
    with pytest.raises(DataError, match="none of the 2 image files .* can be read"), pytest.warns(UserWarning):
        ImageFolder(ImageFolderParams(root=_folder(tmp_path / "bad", bad=["x.png", "notes.jpg"], good=[]),
                                      on_error="skip"), seed=0)


# ---------------------------------------------------------------- modes and sizes


def _png16(path, pixels: np.ndarray) -> None:
    """A 16-bit RGB PNG (Pillow cannot write one)."""
    height, width, _ = pixels.shape
    raw = b"".join(b"\0" + row.astype(">u2").tobytes() for row in pixels)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _palette(transparent: bool) -> Image.Image:
    image = Image.new("P", (8, 8), 1)
    image.putpalette([0, 0, 255, 255, 0, 0] + [0, 0, 0] * 254)
    if transparent:
        image.info["transparency"] = 1
    return image


def _save(image, transparency=None):
    def write(path):
        image.save(path, **({"transparency": transparency} if transparency is not None else {}))
    return write


# name -> (writer, channels, expected pixel value(s) 0..255 of every pixel, tolerance)
MODES = {
    "grey.png": (_save(Image.new("L", (8, 8), 200)), 3, (200, 200, 200), 0),
    "rgb-to-grey.png": (_save(Image.new("RGB", (8, 8), (255, 0, 0))), 1, (76,), 1),
    "rgba.png": (_save(Image.new("RGBA", (8, 8), (200, 100, 50, 128))), 3, (100, 50, 25), 1),
    "la.png": (_save(Image.new("LA", (8, 8), (200, 0))), 3, (0, 0, 0), 0),
    "palette.png": (_save(_palette(False)), 3, (255, 0, 0), 0),
    "palette-transparent.png": (_save(_palette(True), transparency=1), 3, (0, 0, 0), 0),
    "grey16.png": (_save(Image.fromarray(np.full((8, 8), 128 * 257, np.uint16))), 3, (128, 128, 128), 0),
    "rgb16.png": (lambda p: _png16(p, np.full((8, 8, 3), [65535, 32896, 0], np.uint16)), 3, (255, 128, 0), 0),
    "cmyk.jpg": (_save(Image.new("CMYK", (8, 8), (0, 255, 255, 0))), 3, (255, 0, 0), 8),
}


@pytest.mark.parametrize("name", list(MODES))
def test_image_modes_convert_to_8_bit_l_or_rgb(tmp_path, name):
    write, channels, expected, tolerance = MODES[name]
    write(tmp_path / name)
    item = ImageFolder(ImageFolderParams(root=tmp_path, channels=channels), seed=0)[0]["x"]
    assert item.shape == (channels, 8, 8)
    pixels = (item + 1) * 127.5
    for channel, value in enumerate(expected):
        assert (pixels[channel] - value).abs().max() <= tolerance + 1e-3, (channel, pixels[channel, 0, 0])


def test_unsupported_modes_are_named(tmp_path):
    Image.fromarray(np.zeros((8, 8), np.float32)).save(tmp_path / "depth.tif")
    with pytest.raises(DataError, match=r"depth.tif: colour mode F is not supported; save it as"):
        ImageFolder(ImageFolderParams(root=tmp_path, extensions=[".tif"]), seed=0)


@pytest.mark.parametrize("side,size,shape", [((2, 2), 8, (8, 8)), ((12, 6), 4, (4, 4)), ((12, 6), None, (6, 6)),
                                             ((3, 40), 5, (5, 5))])
def test_small_and_non_square_images_become_squares(tmp_path, side, size, shape):
    _noise(1, 0).resize(side).save(tmp_path / "a.png")
    Image.new("RGB", (side[1] * 2, side[0] * 3)).save(tmp_path / "b.png")
    data = ImageFolder(ImageFolderParams(root=tmp_path, size=size, crop="random"), seed=0)
    for item in _read_all(data):
        assert item["x"].shape == (3, *shape) and item["x"].min() >= -1 and item["x"].max() <= 1


# ---------------------------------------------------------------- npz


def _npz(tmp_path, array, **params):
    np.savez(tmp_path / "d.npz", x=array)
    return NpzImages(**NpzParams(path=tmp_path / "d.npz", images="x", **params).model_dump())


@pytest.mark.parametrize("shape", [(4, 8, 8, 2), (4, 8, 8, 4), (4, 4, 8, 8), (4, 2, 8, 8)])
def test_npz_other_channel_counts_are_rejected(tmp_path, shape):
    with pytest.raises(DataError, match=r"with 1 \(greyscale\) or 3 \(RGB\) channels.*x\[\.\.\., :3\]"):
        _npz(tmp_path, np.zeros(shape, np.uint8))


@pytest.mark.parametrize("values,expected", [
    (np.array([0.0, 0.5, 1.0], np.float32), [0, 128, 255]),
    (np.array([-1.0, 0.0, 1.0], np.float64), [0, 128, 255]),
    (np.array([0.0, 127.6, 255.0], np.float16), [0, 128, 255]),
    (np.array([False, True, True]), [0, 255, 255]),
    (np.array([0, 1, 1], np.int64), [0, 255, 255]),
    (np.array([0, 128, 255], np.int64), [0, 128, 255]),
    (np.array([3, 128, 255], np.uint16), [3, 128, 255]),
])
def test_npz_dtypes_convert_to_0_255(tmp_path, values, expected):
    data = _npz(tmp_path, np.broadcast_to(values[:, None, None], (3, 4, 4)).copy())
    assert data.pixels.dtype == torch.uint8 and data.pixels[:, 0, 0, 0].tolist() == expected
    assert data[2]["x"].min() >= -1 and data[2]["x"].max() <= 1


@pytest.mark.parametrize("array,message", [
    (np.linspace(0, 1000, 48, dtype=np.float32).reshape(3, 4, 4), r"float32 values from 0 to 1000; expected a range"),
    (np.full((3, 4, 4), -5, np.int64), r"int64 values from -5 to -5; expected pixel values 0\.\.255"),
    (np.full((3, 4, 4), 4095, np.uint16), r"uint16 values from 4095 to 4095.*divide by 257"),
    (np.full((3, 4, 4), np.nan, np.float32), "NaN or infinite"),
    (np.zeros((3, 4, 4), np.complex64), "dtype complex64"),
    (np.zeros((0, 4, 4), np.uint8), "holds no images"),
])
def test_npz_bad_values_are_rejected(tmp_path, array, message):
    with pytest.raises(DataError, match=message):
        _npz(tmp_path, array)


def test_npz_non_square_images_are_resized_to_squares(tmp_path):
    data = _npz(tmp_path, np.zeros((2, 6, 8), np.uint8), size=8)
    assert data[0]["x"].shape == (1, 8, 8)


def test_an_error_in_a_data_worker_reads_like_one_in_the_main_process(tmp_path):
    from ganforge.data.stream import BatchStream
    from ganforge.errors import DataError

    class Broken(torch.utils.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, index):
            raise DataError(f"cannot read image {index}.png: truncated. Remove or replace the file")

    stream = BatchStream(Broken(), 4, seed=0, workers=1)
    with pytest.raises(DataError) as caught:
        next(stream)
    assert str(caught.value).startswith("cannot read image") and "Traceback" not in str(caught.value)
