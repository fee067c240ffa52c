"""Translation data: pix2pix's side-by-side and two-folder layouts, CycleGAN's folders, Canny
edges, the built-in shapes variants; jitter that treats both images alike and repeats per seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from translation_fixtures import SHARED_DATA, one_thread, registry, save_image  # noqa: F401 (fixtures)
from ganforge.build import BuildContext
from ganforge.errors import DataError
from ganforge_translation import plugin
from ganforge_translation.data import canny, edges, paired_folder, shapes_edges, shapes_recolor, unpaired_folder


def ctx():
    return BuildContext(recipe=None, seed=0, device=torch.device("cpu"), registry=None)


def pattern(seed: int, size: int = 24) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3))


def side_by_side(folder, count: int = 3, size: int = 24):
    """A|B files whose B half is A's colours inverted."""
    for i in range(count):
        a = pattern(i, size)
        save_image(folder / f"{i:03d}.png", np.concatenate([a, 255 - a], axis=1))
    return folder


def test_side_by_side_pairs_follow_the_direction(tmp_path):
    root = side_by_side(tmp_path / "pairs")
    forward = paired_folder(plugin.PairedFolderParams(root=root, crop_size=24, jitter=False), ctx())
    backward = paired_folder(plugin.PairedFolderParams(root=root, crop_size=24, jitter=False, direction="BtoA"), ctx())
    item, flipped = forward[1], backward[1]
    expected_a = torch.from_numpy(pattern(1).astype(np.float32)).permute(2, 0, 1) / 127.5 - 1
    assert torch.allclose(item["source"], expected_a, atol=1e-6)
    assert torch.allclose(item["x"], -expected_a, atol=1e-2)  # B is A inverted
    assert torch.equal(flipped["source"], item["x"]) and torch.equal(flipped["x"], item["source"])
    assert forward.info.paired and forward.info.source_shape == (3, 24, 24) and forward.info.shape == (3, 24, 24)


def test_jitter_crops_and_flips_both_images_alike_and_repeats_per_seed_and_epoch(tmp_path):
    root = tmp_path / "same"
    for i in range(2):
        a = pattern(i, 32)
        save_image(root / f"{i}.png", np.concatenate([a, a], axis=1))  # identical halves
    params = plugin.PairedFolderParams(root=root, load_size=32, crop_size=24)
    data = paired_folder(params, ctx())
    crops = set()
    for epoch in range(6):
        data.set_epoch(epoch)
        item = data[0]
        assert item["source"].shape == (3, 24, 24)
        assert torch.equal(item["source"], item["x"])  # the same crop and flip for A and B
        crops.add(item["source"].sum().item())
    assert len(crops) > 1  # the crop moves between epochs
    again = paired_folder(params, ctx())
    again.set_epoch(5)
    assert torch.equal(again[0]["source"], data[0]["source"])


def test_two_folders_pair_by_file_name_and_mismatches_are_named(tmp_path):
    for i in range(3):
        save_image(tmp_path / "a" / f"img{i}.png", pattern(i))
        save_image(tmp_path / "b" / f"img{i}.png", 255 - pattern(i))
    data = paired_folder(plugin.PairedFolderParams(root_a=tmp_path / "a", root_b=tmp_path / "b", crop_size=24,
                                                   jitter=False, channels_b=1), ctx())
    assert len(data) == 3 and data[2]["x"].shape == (1, 24, 24) and data.info.shape == (1, 24, 24)
    save_image(tmp_path / "a" / "extra.png", pattern(9))
    with pytest.raises(DataError, match=r"extra is in .*a only"):
        paired_folder(plugin.PairedFolderParams(root_a=tmp_path / "a", root_b=tmp_path / "b"), ctx())


def test_paired_folder_needs_one_layout():
    with pytest.raises(ValueError, match="either `root`"):
        plugin.PairedFolderParams()
    with pytest.raises(ValueError, match="both `root_a` and `root_b`"):
        plugin.PairedFolderParams(root_a="a")


