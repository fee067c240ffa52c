"""Every hook a ganforge plugin can implement, and nothing else.

A plugin is a module named by an entry point in the ``ganforge`` group. It implements any
of these hooks with ``@ganforge.hookimpl``. Each ``ganforge_register_<kind>`` hook receives
a ``register`` callable::

    register(name, params=ParamsModel, factory="package.module:attr", summary="...")

``factory`` is an import string resolved only when a recipe is built, so listing plugins,
validating recipes and printing the schema never import model code (or torch).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Protocol

import pluggy

hookspec = pluggy.HookspecMarker("ganforge")
hookimpl = pluggy.HookimplMarker("ganforge")
"""Mark a plugin function as the implementation of a ganforge hook."""


class Register(Protocol):
    """The callable handed to every ``ganforge_register_<kind>`` hook."""

    def __call__(self, name: str, *, params: type, factory: str, summary: str) -> None: ...


class Commands(Protocol):
    """What ``ganforge_add_commands`` receives: ``add_parser(name, help=...)`` returns an
    ``argparse.ArgumentParser`` for one subcommand (argparse's sub-parser collection is one)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


@hookspec
def ganforge_register_data(register: Register) -> None:
    """Register data adapters: factories ``(params, ctx) -> Dataset`` with an ``info``."""


@hookspec
def ganforge_register_generators(register: Register) -> None:
    """Register generator nets: factories ``(params, ctx) -> torch.nn.Module``."""


@hookspec
def ganforge_register_discriminators(register: Register) -> None:
    """Register discriminator nets: factories ``(params, ctx) -> torch.nn.Module``."""


@hookspec
def ganforge_register_encoders(register: Register) -> None:
    """Register encoder nets (data to latent, as in BiGAN): factories ``(params, ctx) -> torch.nn.Module``."""


@hookspec
def ganforge_register_losses(register: Register) -> None:
    """Register losses: adversarial losses and regularisers used by objectives."""


@hookspec
def ganforge_register_objectives(register: Register) -> None:
    """Register objectives: the games that turn nets and losses into training steps."""


@hookspec
def ganforge_register_evaluators(register: Register) -> None:
    """Register evaluators: metrics computed from samples during or after training."""


@hookspec
def ganforge_register_trackers(register: Register) -> None:
    """Register trackers: logging back-ends that receive scalars and images."""


@hookspec
def ganforge_register_formats(register: Register) -> None:
    """Register checkpoint formats of other implementations, for ``ganforge import`` (and
    ``ganforge export --format NAME`` where the format can also be written): factories
    ``(params, ctx) -> format`` with ``read(source) -> ganforge.sdk.ImportedRun`` and, optionally,
    ``write(model, out, reverse) -> Path``; ``params`` holds the format's options and
    ``ctx`` is None."""


@hookspec
def ganforge_register_executors(register: Register) -> None:
    """Register executors for ``ganforge bench``: factories ``(params, ctx) -> executor`` with
    ``run(tasks, finished)`` that run each ``ganforge.sdk.BenchTask`` somewhere (this machine,
    a Ray or Slurm cluster, a site's own scheduler) through ``ganforge.sdk.run_task``;
    ``ctx`` is a ``ganforge.sdk.ExecutorContext``."""


@hookspec
def ganforge_kit_examples(folder: Path) -> list[dict]:
    """Tiny example recipes that use this plugin's components, for the conformance kit
    (``ganforge.testing``): each builds on CPU in a second. ``folder`` is a scratch folder for
    any files they need (images, arrays, weights); a data adapter, loss or tracker may appear
    in a partial recipe of just its section (``{"data": {...}}``)."""


@hookspec
def ganforge_add_commands(subparsers: Commands) -> None:
    """Add subcommands to the ``ganforge`` CLI.

    Each parser should ``set_defaults(handler=callable)``; the handler receives the parsed
    ``argparse.Namespace`` and returns an exit code.
    """
