"""`kb health`: the flagged articles of content health, as text or JSON; exit status 1 when any
article matches, so a docs-as-code repository's CI can fail on them."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from kb.cli.common import add_command, fail
from kb.config import Settings

if TYPE_CHECKING:
    from kb.cli.common import Subparsers
    from kb.health.model import Report

# kb.health.model.FLAGS, listed here so that `kb --help` does not import the core.
FLAG_NAMES = ("translation_behind", "policy_changed", "helpfulness_fell", "reported_incorrect", "broken_links",
              "not_reviewed")


def register(subparsers: Subparsers) -> None:
    health = add_command(subparsers, "health", cmd_health,
                         help="list the articles that need an editor (exit status 1 when any)")
    health.add_argument("--flag", action="append", choices=FLAG_NAMES, default=[],
                        help="only this flag (repeat for several)")
    health.add_argument("--lang", default=None, help="only this language")
    health.add_argument("--format", choices=["text", "json"], default="text")


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    from kb.content.site import Site
    from kb.health.model import Filters
    from kb.health.service import Health
    from kb.policy.holder import PolicyHolder
    from kb.policy.sources import load_file
    from kb.storage.db import Database, run_with_database

    policy, _ = load_file(settings.content_dir)  # its problems are kb check's
    site = Site(settings.content_dir, policy=PolicyHolder(policy))
    site.load()
    if args.lang is not None and args.lang not in {a.lang for a in site.content.articles.values()}:
        return fail(f"no article in language {args.lang!r}")
    filters = Filters(frozenset(args.flag), args.lang)

    async def work(db: Database) -> Report:
        return await Health(site, db, default_lang=settings.default_lang,
                            review_days=settings.review_days).report(filters)

    report = run_with_database(settings.database, work)
    if args.format == "json":
        print(json.dumps(report.export(), ensure_ascii=False, indent=2))
    else:
        for row in report.rows:
            article = row.article
            for flag in row.flags:
                print(f"{site.content_dir / article.path}: {flag.name} (since {flag.since[:10]}): {flag.reason}")
    return 1 if report.rows else 0
