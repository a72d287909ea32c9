"""`kb check` and `kb new`: validate the content tree, start a new article in it."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from kb.cli.common import add_command
from kb.config import Settings

if TYPE_CHECKING:
    from kb.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    add_command(subparsers, "check", cmd_check,
                help="validate every article; print path:line: problem")

    new = add_command(subparsers, "new", cmd_new,
                      help="create a valid draft article with the next free id")
    new.add_argument("title", help="the article's title")
    new.add_argument("--lang", required=True, help="language folder, e.g. en")
    new.add_argument("--category", required=True, help="a category key from categories.yaml")
    new.add_argument("--type", default="faq", choices=["faq", "tutorial", "video"])
    new.add_argument("--slug", default=None, help="file name without .md (default: from the title)")


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from kb.content.site import Site
    from kb.policy.holder import PolicyHolder
    from kb.policy.sources import load_file

    policy, policy_problems = load_file(settings.content_dir)  # reported below with the rest
    site = Site(settings.content_dir, policy=PolicyHolder(policy))
    site.load()
    problems = sorted(policy_problems + site.check())
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {settings.content_dir}", file=sys.stderr)
        return 1
    print(f"ok: {len(site.content.articles)} article(s), {len(site.content.categories)} categories, "
          "no problems", file=sys.stderr)
    return 0


def cmd_new(args: argparse.Namespace, settings: Settings) -> int:
    from kb.content.authoring import scaffold_article

    path = scaffold_article(settings.content_dir, title=args.title, lang=args.lang,
                            category=args.category, type=args.type, slug=args.slug)
    print(path)
    return 0
