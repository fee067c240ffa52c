"""The plugin SDK: one public surface, documented, cheap to import, and the only part of the core
that first-party plugins use; the core's own modules never import up their layers."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PLUGINS = REPO / "plugins"

# Each core module's layer: a module may import from its own layer and those below, never above.
LAYERS: list[tuple[str, ...]] = [
    ("ganforge.errors", "ganforge.version", "ganforge.params", "ganforge.hookspecs", "ganforge._deprecated",
     "ganforge.capabilities", "ganforge.lazy", "ganforge.ramp"),
    ("ganforge.files", "ganforge.weights", "ganforge.data.info", "ganforge.recipe.errors", "ganforge.recipe.yaml",
     "ganforge.plugins", "ganforge.registry"),
    ("ganforge.distributed", "ganforge.objective", "ganforge.data", "ganforge.samples", "ganforge.augment",
     "ganforge.optim", "ganforge.recipe"),
    ("ganforge.losses", "ganforge.adversarial", "ganforge.perceptual"),
    ("ganforge.build",),
    ("ganforge.eval", "ganforge.train"),
    ("ganforge.pipeline", "ganforge.api", "ganforge.export", "ganforge.testing", "ganforge.preflight",
     "ganforge.importer"),
    ("ganforge.bench", "ganforge.scaffold", "ganforge.hookdoc", "ganforge.builtin", "ganforge.sdk", "ganforge.cli",
     "ganforge.__main__", "ganforge"),
]
# Known and deliberate: evaluation during training (train -> eval) and the trainer's samples are
# one layer; the deprecated aliases re-export their new homes.
ALIASES = {"ganforge.train.files", "ganforge.eval.weights"}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = REPO / Path(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, function-local ones included; ``from a import b``
    counts as importing ``a.b`` when that is a module of this repository."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, f"{node.module}.{alias.name}" if is_module(f"{node.module}.{alias.name}")
                       else node.module) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def layer_of(module: str) -> int:
    best, depth = None, -1
    for index, members in enumerate(LAYERS):
        for member in members:
            if (module == member or module.startswith(member + ".")) and len(member) > depth:
                best, depth = index, len(member)
    assert best is not None, f"{module} has no layer in LAYERS; add it"
    return best


def plugin_modules() -> list[tuple[str, Path]]:
    """(distribution folder, file) of every module of every first-party plugin package (not tests)."""
    return [(dist.name, f) for dist in sorted(PLUGINS.iterdir()) if (dist / "pyproject.toml").is_file()
            for f in sorted(dist.rglob("*.py")) if "tests" not in f.relative_to(dist).parts]


def test_plugins_import_only_the_sdk_and_other_plugins_public_modules():
    packages = {dist.name.replace("-", "_") for dist in PLUGINS.iterdir() if (dist / "pyproject.toml").is_file()}
    wrong = []
    for dist, file in plugin_modules():
        own = dist.replace("-", "_")
        for line, module in imports(file):
            top = module.split(".")[0]
            if top == "ganforge" and module != "ganforge.sdk":
                wrong.append(f"{file.relative_to(REPO)}:{line} imports {module} (use ganforge.sdk)")
            elif top in packages and top != own and module != top:
                wrong.append(f"{file.relative_to(REPO)}:{line} imports {module} (use the public module {top})")
    assert not wrong, "\n".join(wrong)


def test_no_core_import_runs_back_up_the_layers():
    wrong = []
    for file in sorted((REPO / "ganforge").rglob("*.py")):
        source = module_name(file, REPO)
        if source in ALIASES:
            continue
        for line, module in imports(file):
            if module.split(".")[0] != "ganforge":
                continue
            if layer_of(module) > layer_of(source):
                wrong.append(f"{file.relative_to(REPO)}:{line}: {source} (layer {layer_of(source)}) imports {module} "
                             f"(layer {layer_of(module)})")
    assert not wrong, "\n".join(wrong)


def test_every_sdk_name_resolves_and_is_documented():
    import ganforge.sdk as sdk

    missing = [name for name in sdk.__all__ if getattr(sdk, name, None) is None]
    assert not missing
    page = (REPO / "docs" / "sdk.md").read_text()
    documented = set(re.findall(r"^\| `([A-Za-z_][A-Za-z0-9_]*)`", page, flags=re.M))
    assert set(sdk.__all__) - documented == set(), "names missing from docs/sdk.md"
    assert documented - set(sdk.__all__) == set(), "docs/sdk.md names what the SDK does not export"
    assert f"SDK version {sdk.SDK_VERSION}" in page
    with pytest.raises(AttributeError, match="docs/sdk.md"):
        sdk.build_run  # noqa: B018  (internal, not part of the SDK)


def test_registration_names_cost_no_torch_import():
    code = ("import sys; from ganforge.sdk import Params, ObjectiveParams, hookimpl, GanforgeError, Tracker; "
            "import ganforge_classic, ganforge_translation; "
            "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_plugins_command_shows_the_sdk_version(capsys):
    from ganforge.cli import main
    from ganforge.version import SDK_VERSION

    assert main(["plugins"]) == 0
    assert f"plugin SDK {SDK_VERSION}" in capsys.readouterr().out


def test_old_homes_keep_working_with_a_warning():
    import importlib

    from ganforge.errors import GanforgeDeprecationWarning

    sys.modules.pop("ganforge.train.files", None)
    with pytest.warns(GanforgeDeprecationWarning, match="ganforge.train.files moved to ganforge.files"):
        old = importlib.import_module("ganforge.train.files")
    from ganforge.files import atomic_write_bytes

    assert old.atomic_write_bytes is atomic_write_bytes
    from ganforge import distributed
    from ganforge.builtin import examples

    with pytest.warns(GanforgeDeprecationWarning, match="distributed.randn is now .*rank_randn"):
        assert distributed.randn is distributed.rank_randn
    with pytest.warns(GanforgeDeprecationWarning, match="image_files is now .*example_images"):
        assert examples.image_files is examples.example_images


def test_sampling_imports_neither_torchvision_models_nor_dynamo(tmp_path, registry):
    """`ganforge sample` starts in about the time of `import torch`: torchvision's model zoo and
    torch._dynamo (seconds and 160 MiB; PyTorch's optimizers import it) load only where a command
    needs them, and sampling builds no optimizer."""
    from conftest import tiny_ring
    from ganforge.pipeline import train
    from ganforge.recipe import recipe_from_data

    folder = train(recipe_from_data(tiny_ring(tmp_path, steps=2, checkpoint_every=2), registry), registry=registry)
    code = ("import sys; from ganforge.cli import main; "
            f"assert main(['sample', {str(folder.path)!r}, '--n', '4', '--out', {str(tmp_path / 's')!r}]) == 0; "
            "heavy = [m for m in ('torchvision.models', 'torch._dynamo') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_the_quick_commands_import_no_torch(tmp_path):
    """`--help`, `plugins`, `schema` and `validate --no-preflight` answer in well under a second:
    they import neither torch nor torchvision (seconds), let alone torch._dynamo."""
    code = ("import contextlib, io, sys; from ganforge.cli import main\n"
            "for args in (['--help'], ['plugins'], ['schema'], ['validate', 'recipes/quickstart.yaml', '--no-preflight']):\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        try:\n"
            "            main(args)\n"
            "        except SystemExit:\n"
            "            pass\n"
            "    heavy = [m for m in ('torch', 'torchvision', 'torch._dynamo') if m in sys.modules]\n"
            "    assert not heavy, (args, heavy)\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_the_sample_grid_is_laid_out_as_torchvisions():
    import torch
    from torchvision.utils import make_grid as torchvision_grid

    from ganforge.samples import make_grid

    for count, nrow in ((7, 3), (10, 4), (1, 8), (4, 2)):
        images = torch.rand(count, 3, 5, 6)
        assert torch.equal(make_grid(images, nrow=nrow), torchvision_grid(images, nrow=nrow, padding=2, pad_value=1.0))


def test_the_type_checkers_view_of_the_sdk_matches_what_it_exports():
    """sdk.py lists its names twice (the lazy table, and imports for type checkers): they agree."""
    import ganforge.sdk as sdk

    tree = ast.parse((REPO / "ganforge" / "sdk.py").read_text())
    guarded = next(node for node in tree.body if isinstance(node, ast.If))
    imported = {alias.name: node.module for node in guarded.body if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert imported == sdk._EXPORTS
