"""Write the StyleGAN2 reference fixtures of this folder by running the reference code.

Not run by the test suite (the reference code is not part of ganforge). Give it a folder holding
rosinality/stylegan2-pytorch's ``model.py`` and ``op/`` as ``rosinality/``:

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


if __name__ == "__main__":
    rosinality(Path(sys.argv[1]))
