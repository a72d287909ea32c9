"""`kb analytics export ...`: votes, comments, articles or searches as CSV or JSON for BI tools."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import TYPE_CHECKING, TextIO

from kb.cli.common import add_command, add_group
from kb.config import Settings

if TYPE_CHECKING:
    from kb.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    actions = add_group(subparsers, "analytics", help="analytics exports for BI tools",
                        dest="analytics_command")
    export = add_command(actions, "export", cmd_export,
                         help="write votes, comments, articles or searches as CSV or JSON")
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.add_argument("--kind", choices=["votes", "comments", "articles", "searches"],
                        default="votes")
    export.add_argument("--since", default=None,
                        help="first day, YYYY-MM-DD (default: 30 days ago)")
    export.add_argument("--until", default=None,
                        help="last day, YYYY-MM-DD (default: today, UTC)")
    export.add_argument("--lang", default=None)
    export.add_argument("--category", default=None,
                        help="a category key (its sub-categories included)")
    export.add_argument("--type", default=None, choices=["faq", "tutorial", "video"])
    export.add_argument("--output", "-o", default=None,
                        help="file to write (default: standard output)")


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from kb.analytics.export import csv_chunks, json_chunks
    from kb.analytics.periods import parse_filters, parse_period
    from kb.analytics.reports import Analytics
    from kb.content.site import Site
    from kb.storage.db import Database, run_with_database

    # The site is read before the database is opened: filters name its languages and categories.
    site = Site(settings.content_dir)
    site.load()

    async def work(db: Database) -> int:
        period = parse_period(None if (args.since or args.until) else "30", args.since, args.until)
        filters = parse_filters(site, args.lang, args.category, args.type)
        columns, rows = Analytics(db, site).export(args.kind, period, filters)
        chunks = csv_chunks(columns, rows) if args.format == "csv" else json_chunks(rows)
        with contextlib.ExitStack() as stack:
            out: TextIO = sys.stdout
            if args.output:  # a local file the user named: blocking writes are fine in a CLI
                out = stack.enter_context(
                    open(args.output, "w", encoding="utf-8", newline=""))  # noqa: ASYNC230
            async for chunk in chunks:
                out.write(chunk)
        return 0

    return run_with_database(settings.database, work)
