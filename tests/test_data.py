"""Built-in data adapters and the resumable batch stream."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import SHARED_DATA
from ganforge.builtin.data import GaussianMixtureParams, ImageFolderParams, NpzParams, ShapesParams
from ganforge.data.gaussian_mixture import GaussianMixture, build as build_mixture
from ganforge.data.image_folder import ImageFolder
from ganforge.data.npz import NpzImages
from ganforge.data.shapes import Shapes
from ganforge.data.stream import BatchStream
from ganforge.errors import DataError


class Ctx:
    seed = 0


def test_ring_and_grid_follow_the_pacgan_protocol():
    ring = build_mixture(GaussianMixtureParams(layout="ring", size=20_000), Ctx())
    assert ring.info.shape == (2,) and ring.info.num_classes == 8 and ring.std == 0.01
    assert torch.allclose(ring.centers.norm(dim=1), torch.ones(8), atol=1e-6)
    offsets = ring.points - ring.centers[ring.modes]
    assert abs(offsets.std().item() - 0.01) < 0.001
    grid = build_mixture(GaussianMixtureParams(layout="grid", size=20_000), Ctx())
    assert grid.info.num_classes == 25 and grid.std == 0.05
    assert sorted(set(grid.centers[:, 0].tolist())) == [-4, -2, 0, 2, 4]
    assert abs((grid.points - grid.centers[grid.modes]).std().item() - 0.05) < 0.003


def test_a_batch_of_mixture_points_at_once_is_the_collated_items():
    from torch.utils.data import default_collate

    from ganforge.capabilities import Batched

    mixture = build_mixture(GaussianMixtureParams(layout="grid", size=300), type("Ctx", (), {"seed": 1}))
    assert isinstance(mixture, Batched)
    indices = [3, 299, 0, 3]
    at_once, one_by_one = mixture.batch(indices), default_collate([mixture[i] for i in indices])
    assert all(torch.equal(at_once[k], one_by_one[k]) and at_once[k].dtype == one_by_one[k].dtype for k in at_once)


def test_mixture_is_deterministic_per_seed():
    a = GaussianMixture(np.zeros((1, 2)), 1.0, 100, seed=1).points
    assert torch.equal(a, GaussianMixture(np.zeros((1, 2)), 1.0, 100, seed=1).points)
    assert not torch.equal(a, GaussianMixture(np.zeros((1, 2)), 1.0, 100, seed=2).points)


@pytest.mark.parametrize("size,channels", [(16, 3), (32, 1), (128, 3)])
def test_shapes_images_and_factors(size, channels):
    shapes = Shapes(ShapesParams(size=size, channels=channels, length=50), seed=7)
    item = shapes[3]
    assert item["x"].shape == (channels, size, size) and shapes.info.shape == (channels, size, size)
    assert item["x"].min() >= -1 and item["x"].max() <= 1
    assert item["x"].max() > 0, "a polygon is drawn"
    assert 0 <= item["y"] < 6 and shapes.info.class_names[0] == "triangle"
    assert set(shapes.info.factors) <= set(item)
    again = Shapes(ShapesParams(size=size, channels=channels, length=50), seed=7)[3]
    assert all(torch.equal(item[k], again[k]) for k in item)
    other = Shapes(ShapesParams(size=size, channels=channels, length=50), seed=8)[3]
    assert not torch.equal(item["x"], other["x"])


def test_shapes_are_drawn_ahead_in_the_background_to_the_same_pixels():
    import pickle

    from ganforge.capabilities import Prerenders

    params = ShapesParams(size=16, length=300)
    on_demand = Shapes(params, seed=4)
    ahead = Shapes(params, seed=4)
    assert isinstance(ahead, Prerenders)
    stream = BatchStream(ahead, batch_size=30, seed=0)
    first = next(stream)  # the stream starts the drawing when it reads in this process
    ahead._drawing.join(timeout=60)
    assert ahead._cached.all() and not on_demand._cached.any()
    assert all(torch.equal(ahead[i]["x"], on_demand[i]["x"]) for i in range(0, 300, 7))
    order = list(BatchStream(on_demand, batch_size=30, seed=0)._order())[:30]
    assert torch.equal(first["x"], torch.stack([on_demand[i]["x"] for i in order]))
    assert pickle.loads(pickle.dumps(ahead))._cached.all()  # loader workers get the drawn images, not the thread


def test_a_batch_of_shapes_at_once_is_the_collated_items():
    from torch.utils.data import default_collate

    from ganforge.capabilities import Batched

    shapes = Shapes(ShapesParams(size=16, length=100, rotate=True), seed=2)
    assert isinstance(shapes, Batched)
    indices = [5, 99, 0, 5, 42]
    one_by_one = default_collate([Shapes(ShapesParams(size=16, length=100, rotate=True), seed=2)[i] for i in indices])
    at_once = shapes.batch(indices)
    assert at_once.keys() == one_by_one.keys()
    for key in at_once:
        assert at_once[key].dtype == one_by_one[key].dtype and torch.equal(at_once[key], one_by_one[key]), key
    assert shapes[7]["y"].shape == () and shapes[7]["x"].shape == (3, 16, 16)
    stream = BatchStream(shapes, batch_size=10, seed=1)  # the stream reads whole batches...
    items = BatchStream(torch.utils.data.Subset(shapes, range(100)), batch_size=10, seed=1)  # ...a Subset item by item
    for _ in range(12):  # past an epoch
        a, b = next(stream), next(items)
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_shapes_factors_change_the_picture():
    shapes = Shapes(ShapesParams(size=32, rotate=False, jitter=0.0, scale=(1.0, 1.0), colors=["white"]), seed=0)
    triangle = shapes.render({"y": 0, "color": 0, "scale": 1.0, "angle": 0.0, "cx": 0.0, "cy": 0.0})
    octagon = shapes.render({"y": 5, "color": 0, "scale": 1.0, "angle": 0.0, "cx": 0.0, "cy": 0.0})
    assert octagon.mean() > triangle.mean() * 1.5, "an octagon covers much more of its circle than a triangle"


def _write_images(root, names, size=(20, 16)):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.random.default_rng(len(name)).integers(0, 255, (*size[::-1], 3), dtype=np.uint8)).save(path)


def test_image_folder_with_labels_crops_and_flips(tmp_path):
    _write_images(tmp_path, ["cat/a.png", "cat/b.png", "dog/c.jpg"])
    params = ImageFolderParams(root=tmp_path, size=8, crop="random", flip=True, labels=True)
    data = ImageFolder(params, seed=0)
    assert len(data) == 3 and data.info.shape == (3, 8, 8)
    assert data.info.class_names == ("cat", "dog") and [int(data[i]["y"]) for i in range(3)] == [0, 0, 1]
    first = data[0]["x"]
    assert torch.equal(first, ImageFolder(params, seed=0)[0]["x"]), "augmentation is seeded per item"
    epochs = []
    for epoch in range(6):
        data.set_epoch(epoch)
        epochs.append(data[0]["x"])
    assert any(not torch.equal(epochs[0], e) for e in epochs[1:]), "augmentation changes with the epoch"


def test_image_folder_resizes_like_pillows_bicubic_filter_within_one_level(tmp_path):
    """The resize runs on uint8 tensors (torch's antialiased bicubic kernel, four times faster
    than Pillow's): the same geometry and centre crop as Pillow, pixels within a level or two."""
    rng = np.random.default_rng(0)
    smooth = lambda h, w, c: np.asarray(Image.fromarray(rng.integers(0, 255, (h // 8, w // 8, c), dtype=np.uint8).squeeze())
                                        .resize((w, h), Image.BICUBIC))
    cases = [("wide.png", smooth(96, 160, 3), 3, 32), ("tall.png", smooth(218, 178, 3), 3, 64),
             ("small.png", smooth(16, 24, 3), 3, 40), ("grey.png", smooth(80, 64, 1), 1, 24)]
    for name, pixels, channels, size in cases:
        folder = tmp_path / name.removesuffix(".png")
        folder.mkdir()
        Image.fromarray(pixels).save(folder / name)
        item = ImageFolder(ImageFolderParams(root=folder, size=size, channels=channels), seed=0)[0]["x"]
        image = Image.open(folder / name).convert("L" if channels == 1 else "RGB")
        width, height = image.size
        scale = size / min(width, height)
        resized = image.resize((size, int(height * scale)) if width <= height else (int(width * scale), size), Image.BICUBIC)
        left, top = (resized.width - size) // 2, (resized.height - size) // 2
        expected = np.asarray(resized.crop((left, top, left + size, top + size)), dtype=np.float32)
        expected = torch.from_numpy(expected[None] if expected.ndim == 2 else expected.transpose(2, 0, 1))
        got = (item + 1) * 127.5
        assert got.shape == expected.shape == (channels, size, size), name
        assert (got - expected).abs().max() <= 2.01, name
        assert (got - expected).abs().gt(0.01).float().mean() < 0.02, name


def test_image_folder_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        ImageFolder(ImageFolderParams(root=tmp_path / "nope"), 0)
    with pytest.raises(DataError, match="no images"):
        ImageFolder(ImageFolderParams(root=tmp_path), 0)
    _write_images(tmp_path, ["a.png"])
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="cannot read image .*broken.png: damaged PNG file"):
        ImageFolder(ImageFolderParams(root=tmp_path, size=8), 0)
    with pytest.raises(DataError, match="class subfolder"):
        ImageFolder(ImageFolderParams(root=tmp_path, labels=True), 0)


@pytest.mark.parametrize("layout", ["nhw", "nhwc", "nchw"])
def test_npz_layouts_and_resize(tmp_path, layout):
    images = np.random.default_rng(0).integers(0, 255, (10, 28, 28), dtype=np.uint8)
    array = {"nhw": images, "nhwc": images[..., None], "nchw": images[:, None]}[layout]
    np.savez(tmp_path / "d.npz", x=array, y=np.arange(10) % 3)
    data = NpzImages(**NpzParams(path=tmp_path / "d.npz", images="x", labels="y", size=32).model_dump())
    assert data.info.shape == (1, 32, 32) and data.info.num_classes == 3
    assert data[4]["x"].shape == (1, 32, 32) and int(data[4]["y"]) == 1
    raw = NpzImages(**NpzParams(path=tmp_path / "d.npz", images="x").model_dump())
    assert torch.allclose(raw[0]["x"], torch.from_numpy(images[0]).float()[None] / 127.5 - 1)


def test_npz_binarize_makes_every_pixel_black_or_white_at_the_threshold(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.array([[[0, 100, 128, 200, 255]]], np.uint8))
    data = NpzImages(**NpzParams(path=tmp_path / "d.npz", images="x", binarize=0.5).model_dump())
    assert data[0]["x"].flatten().tolist() == [-1, -1, 1, 1, 1]  # 128 > 127.5
    darker = NpzImages(**NpzParams(path=tmp_path / "d.npz", images="x", binarize=0.8).model_dump())
    assert darker[0]["x"].flatten().tolist() == [-1, -1, -1, -1, 1]


def test_npz_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        NpzImages(**NpzParams(path=tmp_path / "missing.npz").model_dump())
    np.savez(tmp_path / "d.npz", pixels=np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(DataError, match="has no array 'x_train'; it has: pixels"):
        NpzImages(**NpzParams(path=tmp_path / "d.npz").model_dump())


@pytest.mark.skipif(not (SHARED_DATA / "mnist" / "mnist.npz").is_file(), reason="shared MNIST not present")
def test_real_mnist():
    data = NpzImages(**NpzParams(path=SHARED_DATA / "mnist" / "mnist.npz", labels="y_train", size=32, limit=100).model_dump())
    assert data.info.shape == (1, 32, 32) and data.info.num_classes == 10


def test_stream_order_is_seeded_and_resumable():
    data = GaussianMixture(np.zeros((1, 2)), 1.0, 100, seed=0)
    full = BatchStream(data, 8, seed=5)
    batches = [next(full)["x"] for _ in range(30)]  # crosses epoch boundaries (12 batches an epoch)
    assert not torch.equal(batches[0], batches[12]), "each epoch has its own order"
    partial = BatchStream(data, 8, seed=5)
    for _ in range(17):
        next(partial)
    restored = BatchStream(data, 8, seed=5)
    restored.load_state_dict(partial.state_dict())
    assert all(torch.equal(next(restored)["x"], b) for b in batches[17:])
    rng = torch.get_rng_state()
    next(BatchStream(data, 8, seed=5))
    assert torch.equal(rng, torch.get_rng_state()), "the stream never draws from the global RNG"


def test_stream_shards_without_overlap():
    data = GaussianMixture(np.zeros((1, 2)), 1.0, 64, seed=0)
    seen = [torch.cat([next(BatchStream(data, 8, seed=1, rank=r, world_size=2))["x"] for _ in range(1)]) for r in range(2)]
    assert not any((seen[0][:, None] == seen[1][None]).all(-1).any(-1))


def test_stream_rejects_a_dataset_smaller_than_a_batch():
    with pytest.raises(DataError, match="fewer than one batch"):
        BatchStream(GaussianMixture(np.zeros((1, 2)), 1.0, 5, seed=0), 8, seed=0)


def test_image_folder_reads_a_zip_archive_and_a_folder_inside_it(tmp_path):
    import io
    import zipfile

    from PIL import Image

    from ganforge.builtin.data import ImageFolderParams
    from ganforge.data.image_folder import ImageFolder
    from ganforge.errors import DataError

    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for split in ("train", "test"):
            for label, colour in (("cat", (255, 0, 0)), ("dog", (0, 0, 255))):
                for i in range(3):
                    buffer = io.BytesIO()
                    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
                    handle.writestr(f"{split}/{label}/{i}.png", buffer.getvalue())
        handle.writestr("test/dog/broken.png", b"not an image")
    data = ImageFolder(ImageFolderParams(root=archive / "train", labels=True), seed=0)
    assert len(data) == 6 and data.info.class_names == ("cat", "dog") and data.info.shape == (3, 8, 8)
    first, last = data[0], data[5]
    assert first["y"] == 0 and last["y"] == 1
    assert first["x"][0].min() == 1 and last["x"][2].min() == 1 and last["x"][0].max() == -1
    with pytest.raises(DataError, match=r"broken.png.*not an image"):
        ImageFolder(ImageFolderParams(root=archive / "test", labels=True), seed=0)
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        assert len(ImageFolder(ImageFolderParams(root=archive / "test", on_error="skip"), seed=0)) == 6
    with pytest.raises(DataError, match=r"has no folder 'val'.*\['test', 'train'\]"):
        ImageFolder(ImageFolderParams(root=archive / "val"), seed=0)
    assert data.fingerprint() == ImageFolder(ImageFolderParams(root=archive / "train", labels=True), seed=0).fingerprint()


def test_image_folder_offset_and_limit_give_a_held_out_slice(tmp_path):
    for i in range(10):
        Image.new("RGB", (8, 8), (i * 20, 0, 0)).save(tmp_path / f"{i:02d}.png")
    train = ImageFolder(ImageFolderParams(root=tmp_path, limit=7), seed=0)
    held_out = ImageFolder(ImageFolderParams(root=tmp_path, offset=7, limit=2), seed=0)
    assert [f.name for f in train.files] == [f"{i:02d}.png" for i in range(7)]
    assert [f.name for f in held_out.files] == ["07.png", "08.png"]
    with pytest.raises(DataError, match="offset 10 skips all 10"):
        ImageFolder(ImageFolderParams(root=tmp_path, offset=10), seed=0)


def test_translation_data_info_round_trips_through_json():
    from ganforge.data.info import DataInfo

    info = DataInfo(shape=(3, 32, 32), source_shape=(1, 32, 32), paired=True)
    again = DataInfo.from_json(info.to_json())
    assert again == info and again.is_translation and not DataInfo(shape=(3, 8, 8)).is_translation


def test_image_folder_attributes_from_a_csv_or_celeba_table(tmp_path):
    from ganforge.data.info import DataInfo

    _write_images(tmp_path / "img", ["a.png", "b.png", "sub/c.png"])
    csv = tmp_path / "attrs.csv"
    csv.write_text("file,Smiling,age,hair\na.png,1,31,0.5\nb.png,-1,40,0.25\nsub/c.png,1,22,1.0\n")
    data = ImageFolder(ImageFolderParams(root=tmp_path / "img", size=8, attributes=csv), 0)
    assert data.info.factors == ("Smiling", "age", "hair")
    assert data.info.value_names("Smiling") == ("not Smiling", "Smiling") and data.info.value_names("age") is None
    items = [data[i] for i in range(3)]
    assert [int(item["Smiling"]) for item in items] == [1, 0, 1]  # -1/1 read as 0/1
    assert items[1]["age"].dtype == torch.long and items[2]["hair"].dtype == torch.float32
    assert DataInfo.from_json(data.info.to_json()) == data.info

    celeba = tmp_path / "list_attr_celeba.txt"  # CelebA's own layout, matched by base name
    celeba.write_text("3\nSmiling Male\na.png  1 -1\nb.png -1 -1\nc.png  1  1\n")
    data = ImageFolder(ImageFolderParams(root=tmp_path / "img", size=8, attributes=celeba), 0)
    assert [int(data[i]["Male"]) for i in range(3)] == [0, 0, 1]
    before = data.fingerprint()
    celeba.write_text("3\nSmiling Male\na.png  1 -1\nb.png -1 -1\nc.png  1 -1\n")
    assert ImageFolder(ImageFolderParams(root=tmp_path / "img", size=8, attributes=celeba), 0).fingerprint() != before

    celeba.write_text("2\nSmiling\na.png 1\nb.png -1\n")
    with pytest.raises(DataError, match=r"1 image\(s\) .* have no row in the attributes file .*c.png"):
        ImageFolder(ImageFolderParams(root=tmp_path / "img", attributes=celeba), 0)
    csv.write_text("file,y\na.png,1\n")
    with pytest.raises(DataError, match="y name.* the item's own entries; rename the column"):
        ImageFolder(ImageFolderParams(root=tmp_path / "img", attributes=csv), 0)
    csv.write_text("file,Smiling,Male\na.png,1\n")
    with pytest.raises(DataError, match="row 2 .a.png.: 1 values for 2 attributes"):
        ImageFolder(ImageFolderParams(root=tmp_path / "img", attributes=csv), 0)
    with pytest.raises(DataError, match="attributes file .*nope.csv does not exist"):
        ImageFolder(ImageFolderParams(root=tmp_path / "img", attributes=tmp_path / "nope.csv"), 0)


def test_fast_decode_reads_jpegs_at_a_reduced_scale_no_smaller_than_the_size(tmp_path, monkeypatch):
    from ganforge.data import images

    y, x = np.mgrid[0:320, 0:256]
    pixels = np.stack([x % 256, y * 255 // 319, (x + y) % 256], -1).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "big.jpg", quality=95)
    decoded = []
    original = images.Image.Image.load

    def watch(self):
        decoded.append(self.size)
        return original(self)

    monkeypatch.setattr(images.Image.Image, "load", watch)
    fast = ImageFolder(ImageFolderParams(root=tmp_path, size=64, fast_decode=True), seed=0)
    decoded.clear()
    item = fast[0]["x"]
    assert decoded[0] == (64, 80)  # a quarter of 256 x 320: the smallest scale still 64 on its shorter side
    plain = ImageFolder(ImageFolderParams(root=tmp_path, size=64), seed=0)
    decoded.clear()
    reference = plain[0]["x"]
    assert decoded[0] == (256, 320)
    assert item.shape == reference.shape == (3, 64, 64)
    assert 0 < (item - reference).abs().mean() < 0.05  # nearly the same pixels, not quite
    assert ImageFolder(ImageFolderParams(root=tmp_path, size=32, fast_decode=True), seed=0)[0]["x"].shape == (3, 32, 32)
    assert fast.fingerprint() != plain.fingerprint()
    with pytest.raises(ValueError, match="fast_decode decodes JPEGs no smaller than `size`"):
        ImageFolderParams(root=tmp_path, fast_decode=True)


def test_the_decoded_cache_serves_later_epochs_without_decoding(tmp_path, monkeypatch):
    from torch.utils.data import DataLoader

    from ganforge.data import image_folder

    _write_images(tmp_path / "images", ["a.png", "b.jpg", "c/d.png", "e.jpg"])
    monkeypatch.setenv("GANFORGE_CACHE_DIR", str(tmp_path / "cache"))
    plain = ImageFolder(ImageFolderParams(root=tmp_path / "images", size=8, flip=True), seed=0)
    cached = ImageFolder(ImageFolderParams(root=tmp_path / "images", size=8, flip=True, cache=True), seed=0)
    # loader workers fill the cache in their own processes
    list(DataLoader(cached, batch_size=2, num_workers=2))
    expected = []
    for epoch in range(3):  # flips change with the epoch
        plain.set_epoch(epoch)
        expected.append([plain[i]["x"] for i in range(len(plain))])
    decoded = []
    original = image_folder.open_image
    monkeypatch.setattr(image_folder, "open_image", lambda *a, **k: decoded.append(a[0]) or original(*a, **k))
    again = ImageFolder(ImageFolderParams(root=tmp_path / "images", size=8, flip=True, cache=True), seed=0)
    for epoch in range(3):
        again.set_epoch(epoch)
        assert all(torch.equal(expected[epoch][i], again[i]["x"]) for i in range(len(plain)))
    assert decoded == []
    other_seed = ImageFolder(ImageFolderParams(root=tmp_path / "images", size=8, flip=True, cache=True), seed=5)
    other_seed[0]
    assert decoded == []  # the cached pixels do not depend on the augmentation seed
    Image.fromarray(np.zeros((16, 20, 3), np.uint8)).save(tmp_path / "images" / "e.jpg")  # content changed
    changed = ImageFolder(ImageFolderParams(root=tmp_path / "images", size=8, cache=True), seed=0)
    changed[3]
    assert len(decoded) == 1  # a new cache file: the changed data is decoded afresh
    with pytest.raises(ValueError, match="cache keeps one crop of each image, so it needs crop: center"):
        ImageFolderParams(root=tmp_path / "images", size=8, crop="random", cache=True)
