"""Write the StyleGAN2 reference fixtures of this folder by running the reference code.

Not run by the test suite (the reference code is not part of ganforge). Give it a folder holding
rosinality/stylegan2-pytorch's ``model.py`` and ``op/`` as ``rosinality/`` and
NVlabs/stylegan2-ada-pytorch's ``dnnlib/``, ``torch_utils/`` and ``training/`` as ``nvidia/``, and
brownvc/R3GAN's ``R3GAN/``, ``torch_utils/`` and ``dnnlib/`` as ``r3gan/``:

    python plugins/ganforge-modern/tests/reference/make_fixtures.py /path/to/reference

The reference's CUDA extensions are not built (its ops have CPU paths). Each fixture holds key
names and shapes (weights from ``reference_weights.py``), the latents' seeds and the outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from reference_weights import latents, uniform, weights  # noqa: E402

NEAR_ONE = ("modulation.bias",)
SMALL = ("noise.weight", "activate.bias", "to_rgb1.bias", ".bias")


def rosinality(reference: Path) -> None:
    import torch.utils.cpp_extension

    torch.utils.cpp_extension.load = lambda *args, **kwargs: None  # the CUDA ops are not needed on the CPU
    sys.path.insert(0, str(reference / "rosinality"))
    from model import Generator

    size, style_dim, n_mlp = 16, 32, 2
    g = Generator(size, style_dim, n_mlp, channel_multiplier=2).eval()
    layout = [(k, list(v.shape)) for k, v in g.state_dict().items() if not k.endswith("kernel")]
    state = weights(layout, 21, NEAR_ONE, SMALL)
    g.load_state_dict({**g.state_dict(), **state})
    latent_avg = (0.3 * uniform(style_dim, 22)).float()
    z, z_mix = latents(2, style_dim, 23), latents(2, style_dim, 24)
    with torch.no_grad():
        plain, _ = g([z], randomize_noise=False)
        truncated, _ = g([z], randomize_noise=False, truncation=0.7, truncation_latent=latent_avg[None])
        mixed, _ = g([z, z_mix], randomize_noise=False, inject_index=3)
    meta = {"size": size, "style_dim": style_dim, "n_mlp": n_mlp, "seed": 21, "latent_avg_seed": 22, "z_seed": 23,
            "z_mix_seed": 24, "inject_index": 3, "psi": 0.7, "layout": layout, "near_one": NEAR_ONE, "small": SMALL,
            "torch": torch.__version__}
    save_file({"plain": plain, "truncated": truncated, "mixed": mixed}, str(HERE / "rosinality_16px.safetensors"),
              metadata={"fixture": json.dumps(meta)})
    print("rosinality_16px:", tuple(plain.shape), float(plain.abs().max()))



NEVER_RUN = "raise RuntimeError('a ganforge test fixture: the code in a network pickle must never run')\n"


def nvidia(reference: Path) -> None:
    """A stylegan2-ada-pytorch snapshot pickle of a tiny net (its code replaced by a line that
    raises, so the fixture carries none of the reference's code), and G_ema's images."""
    import copy
    import io
    import pickle

    sys.path.insert(0, str(reference / "nvidia"))
    from torch_utils import persistence

    import dnnlib
    from training.augment import AugmentPipe
    from training.networks import Generator

    torch.manual_seed(31)
    synthesis = dict(channel_base=128, channel_max=8, num_fp16_res=0, conv_clamp=256)
    G = Generator(z_dim=16, c_dim=0, w_dim=16, img_resolution=16, img_channels=3,
                  mapping_kwargs=dict(num_layers=2), synthesis_kwargs=synthesis)
    with torch.no_grad():  # a trained-looking truncation centre and noise strengths
        G.mapping.w_avg.copy_(0.3 * torch.randn(16))
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.1)
    # a snapshot as training_loop.py writes one, less G and D (the same kinds of objects as G_ema; kept out for size)
    snapshot = dict(training_set_kwargs=dnnlib.EasyDict(path="faces.zip", resolution=16),
                    G_ema=copy.deepcopy(G).eval().requires_grad_(False), augment_pipe=AugmentPipe(xflip=1, rotate90=1))
    for net in (snapshot["G_ema"], snapshot["augment_pipe"]):
        for module in net.modules():
            if persistence.is_persistent(module):
                type(module)._orig_module_src = NEVER_RUN  # what the pickle carries as the classes' code
    buffer = io.BytesIO()
    pickle.dump(snapshot, buffer)
    (HERE / "nvidia_16px.pkl").write_bytes(buffer.getvalue())
    z = latents(2, 16, 32)
    g = snapshot["G_ema"]
    with torch.no_grad():
        plain = g(z, None, noise_mode="const")
        truncated = g(z, None, truncation_psi=0.7, noise_mode="const")
    meta = {"z_seed": 32, "psi": 0.7, "torch": torch.__version__}
    save_file({"plain": plain, "truncated": truncated}, str(HERE / "nvidia_16px.safetensors"),
              metadata={"fixture": json.dumps(meta)})
    print("nvidia_16px:", len(buffer.getvalue()), "bytes;", tuple(plain.shape), float(plain.abs().max()))


def r3gan(reference: Path) -> None:
    """The official R3GAN nets (brownvc/R3GAN, R3GAN/Networks.py; its ops take their reference
    paths on the CPU) at a tiny size, weights from the formula scaled by fan-in."""
    sys.path.insert(0, str(reference / "r3gan"))
    from R3GAN.Networks import Discriminator, Generator

    settings = dict(WidthPerStage=[16, 12, 8, 8], CardinalityPerStage=[4, 4, 2, 2], BlocksPerStage=[1, 2, 1, 1],
                    ExpansionFactor=2)
    g = Generator(NoiseDimension=8, **settings).eval()
    d = Discriminator(**settings).eval()
    out = {}
    meta = {"settings": settings, "z_dim": 8, "torch": torch.__version__}
    for name, net, seed in (("g", g, 41), ("d", d, 42)):
        layout = [(k, list(v.shape)) for k, v in net.state_dict().items() if not k.endswith("Kernel")]
        state = weights(layout, seed, small=("Bias",), fan_in=True)
        net.load_state_dict({**net.state_dict(), **state})
        meta[f"{name}_layout"], meta[f"{name}_seed"] = layout, seed
    z = latents(2, 8, 43)
    x = latents(2, 3 * 32 * 32, 44).reshape(2, 3, 32, 32) / 3 ** 0.5
    with torch.no_grad():
        out["image"] = g(z)
        out["logits"] = d(x)
    meta.update(z_seed=43, x_seed=44)
    save_file(out, str(HERE / "r3gan_32px.safetensors"), metadata={"fixture": json.dumps(meta)})
    print("r3gan_32px:", tuple(out["image"].shape), float(out["image"].abs().max()), out["logits"].tolist())


if __name__ == "__main__":
    rosinality(Path(sys.argv[1]))
    nvidia(Path(sys.argv[1]))
    r3gan(Path(sys.argv[1]))
