"""`kb token create|list|revoke`: the API tokens that open the analytics API to BI tools."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from kb.cli.common import add_command, add_group
from kb.config import Settings

if TYPE_CHECKING:
    from kb.cli.common import Subparsers
    from kb.tokens import Tokens


def register(subparsers: Subparsers) -> None:
    actions = add_group(subparsers, "token", help="API tokens for the analytics API",
                        dest="token_command")
    create = add_command(actions, "create", cmd_create,
                         help="create a token and print it (only this once)")
    create.add_argument("name")
    add_command(actions, "list", cmd_list, help="list tokens (never their secret)")
    revoke = add_command(actions, "revoke", cmd_revoke, help="revoke a token at once")
    revoke.add_argument("name")


def _with_tokens(settings: Settings, work: Callable[[Tokens], Awaitable[int]]) -> int:
    from kb.storage.db import run_with_database
    from kb.tokens import Tokens

    return run_with_database(settings.database, lambda db: work(Tokens(db)))


def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    async def work(tokens: Tokens) -> int:
        token = await tokens.create(args.name)
        print(token)
        print(f"API token {args.name!r} created. It is shown only this once: store it now. "
              f"Use it as `Authorization: Bearer <token>`.", file=sys.stderr)
        return 0

    return _with_tokens(settings, work)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(tokens: Tokens) -> int:
        found = await tokens.list()
        if not found:
            print("no API tokens yet: create one with `kb token create NAME`", file=sys.stderr)
        for token in found:
            state = f"revoked {token.revoked_at}" if token.revoked_at else "active"
            used = token.last_used_at or "never used"
            print(f"{token.name}\t{state}\tcreated {token.created_at}\t{used}")
        return 0

    return _with_tokens(settings, work)


def cmd_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async def work(tokens: Tokens) -> int:
        await tokens.revoke(args.name)
        print(f"revoked {args.name}")
        return 0

    return _with_tokens(settings, work)
