"""The core's subcommands, added through the same hook a plugin uses: each command module
offers ``add_<name>_command(commands)``, which makes its parser and sets its handler."""

from __future__ import annotations

from ganforge.hookspecs import Commands, hookimpl


@hookimpl(tryfirst=True)  # the core's commands first in --help
def ganforge_add_commands(subparsers: Commands) -> None:
    from ganforge.bench.cli import add_bench_command
    from ganforge.commands import CORE_COMMANDS
    from ganforge.eval.classifier_cli import add_classifier_command
    from ganforge.scaffold import add_new_plugin_command

    for add_command in (*CORE_COMMANDS, add_bench_command, add_classifier_command, add_new_plugin_command):
        add_command(subparsers)
