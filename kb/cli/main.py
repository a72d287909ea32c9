"""The `kb` command. Thin: parse flags, build settings, call the core, print, exit."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from kb.config import SETTINGS, Settings, load_settings
from kb.errors import KBError

Command = Callable[[argparse.Namespace, Settings], int]

_COMMON = ("content_dir", "index_dir", "data_dir", "database")


def _add_common(parser: argparse.ArgumentParser) -> None:
    for spec in SETTINGS:
        if spec.name in _COMMON:
            parser.add_argument("--" + spec.name.replace("_", "-"), dest=spec.name, default=None,
                                help=f"{spec.help} [{spec.env}]")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    # The app is built by a factory in the server process (also under --reload), so the
    # resolved settings travel as KB_* variables.
    for spec in SETTINGS:
        value = getattr(settings, spec.name)
        os.environ[spec.env] = str(value).lower() if isinstance(value, bool) else str(value)
    uvicorn.run("kb.web.app:app_from_environment", factory=True, host=settings.host,
                port=settings.port, reload=args.reload, proxy_headers=True, log_level="info")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from kb.content.site import Site

    site = Site(settings.content_dir)
    site.load()
    problems = site.check()
    for problem in problems:
        print(problem)
    articles = len(site.content.articles)
    if problems:
        print(f"{len(problems)} problem(s) in {settings.content_dir}", file=sys.stderr)
        return 1
    print(f"ok: {articles} article(s), {len(site.content.categories)} categories, no problems", file=sys.stderr)
    return 0


def cmd_new(args: argparse.Namespace, settings: Settings) -> int:
    from kb.content.authoring import scaffold_article

    path = scaffold_article(settings.content_dir, title=args.title, lang=args.lang,
                            category=args.category, type=args.type, slug=args.slug)
    print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kb", description="kb: a self-hosted knowledge base and FAQ site.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the web site")
    _add_common(serve)
    serve.add_argument("--host", default=None, help="address to listen on [KB_HOST]")
    serve.add_argument("--port", default=None, help="port to listen on [KB_PORT]")
    serve.add_argument("--reload", action="store_true", help="restart when the code changes (development)")
    serve.set_defaults(func=cmd_serve)

    check = sub.add_parser("check", help="validate every article; print path:line: problem")
    _add_common(check)
    check.set_defaults(func=cmd_check)

    new = sub.add_parser("new", help="create a valid draft article with the next free id")
    _add_common(new)
    new.add_argument("title", help="the article's title")
    new.add_argument("--lang", required=True, help="language folder, e.g. en")
    new.add_argument("--category", required=True, help="a category key from categories.yaml")
    new.add_argument("--type", default="faq", choices=["faq", "tutorial", "video"])
    new.add_argument("--slug", default=None, help="file name without .md (default: from the title)")
    new.set_defaults(func=cmd_new)

    for register in EXTRA_COMMANDS:
        register(sub, _add_common)
    return parser


# Later areas (index, policy, user, token, analytics) add their sub-commands here.
EXTRA_COMMANDS: list[Callable[[Any, Callable[[argparse.ArgumentParser], None]], None]] = []


def _register_policy(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    from kb.cli.policy import register

    register(sub, add_common)


EXTRA_COMMANDS.append(_register_policy)


def _register_user(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    from kb.cli.users import register

    register(sub, add_common)


EXTRA_COMMANDS.append(_register_user)


def _register_analytics(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    from kb.cli.analytics import register

    register(sub, add_common)


EXTRA_COMMANDS.append(_register_analytics)


def _register_index(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    from kb.cli.index import register

    register(sub, add_common)


EXTRA_COMMANDS.append(_register_index)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    overrides = {name: getattr(args, name, None) for name in (*_COMMON, "host", "port")}
    try:
        settings = load_settings(overrides)
        command: Command = args.func
        return command(args, settings)
    except KBError as exc:
        print(f"kb: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
