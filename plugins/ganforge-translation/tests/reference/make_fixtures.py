"""Write the reference-parity fixtures of this folder by running the reference implementations.

Not run by the test suite: it needs the reference code, which is not part of ganforge. Give it
a folder holding junyanz/pytorch-CycleGAN-and-pix2pix's ``models/networks.py`` as
``junyanz/networks.py`` and NVIDIA/pix2pixHD's ``models/networks.py`` as
``pix2pixhd/networks.py``:

    python plugins/ganforge-translation/tests/reference/make_fixtures.py /path/to/reference

Each fixture holds a net's key names and shapes (its weights come from the formula in
``reference_layouts.py``), how its input is made, and the reference's output (a strided
subsample plus the sums of the whole output). The reference test script runs without --eval
in training mode on batches of one image; ``mode: train`` fixtures do that image by image."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from reference_layouts import fill_state, label_maps, seeded_images, subsample  # noqa: E402


def module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def norm_weights(net: torch.nn.Module) -> list[str]:
    return [f"{name}.weight" for name, m in net.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]


def filled(net: torch.nn.Module, seed: int) -> dict:
    layout = [(k, list(v.shape)) for k, v in net.state_dict().items()]
    state = fill_state(layout, seed, set(norm_weights(net)))
    return layout, state


def run(net: torch.nn.Module, x: torch.Tensor, mode: str) -> torch.Tensor:
    with torch.no_grad():
        if mode == "eval":
            return net.eval()(x)
        net.train()  # the reference test script without --eval, one image at a time
        return torch.cat([net(x[i:i + 1]) for i in range(len(x))])


def write(name: str, meta: dict, output: torch.Tensor, stride: int) -> None:
    meta = {**meta, "stride": stride, "sum": float(output.double().sum()), "abs_sum": float(output.double().abs().sum()),
            "torch": torch.__version__}
    save_file({"output": subsample(output, stride)}, str(HERE / f"{name}.safetensors"), metadata={"fixture": json.dumps(meta)})
    print(f"{name}: output {tuple(output.shape)}, range [{float(output.min()):.3f}, {float(output.max()):.3f}]")


def junyanz_cases(networks) -> None:
    cases = [
        # name, netG, norm, dropout, ngf, in, out, size, mode, seed
        ("unet256_batch_dropout_eval", "unet_256", "batch", True, 2, 3, 3, 256, "eval", 1),
        ("unet256_batch_train", "unet_256", "batch", False, 2, 3, 1, 256, "train", 2),
        ("unet128_instance", "unet_128", "instance", True, 3, 1, 3, 128, "eval", 3),
        ("resnet9_instance_A", "resnet_9blocks", "instance", False, 2, 3, 3, 64, "eval", 4),
        ("resnet9_instance_B", "resnet_9blocks", "instance", False, 2, 3, 3, 64, "eval", 5),
        ("resnet6_batch_dropout_eval", "resnet_6blocks", "batch", True, 3, 3, 3, 64, "eval", 6),
        ("resnet6_batch_train", "resnet_6blocks", "batch", False, 3, 3, 3, 64, "train", 7),
    ]
    for name, netG, norm, dropout, ngf, in_c, out_c, size, mode, seed in cases:
        net = networks.define_G(in_c, out_c, ngf, netG, norm, dropout)
        layout, state = filled(net, seed)
        net.load_state_dict(state)
        x = seeded_images((2, in_c, size, size), seed)
        meta = {"format": "junyanz", "netG": netG, "norm": norm, "dropout": dropout, "ngf": ngf, "mode": mode,
                "seed": seed, "input": [2, in_c, size, size], "layout": layout, "norm_weights": norm_weights(net)}
        write(f"junyanz_{name}", meta, run(net, x, mode), size // 16)

    # an instance-norm checkpoint saved before PyTorch 0.4 (running statistics of instance norm layers):
    # the reference deletes them when loading; its output is that of the net without them
    legacy = networks.define_G(3, 3, 2, "resnet_6blocks", "instance", False, legacy=True)
    layout, state = filled(legacy, 8)
    net = networks.define_G(3, 3, 2, "resnet_6blocks", "instance", False)
    net.load_state_dict({k: v for k, v in state.items() if k in net.state_dict()})
    x = seeded_images((2, 3, 64, 64), 8)
    meta = {"format": "junyanz", "netG": "resnet_6blocks", "norm": "instance", "dropout": False, "ngf": 2, "mode": "eval",
            "seed": 8, "input": [2, 3, 64, 64], "layout": layout, "norm_weights": []}
    write("junyanz_resnet6_instance_legacy", meta, run(net, x, "eval"), 4)


def pix2pixhd_cases(networks) -> None:
    # the global generator on one-hot label maps plus the instance-boundary channel
    classes, size = 4, 64
    net = networks.define_G(classes + 1, 3, 4, "global", n_downsample_global=3, n_blocks_global=2)
    layout, state = filled(net, 11)
    net.load_state_dict(state)
    labels, instances = label_maps(2, size, classes, 11)
    one_hot = torch.zeros(2, classes, size, size).scatter_(1, labels, 1.0)
    edge = torch.zeros_like(instances, dtype=torch.bool)  # pix2pixHD's get_edges, on the CPU
    edge[:, :, :, 1:] |= instances[:, :, :, 1:] != instances[:, :, :, :-1]
    edge[:, :, :, :-1] |= instances[:, :, :, 1:] != instances[:, :, :, :-1]
    edge[:, :, 1:, :] |= instances[:, :, 1:, :] != instances[:, :, :-1, :]
    edge[:, :, :-1, :] |= instances[:, :, 1:, :] != instances[:, :, :-1, :]
    x = torch.cat([one_hot, edge.float()], 1)
    meta = {"format": "pix2pixhd", "netG": "global", "label_nc": classes, "no_instance": False, "mode": "eval",
            "seed": 11, "size": size, "layout": layout, "norm_weights": []}
    write("pix2pixhd_global_labels", meta, run(net, x, "eval"), 4)

    # the local enhancer on images (label_nc 0)
    net = networks.define_G(3, 3, 2, "local", n_downsample_global=2, n_blocks_global=2, n_local_enhancers=1,
                            n_blocks_local=1)
    layout, state = filled(net, 12)
    net.load_state_dict(state)
    x = seeded_images((2, 3, size, size), 12)
    meta = {"format": "pix2pixhd", "netG": "local", "label_nc": 0, "no_instance": True, "mode": "eval", "seed": 12,
            "input": [2, 3, size, size], "size": size, "layout": layout, "norm_weights": []}
    write("pix2pixhd_local_images", meta, run(net, x, "eval"), 4)


if __name__ == "__main__":
    reference = Path(sys.argv[1])
    junyanz_cases(module(reference / "junyanz" / "networks.py", "junyanz_networks"))
    hd = module(reference / "pix2pixhd" / "networks.py", "pix2pixhd_networks")
    hd.print = lambda *a, **k: None  # its define_G prints the whole net
    pix2pixhd_cases(hd)
