"""`kb policy show|history|diff`: the policy data versions the site accepted, from the database.

`show` prints the version the site serves (the latest stored one; the content tree's
policy.yaml when nothing was stored yet); `diff A B` compares two stored versions, given by
(a prefix of) their hash, or `file` for the policy.yaml on disk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

from kb.config import Settings


def register(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    policy = sub.add_parser("policy", help="show the policy data, its history and differences")
    actions = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")

    show = actions.add_parser("show", help="the values served now (or one key's)")
    add_common(show)
    show.add_argument("key", nargs="?", default=None, help="a dotted key, e.g. premium.commitment.months")
    show.add_argument("--lang", default=None, help="only texts in this language")
    show.set_defaults(func=cmd_show)

    history = actions.add_parser("history", help="every accepted version, newest first")
    add_common(history)
    history.add_argument("--limit", type=int, default=50)
    history.set_defaults(func=cmd_history)

    diff = actions.add_parser("diff", help="what changed between two versions")
    add_common(diff)
    diff.add_argument("a", help="a version (or a prefix of it), or 'file' for policy.yaml")
    diff.add_argument("b", help="a version (or a prefix of it), or 'file' for policy.yaml")
    diff.set_defaults(func=cmd_diff)


def _run(settings: Settings, work: Callable[[Any], Any]) -> Any:
    """Run `work(db)` against the database, or `work(None)` when there is none yet."""
    from kb.storage.db import run_with_database

    if not settings.database.exists():
        return asyncio.run(work(None))
    return run_with_database(settings.database, work)


def _file_policy(settings: Settings) -> Any:
    from kb.errors import KBError
    from kb.policy.schema import POLICY_FILE, load_file

    policy, problems = load_file(settings.content_dir)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        raise KBError(f"{settings.content_dir / POLICY_FILE} is not valid")
    if policy is None:
        raise KBError(f"no policy data: {settings.content_dir / POLICY_FILE} does not exist")
    return policy


def _stored_policy(row: Any) -> Any:
    from datetime import date

    from kb.policy.schema import Policy

    return Policy.from_data(json.loads(row.document), source=row.source,
                            accepted=date.fromisoformat(row.accepted_at[:10]))


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from kb.errors import NotFound
    from kb.storage import policy as store

    async def latest(db: Any) -> Any:
        return await store.latest(db) if db is not None else None

    row = _run(settings, latest)
    if row is not None:
        policy = _stored_policy(row)
        print(f"version {policy.version} (as of {policy.date.isoformat()}), accepted {row.accepted_at} "
              f"from {row.source}")
    else:
        policy = _file_policy(settings)
        print(f"version {policy.version} (as of {policy.date.isoformat()}) from {policy.source} "
              "(not yet accepted by a running site)")
    if args.key and policy.resolve(args.key) is None:
        raise NotFound(f"unknown policy key {args.key!r}")
    for key, value in policy.flat().items():
        bare, _, lang = key.partition("[")
        if args.key and not (bare == args.key or bare.startswith(args.key + ".")):
            continue
        if args.lang and lang and lang.rstrip("]") != args.lang:
            continue
        print(f"{key} = {value}")
    return 0


def cmd_history(args: argparse.Namespace, settings: Settings) -> int:
    from kb.storage import policy as store

    async def rows(db: Any) -> Any:
        return await store.history(db, limit=args.limit) if db is not None else []

    found = _run(settings, rows)
    if not found:
        print("no policy version has been accepted yet (start the site once)", file=sys.stderr)
        return 0
    for row in found:
        keys = ", ".join(row.changed_keys[:6]) + (", ..." if len(row.changed_keys) > 6 else "")
        print(f"{row.accepted_at}  {row.version}  {row.source}  "
              f"{len(row.changed_keys)} key(s) changed{': ' + keys if keys else ''}")
    return 0


def cmd_diff(args: argparse.Namespace, settings: Settings) -> int:
    from kb.errors import BadRequest, NotFound
    from kb.storage import policy as store

    async def resolve(db: Any) -> list[Any]:
        found = []
        for ref in (args.a, args.b):
            if ref == "file":
                found.append(_file_policy(settings))
                continue
            if len(ref) < 4:
                raise BadRequest(f"{ref!r}: give at least 4 characters of a version")
            rows = await store.find(db, ref) if db is not None else []
            if not rows:
                raise NotFound(f"no stored policy version starts with {ref!r} (see kb policy history)")
            if len(rows) > 1:
                raise BadRequest(f"{ref!r} matches several versions: {', '.join(r.version for r in rows)}")
            found.append(_stored_policy(rows[0]))
        return found

    old, new = _run(settings, resolve)
    before, after = old.flat(), new.flat()
    lines = 0
    for key in sorted(set(before) | set(after)):
        if before.get(key) == after.get(key):
            continue
        if key in before:
            print(f"- {key} = {before[key]}")
        if key in after:
            print(f"+ {key} = {after[key]}")
        lines += 1
    print(f"{lines} value(s) differ between {old.version} and {new.version}", file=sys.stderr)
    return 0
