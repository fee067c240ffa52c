"""Built-in subcommands added through the same hook a plugin would use."""

from __future__ import annotations

from ganforge.hookspecs import hookimpl


@hookimpl
def ganforge_add_commands(subparsers):
    from ganforge.bench.cli import add_bench_command
    from ganforge.eval.classifier_cli import add_classifier_command
    from ganforge.scaffold import add_new_plugin_command

    add_bench_command(subparsers)
    add_classifier_command(subparsers)
    add_new_plugin_command(subparsers)