def test_unreadable_pairs_are_named_or_skipped(tmp_path):
    root = side_by_side(tmp_path / "pairs")
    (root / "broken.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"broken.png.*empty file"):
        paired_folder(plugin.PairedFolderParams(root=root), ctx())
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        data = paired_folder(plugin.PairedFolderParams(root=root, on_error="skip", crop_size=24, jitter=False), ctx())
    assert len(data) == 3


def test_unpaired_folder_reads_cyclegan_layout(tmp_path):
    for side, count in (("A", 3), ("B", 5)):
        for split in ("train", "test"):
            for i in range(count):
                save_image(tmp_path / f"{split}{side}" / f"photo {i}.jpg", pattern(i + (100 if side == "B" else 0)))
    train = unpaired_folder(plugin.UnpairedFolderParams(root=tmp_path, load_size=28, crop_size=24), ctx())
    assert len(train) == 5 and not train.info.paired
    partners = {train[i]["x"].sum().item() for i in range(5)}
    assert len(partners) > 1
    test = unpaired_folder(plugin.UnpairedFolderParams(root=tmp_path, split="test", crop_size=24, jitter=False), ctx())
    assert torch.equal(test[4]["source"], test[1]["source"])  # A repeats modulo its count
    assert torch.equal(test[4]["x"], unpaired_folder(plugin.UnpairedFolderParams(
        root=tmp_path, split="test", crop_size=24, jitter=False), ctx())[4]["x"])


def test_unpaired_folder_says_which_folders_it_needs(tmp_path):
    (tmp_path / "trainA").mkdir()
    (tmp_path / "photos").mkdir()
    with pytest.raises(DataError, match=r"trainB.*has \['photos', 'trainA'\]"):
        unpaired_folder(plugin.UnpairedFolderParams(root=tmp_path), ctx())


def test_canny_finds_the_outline_of_a_square():
    image = -torch.ones(3, 32, 32)
    image[:, 8:24, 8:24] = 1
    params = plugin.CannyParams()
    edge_map = canny(image, params)
    assert edge_map.shape == (1, 32, 32) and set(edge_map.unique().tolist()) <= {-1.0, 1.0}
    dark = edge_map[0] < 0  # dark lines on white
    assert dark[8:24, 7:10].any() and dark[8:24, 22:25].any()
    assert not dark[:4].any() and not dark[13:19, 13:19].any()
    white_on_black = canny(image, plugin.CannyParams(invert=False, edge_channels=3))
    assert white_on_black.shape == (3, 32, 32) and torch.equal(white_on_black[0] > 0, dark)


def test_edges_pairs_any_image_folder_with_its_edges(tmp_path):
    for i in range(2):
        pixels = np.zeros((40, 40, 3))
        pixels[10 + i:30, 10:30] = 255
        save_image(tmp_path / "faces" / f"{i}.png", pixels)
    data = edges(plugin.EdgesParams(root=tmp_path / "faces", size=32), ctx())
    item = data[0]
    assert item["source"].shape == (1, 32, 32) and item["x"].shape == (3, 32, 32)
    assert data.info.paired and data.info.source_shape == (1, 32, 32)
    assert (item["source"] < 0).any()


def test_shapes_variants_need_no_files():
    paired = shapes_edges(plugin.ShapesEdgesParams(size=16, length=8), ctx())
    assert paired[0]["source"].shape == (1, 16, 16) and paired.info.paired
    recolor = shapes_recolor(plugin.ShapesRecolorParams(size=16, length=16, colors_a=["red"], colors_b=["blue"],
                                                        paired=True), ctx())
    item = recolor[3]
    red = (item["source"][0] > 0.5) & (item["source"][2] < -0.5)
    blue = (item["x"][2] > 0.5) & (item["x"][0] < -0.5)
    assert red.sum() > 10 and torch.equal(red, blue)  # the same polygon, recoloured
    unpaired = shapes_recolor(plugin.ShapesRecolorParams(size=16, length=16), ctx())
    assert not unpaired.info.paired
    assert any(not torch.equal(unpaired[i]["x"][2] > 0, recolor[i]["x"][2] > 0) for i in range(16))
    with pytest.raises(DataError, match="as many colors_b"):
        shapes_recolor(plugin.ShapesRecolorParams(colors_a=["red"], colors_b=["blue", "cyan"]), ctx())


@pytest.mark.skipif(not (SHARED_DATA / "facades").is_dir(), reason="../shared/data/facades is not here")
def test_facades_labels_to_photo_is_btoa():
    params = plugin.PairedFolderParams(root=SHARED_DATA / "facades" / "val", direction="BtoA", jitter=False)
    data = paired_folder(params, ctx())
    item = data[0]
    assert len(data) == 100 and item["source"].shape == (3, 256, 256)
    # label maps are a few flat colours; photos have many
    assert len(item["source"].flatten(1).T.unique(dim=0)) < len(item["x"].flatten(1).T.unique(dim=0)) / 4
