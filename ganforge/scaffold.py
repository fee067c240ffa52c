"""``ganforge new-plugin NAME``: a ready-to-publish plugin package with one example component (a
generator with its parameter model), a recipe, tests that use the conformance kit, and a README."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from ganforge.errors import GanforgeError
from ganforge.hookspecs import Commands

PYPROJECT = '''\
[project]
name = "{dist}"
version = "0.1.0"
description = "{title}: a ganforge plugin."
readme = "README.md"
requires-python = ">=3.10"
license = "MIT"
dependencies = ["ganforge>={core}", "ganforge-classic"]

[project.entry-points.ganforge]
{name} = "{module}.plugin"

[build-system]
requires = ["hatchling>=1.25"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["{module}"]
'''

PLUGIN = '''\
"""Registration of {dist}'s components. Imports no torch: factories are import strings, so
`ganforge plugins`, `validate` and `schema` stay fast."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ganforge.sdk import Params, hookimpl


class {cls}Params(Params):
    """A fully connected generator with a residual hidden stack."""

    z_dim: int = Field(8, ge=1, description="Latent size.")
    width: int = Field(64, ge=1, description="Units per hidden layer.")
    depth: int = Field(2, ge=1, description="Residual hidden layers.")


@hookimpl
def ganforge_register_generators(register):
    register("{name}-generator", params={cls}Params, factory="{module}.nets:{cls}Generator.build",
             summary="A residual MLP generator (the {dist} example).")


@hookimpl
def ganforge_kit_examples(folder: Path) -> list[dict]:
    """A tiny recipe using every component of this plugin, for ganforge.testing."""
    return [{{
        "name": "{name}-kit", "data": {{"type": "gaussian-mixture", "size": 64}},
        "models": {{"generator": {{"type": "{name}-generator", "z_dim": 2, "width": 16}},
                   "discriminator": {{"type": "mlp-discriminator", "width": 16, "depth": 1}}}},
        "objective": "unconditional", "train": {{"batch_size": 8}},
    }}]
'''

NETS = '''\
"""{dist}'s nets."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class {cls}Generator(nn.Module):
    """z -> Linear -> ``depth`` residual (Linear, ReLU) layers -> the data's shape (tanh for images)."""

    def __init__(self, z_dim: int, out_shape: tuple[int, ...], width: int, depth: int, images: bool):
        super().__init__()
        self.z_dim, self.out_shape, self.images = z_dim, tuple(out_shape), images
        self.inp = nn.Linear(z_dim, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.out = nn.Linear(width, math.prod(out_shape))

    def forward(self, z: Tensor) -> Tensor:
        h = torch.relu(self.inp(z))
        for layer in self.hidden:
            h = h + torch.relu(layer(h))
        x = self.out(h).view(len(z), *self.out_shape)
        return torch.tanh(x) if self.images else x

    @classmethod
    def build(cls, params, ctx) -> "{cls}Generator":
        info = ctx.data_info
        return cls(params.z_dim, info.shape, params.width, params.depth, images=info.is_image)
'''

RECIPE = '''\
# {title} on the built-in 8-mode ring: this plugin's generator against ganforge-classic's
# discriminator. Train it with `ganforge train recipes/{name}.yaml`.
name: {name}
seed: 0
data: {{type: gaussian-mixture, layout: ring}}
models:
  generator: {{type: {name}-generator, z_dim: 2, width: 64, depth: 2}}
  discriminator: {{type: mlp-discriminator, width: 64, depth: 2}}
objective: unconditional
optim:
  generator: {{lr: 1e-3}}
  discriminator: {{lr: 1e-3}}
train:
  steps: 2000
  batch_size: 100
  sample_every: 500
  sample_count: 1000
eval:
  every: 2000
  metrics: [mode-coverage]
'''

TESTS = '''\
"""{dist} passes ganforge's conformance kit, and its recipe trains."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganforge.sdk import check_component, component_cases, load_recipe, train

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "{name}.yaml"


@pytest.mark.parametrize("kind,name", component_cases(distribution="{dist}"))
def test_conformance(kind, name, tmp_path):
    check_component(kind, name, folder=tmp_path)


def test_recipe_trains(tmp_path):
    folder = train(load_recipe(RECIPE, [f"output.dir={{tmp_path / 'run'}}", "output.trackers=[]", "train.steps=4",
                                        "eval.every=4", "train.progress=false"]))
    assert (folder.path / "eval.json").is_file() and (folder.checkpoints / "step_00000004").is_dir()
'''

README = '''\
# {dist}

{title}: a plugin for ganforge, the GAN toolkit. It registers through the `ganforge`
entry-point group:

| kind | name | what |
|---|---|---|
| generator | `{name}-generator` | a residual MLP generator |

```bash
pip install -e .                          # or: uv pip install -e .
ganforge plugins                          # lists {name} and its components
ganforge train recipes/{name}.yaml
pytest                                    # the conformance kit and a short training run
```

Publishing: `python -m build` (or `uv build`), then `twine upload dist/*` (or `uv publish`).
See ganforge's docs/plugins.md for the hook reference and the contract of each kind.
'''


def scaffold(name: str, out: Path) -> Path:
    """Write the package ``ganforge-<name>`` into ``out``; returns its folder."""
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", name):
        raise GanforgeError(f"plugin name {name!r}: use lower-case letters, digits and single hyphens, starting with "
                            "a letter (for example my-gan)")
    from ganforge.version import __version__

    dist, module = f"ganforge-{name}", f"ganforge_{name.replace('-', '_')}"
    values = {"name": name, "dist": dist, "module": module, "title": name.replace("-", " ").title(),
              "cls": "".join(part.title() for part in name.split("-")), "core": __version__}
    root = Path(out) / dist
    if root.exists():
        raise GanforgeError(f"{root} exists already; choose another --out or remove it")
    files = {
        "pyproject.toml": PYPROJECT, "README.md": README, f"{module}/__init__.py": '"""{dist}."""\n',
        f"{module}/plugin.py": PLUGIN, f"{module}/nets.py": NETS, f"recipes/{name}.yaml": RECIPE,
        f"tests/test_{module}.py": TESTS,
    }
    for relative, template in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(template).format(**values))
    return root


def add_new_plugin_command(subparsers: Commands) -> None:
    p = subparsers.add_parser("new-plugin", help="write a ready-to-publish plugin package (a component, recipe, tests)")
    p.add_argument("name", help="plugin name, such as my-gan (the package is ganforge-my-gan)")
    p.add_argument("--out", type=Path, default=Path("."), help="folder to write the package into")
    p.set_defaults(handler=_cmd_new_plugin)


def _cmd_new_plugin(args) -> int:
    root = scaffold(args.name, args.out)
    print(f"wrote {root}: install it with `pip install -e {root}`, then `ganforge plugins` lists it")
    return 0
