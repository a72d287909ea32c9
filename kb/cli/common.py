"""What every command group shares: the handler type, the common flags, errors and exit statuses.

A command module declares its sub-commands with `add_group` and `add_command` in a
`register(subparsers)` function; kb.cli.main calls each one and dispatches to the handler argparse
stored in `args.func`. Command modules import only the standard library and kb.config at the top:
the core they call (the database, Whoosh, argon2, uvicorn) is imported inside the handlers, so
building the parser, and `kb --help`, stay fast.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from kb.config import SETTINGS, Settings

if TYPE_CHECKING:
    # argparse's class for `add_subparsers()` is private, but typeshed makes it generic.
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

Handler: TypeAlias = Callable[[argparse.Namespace, Settings], int]
"""A command: the parsed flags and the resolved settings in, the exit status out."""

COMMON_SETTINGS = ("content_dir", "index_dir", "data_dir", "database")
"""Settings every command takes as a flag (`--content-dir` ...), after the command's name."""

ERROR_STATUS = 2
"""The exit status of a KBError, like argparse's own usage errors."""


@functools.cache
def common_flags() -> argparse.ArgumentParser:
    """The parent parser of every command: the common settings as flags, declared once."""
    parser = argparse.ArgumentParser(add_help=False)
    for spec in SETTINGS:
        if spec.name in COMMON_SETTINGS:
            # default=None: a flag not given leaves the environment's value (KB_*) in force.
            parser.add_argument("--" + spec.name.replace("_", "-"), dest=spec.name, default=None,
                                help=f"{spec.help} [{spec.env}]")
    return parser


def add_group(subparsers: Subparsers, name: str, *, help: str, dest: str) -> Subparsers:
    """A command with actions of its own (`kb user add`): returns the actions' subparsers."""
    group = subparsers.add_parser(name, help=help)
    return group.add_subparsers(dest=dest, required=True, metavar="ACTION")


def add_command(subparsers: Subparsers, name: str, handler: Handler, *,
                help: str) -> argparse.ArgumentParser:
    """A command (or a group's action) run by `handler`, with the common flags."""
    parser = subparsers.add_parser(name, help=help, parents=[common_flags()])
    parser.set_defaults(func=handler)
    return parser


def fail(message: str, status: int = ERROR_STATUS) -> int:
    """Report an error the way argparse does (`kb: error: ...` on stderr); return the status."""
    print(f"kb: error: {message}", file=sys.stderr)
    return status
