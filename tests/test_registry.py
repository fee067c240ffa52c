"""Plugin discovery, failures, collisions, suggestions and environment switches."""

from __future__ import annotations

import pytest

from conftest import REPO, install_fixture_plugin, tiny_ring
from ganforge.plugins import PluginLoadError, create_plugins
from ganforge.registry import Registry, RegistryError, UnknownComponent

FIXTURE = (REPO / "tests/fixtures/ganforge-fixture-plugin/gf_fixture_plugin.py").read_text()


def test_builtins_and_first_party_plugin_are_discovered(registry):
    assert {"gaussian-mixture", "shapes", "image-folder", "npz"} <= set(registry.names("data"))
    assert {"minimax", "non-saturating", "hinge", "least-squares", "wasserstein", "gradient-penalty"} <= set(
        registry.names("loss"))
    spec = registry.get("generator", "dcgan-generator")
    assert spec.distribution == "ganforge-classic"
    assert spec.summary and spec.factory == "ganforge_classic.dcgan:DCGANGenerator.build"
    assert registry.get("loss", "hinge").distribution == "ganforge"


def test_fixture_distribution_is_found_through_its_entry_point(plugin_site):
    install_fixture_plugin(plugin_site, "ganforge-fixture-plugin", "gf_fixture_plugin", FIXTURE)
    registry = Registry(create_plugins(strict=True))
    spec = registry.get("generator", "fixture-constant")
    assert spec.distribution == "ganforge-fixture-plugin"
    assert "value" in spec.params.model_fields


def test_fixture_plugin_trains_from_a_recipe(plugin_site, tmp_path):
    install_fixture_plugin(plugin_site, "ganforge-fixture-plugin", "gf_fixture_plugin", FIXTURE)
    from ganforge.pipeline import train
    from ganforge.recipe import recipe_from_data

    registry = Registry(create_plugins(strict=True))
    data = tiny_ring(tmp_path, steps=4)
    data["models"]["generator"] = {"type": "fixture-constant", "value": 0.25}
    folder = train(recipe_from_data(data, registry), registry=registry)
    assert (folder.checkpoints / "step_00000004" / "nets.safetensors").is_file()


def test_broken_plugin_is_reported_not_fatal(plugin_site):
    install_fixture_plugin(plugin_site, "ganforge-broken", "gf_fixture_broken", "import not_a_real_module_xyz\n")
    plugins = create_plugins(strict=False)
    [failed] = plugins.failed
    assert failed.distribution == "ganforge-broken"
    assert "not_a_real_module_xyz" in failed.error
    registry = Registry(plugins)  # the others still work
    assert "dcgan-generator" in registry.names("generator")
    with pytest.raises(UnknownComponent) as info:
        registry.get("generator", "broken-net")
    assert "ganforge-broken" in str(info.value) and "failed to load" in str(info.value)


def test_strict_switch_turns_a_broken_plugin_into_an_error(plugin_site, monkeypatch):
    install_fixture_plugin(plugin_site, "ganforge-broken", "gf_fixture_broken2", "raise RuntimeError('boom')\n")
    monkeypatch.setenv("GANFORGE_STRICT_PLUGINS", "1")
    with pytest.raises(PluginLoadError, match="ganforge-broken.*boom"):
        create_plugins()


def test_duplicate_component_names_both_distributions(plugin_site):
    install_fixture_plugin(plugin_site, "ganforge-fixture-plugin", "gf_fixture_plugin", FIXTURE)
    install_fixture_plugin(plugin_site, "ganforge-fixture-copy", "gf_fixture_copy", FIXTURE.replace(
        "gf_fixture_plugin:build", "gf_fixture_copy:build"))
    with pytest.raises(RegistryError) as info:
        Registry(create_plugins(strict=True))
    message = str(info.value)
    assert "fixture-constant" in message
    assert "ganforge-fixture-plugin" in message and "ganforge-fixture-copy" in message


def test_a_setting_added_later_without_a_default_is_refused_at_registration():
    from pydantic import Field
    from ganforge.sdk import AddedLater, Params, hookimpl

    class SharpenParams(Params):
        amount: AddedLater[float] = Field(description="no default: what did earlier runs use?")

    class Plugin:
        @hookimpl
        def ganforge_register_losses(self, register):
            register("sharpen", params=SharpenParams, factory="x:y")

    with pytest.raises(RegistryError, match="loss 'sharpen'.*amount is declared AddedLater but has no default"):
        Registry(create_plugins(strict=True, extra=(Plugin(),)))


def test_unknown_name_suggests_close_matches(registry):
    with pytest.raises(UnknownComponent, match="did you mean 'dcgan-generator'"):
        registry.get("generator", "dcgan-genrator")
    with pytest.raises(UnknownComponent, match="available: .*shapes"):
        registry.get("data", "zzzzzz")


def test_environment_blocks_and_selects_plugins(monkeypatch, plugin_site):
    install_fixture_plugin(plugin_site, "ganforge-fixture-plugin", "gf_fixture_plugin", FIXTURE)
    monkeypatch.setenv("GANFORGE_DISABLE_PLUGINS", "ganforge-classic")
    names = Registry(create_plugins()).names("generator")
    assert "dcgan-generator" not in names and "fixture-constant" in names
    monkeypatch.delenv("GANFORGE_DISABLE_PLUGINS")
    monkeypatch.setenv("GANFORGE_PLUGINS", "ganforge-fixture-plugin")
    names = Registry(create_plugins()).names("generator")
    assert names == ["fixture-constant"]
    assert "shapes" in Registry(create_plugins()).names("data")  # builtins are always there


def test_registration_mistakes_are_explained(plugin_site):
    install_fixture_plugin(plugin_site, "ganforge-badreg", "gf_fixture_badreg", """
        from ganforge import Params, hookimpl

        class P(Params):
            type: int = 1

        @hookimpl
        def ganforge_register_losses(register):
            register("bad", params=P, factory="x:y", summary="")
    """)
    with pytest.raises(RegistryError, match="'type' is reserved"):
        Registry(create_plugins(strict=True))


def test_misspelt_hook_name_is_caught(plugin_site):
    install_fixture_plugin(plugin_site, "ganforge-typo", "gf_fixture_typo", """
        from ganforge import hookimpl

        @hookimpl
        def ganforge_register_generator(register):
            pass
    """)
    with pytest.raises(Exception, match="unknown hook"):
        create_plugins(strict=True)
