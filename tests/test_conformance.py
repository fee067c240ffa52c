"""The conformance kit: every first-party component passes it, and a broken one fails with a
message that says which check, what was expected and what came back."""

from __future__ import annotations

import pytest
import torch

from ganforge.testing import ConformanceError, check_component, component_cases


@pytest.fixture(scope="module")
def kit_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("kit")  # example fixtures (images, arrays, weights) written once


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize("kind,name", component_cases())
def test_every_registered_component_passes_the_kit(kind, name, kit_folder):
    checks = check_component(kind, name, folder=kit_folder)
    assert checks[:2] == ["params_round_trip", "in_schema"] and checks[-1] == "no_global_state_leaks"


BROKEN = '''
from pydantic import Field
import torch
from ganforge import Params, hookimpl

class WrongParams(Params):
    """A generator that forgets the data's shape."""
    z_dim: int = Field(4, description="Latent size.")

class Wrong(torch.nn.Module):
    def __init__(self, z_dim):
        super().__init__()
        self.z_dim, self.net = z_dim, torch.nn.Linear(z_dim, 5)
    def forward(self, z):
        return torch.tanh(self.net(z))

def build(params, ctx):
    return Wrong(params.z_dim)

class LeakyParams(Params):
    """A loss that draws from the global RNG when built."""

class Leaky:
    role = "adversarial"
    def discriminator(self, real, fake):
        return fake.mean() - real.mean()
    def generator(self, fake, real=None):
        return -fake.mean()

def leaky(params, ctx):
    torch.rand(1)
    return Leaky()

@hookimpl
def ganforge_register_generators(register):
    register("gf-wrong", params=WrongParams, factory="gf_fixture_broken:build", summary="broken")

@hookimpl
def ganforge_register_losses(register):
    register("gf-leaky", params=LeakyParams, factory="gf_fixture_broken:leaky", summary="leaky")

class OrphanParams(Params):
    """An objective no example uses."""

@hookimpl
def ganforge_register_objectives(register):
    register("gf-orphan", params=OrphanParams, factory="gf_fixture_broken:leaky", summary="orphan")

@hookimpl
def ganforge_kit_examples(folder):
    return [{"name": "broken", "data": {"type": "gaussian-mixture", "size": 64},
             "models": {"generator": {"type": "gf-wrong"}, "discriminator": {"type": "mlp-discriminator", "width": 8}},
             "objective": "unconditional", "train": {"batch_size": 8}}]
'''


def test_broken_components_fail_with_what_was_expected(plugin_site, tmp_path):
    from conftest import install_fixture_plugin
    from ganforge.plugins import create_plugins
    from ganforge.registry import Registry

    install_fixture_plugin(plugin_site, "gf-fixture-broken", "gf_fixture_broken", BROKEN)
    registry = Registry(create_plugins(strict=True))
    with pytest.raises(ConformanceError, match=r"generator 'gf-wrong' fails generator: expected samples of shape "
                                               r"\(2, 2\); got \(2, 5\)"):
        check_component("generator", "gf-wrong", registry=registry, folder=tmp_path)
    with pytest.raises(ConformanceError, match="fails no_global_state_leaks: expected the global torch RNG untouched"):
        check_component("loss", "gf-leaky", registry=registry, folder=tmp_path)
    with pytest.raises(ConformanceError, match="objective 'gf-orphan' fails example: expected an example recipe"):
        check_component("objective", "gf-orphan", registry=registry, folder=tmp_path)
