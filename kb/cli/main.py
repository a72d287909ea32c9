"""The `kb` command: one parser built from every command group, and the dispatch to its handler.

Each group lives in its own module with a `register(subparsers)` function (kb.cli.common says
what they share). Flags resolve into one Settings object (defaults < KB_* environment < flags);
a KBError a handler raises becomes `kb: error: message` and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kb.cli import analytics, content, db, health, index, policy, serve, tokens, users
from kb.cli.common import COMMON_SETTINGS, Handler, fail
from kb.config import load_settings
from kb.errors import KBError

GROUPS = (serve, content, health, policy, users, analytics, tokens, index, db)
"""The command modules, in the order `kb --help` lists their commands."""

SERVER_SETTINGS = ("host", "port")
"""Settings only `kb serve` takes as flags."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kb", description="kb: a self-hosted knowledge base and FAQ site.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A flag a command does not have is absent from args: its setting keeps its KB_* value.
    overrides = {name: getattr(args, name, None) for name in (*COMMON_SETTINGS, *SERVER_SETTINGS)}
    try:
        settings = load_settings(overrides)
        handler: Handler = args.func
        return handler(args, settings)
    except KBError as exc:
        return fail(exc.message)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
