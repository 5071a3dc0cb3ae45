"""docs/cli.md's reference, generated from the commands themselves (`cog -r docs/*.md`), so it cannot drift."""

from __future__ import annotations

from typing import Iterator

import click

from . import cli

WIDTH = 100  # columns of the help text in the docs, whatever the terminal of the person regenerating them
PROG = "ocop-stamp"


def walk(group: click.Group = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under group with its path of names, groups before their subcommands."""
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from walk(command, (*path, name))


def help_text(path: tuple[str, ...]) -> str:
    """`ocop-stamp PATH --help` as printed, at WIDTH columns."""
    ctx = cli.make_context(PROG, [], terminal_width=WIDTH, resilient_parsing=True)
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
        ctx = command.make_context(name, [], parent=ctx, resilient_parsing=True)
    return command.get_help(ctx)


def markdown(*names: str, level: int = 3) -> str:
    """The reference of the named top-level commands and their subcommands: a heading and the help of each."""
    paths = [path for name in names for path, _command in walk(cli) if path[0] == name]
    return "\n".join(f"{'#' * level} `{PROG} {' '.join(path)}`\n\n```text\n{help_text(path)}\n```\n"
                     for path in paths)
