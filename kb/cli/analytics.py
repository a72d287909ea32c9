"""`kb analytics export ...` and `kb token create|list|revoke`: analytics for BI tools."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from kb.config import Settings


def _run(settings: Settings, work: Callable[[Any, Any], Awaitable[int]], *, load_site: bool = False) -> int:
    from kb.content.site import Site
    from kb.storage.db import run_with_database

    site = Site(settings.content_dir)
    if load_site:
        site.load()
    return run_with_database(settings.database, lambda db: work(db, site))


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from kb.analytics.reports import Analytics, csv_chunks, json_chunks, parse_filters, parse_period

    async def work(db: Any, site: Any) -> int:
        period = parse_period(None if (args.since or args.until) else "30", args.since, args.until)
        filters = parse_filters(site, args.lang, args.category, args.type)
        columns, rows = Analytics(db, site).export(args.kind, period, filters)
        chunks = csv_chunks(columns, rows) if args.format == "csv" else json_chunks(rows)
        with contextlib.ExitStack() as stack:
            out: TextIO = sys.stdout
            if args.output:  # a local file the user named: blocking writes are fine in a CLI
                out = stack.enter_context(open(args.output, "w", encoding="utf-8", newline=""))  # noqa: ASYNC230
            async for chunk in chunks:
                out.write(chunk)
        return 0

    return _run(settings, work, load_site=True)


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    from kb.tokens import Tokens

    async def work(db: Any, site: Any) -> int:
        token = await Tokens(db).create(args.name)
        print(token)
        print(f"API token {args.name!r} created. It is shown only this once: store it now. "
              f"Use it as `Authorization: Bearer <token>`.", file=sys.stderr)
        return 0

    return _run(settings, work)


def cmd_token_list(args: argparse.Namespace, settings: Settings) -> int:
    from kb.tokens import Tokens

    async def work(db: Any, site: Any) -> int:
        tokens = await Tokens(db).list()
        if not tokens:
            print("no API tokens yet: create one with `kb token create NAME`", file=sys.stderr)
        for token in tokens:
            state = f"revoked {token.revoked_at}" if token.revoked_at else "active"
            used = token.last_used_at or "never used"
            print(f"{token.name}\t{state}\tcreated {token.created_at}\t{used}")
        return 0

    return _run(settings, work)


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from kb.tokens import Tokens

    async def work(db: Any, site: Any) -> int:
        await Tokens(db).revoke(args.name)
        print(f"revoked {args.name}")
        return 0

    return _run(settings, work)


def register(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    analytics = sub.add_parser("analytics", help="analytics exports for BI tools")
    actions = analytics.add_subparsers(dest="analytics_command", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="write votes, comments, articles or searches as CSV or JSON")
    add_common(export)
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.add_argument("--kind", choices=["votes", "comments", "articles", "searches"], default="votes")
    export.add_argument("--since", default=None, help="first day, YYYY-MM-DD (default: 30 days ago)")
    export.add_argument("--until", default=None, help="last day, YYYY-MM-DD (default: today, UTC)")
    export.add_argument("--lang", default=None)
    export.add_argument("--category", default=None, help="a category key (its sub-categories included)")
    export.add_argument("--type", default=None, choices=["faq", "tutorial", "video"])
    export.add_argument("--output", "-o", default=None, help="file to write (default: standard output)")
    export.set_defaults(func=cmd_export)

    token = sub.add_parser("token", help="API tokens for the analytics API")
    token_actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_actions.add_parser("create", help="create a token and print it (only this once)")
    add_common(create)
    create.add_argument("name")
    create.set_defaults(func=cmd_token_create)
    listing = token_actions.add_parser("list", help="list tokens (never their secret)")
    add_common(listing)
    listing.set_defaults(func=cmd_token_list)
    revoke = token_actions.add_parser("revoke", help="revoke a token at once")
    add_common(revoke)
    revoke.add_argument("name")
    revoke.set_defaults(func=cmd_token_revoke)
