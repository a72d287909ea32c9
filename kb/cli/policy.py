"""`kb policy show|history|diff`: the policy data versions the site accepted, from the database.

`show` prints the version the site serves (the latest stored one; the content tree's
policy.yaml when nothing was stored yet); `diff A B` compares two stored versions, given by
(a prefix of) their hash, or `file` for the policy.yaml on disk.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from kb.cli.common import add_command, add_group
from kb.config import Settings

if TYPE_CHECKING:
    from kb.cli.common import Subparsers
    from kb.policy.document import Policy
    from kb.storage.db import Database
    from kb.storage.policy import VersionRow

T = TypeVar("T")

FILE_REF = "file"
"""The name `kb policy diff` gives to the content tree's policy.yaml."""

MIN_REF = 4
"""Fewer characters of a version hash would match too many versions to be useful."""


def register(subparsers: Subparsers) -> None:
    actions = add_group(subparsers, "policy",
                        help="show the policy data, its history and differences",
                        dest="policy_command")

    show = add_command(actions, "show", cmd_show, help="the values served now (or one key's)")
    show.add_argument("key", nargs="?", default=None,
                      help="a dotted key, e.g. premium.commitment.months")
    show.add_argument("--lang", default=None, help="only texts in this language")

    history = add_command(actions, "history", cmd_history,
                          help="every accepted version, newest first")
    history.add_argument("--limit", type=int, default=50)

    diff = add_command(actions, "diff", cmd_diff, help="what changed between two versions")
    diff.add_argument("a", help="a version (or a prefix of it), or 'file' for policy.yaml")
    diff.add_argument("b", help="a version (or a prefix of it), or 'file' for policy.yaml")


def _read_stored(settings: Settings, read: Callable[[Database], Awaitable[T]], empty: T) -> T:
    """`read(db)`, or `empty` when the site has no database yet: looking must not create one."""
    from kb.storage.db import run_with_database

    if isinstance(settings.database, Path) and not settings.database.exists():
        return empty
    return run_with_database(settings.database, read)


def _file_policy(settings: Settings) -> Policy:
    from kb.errors import KBError
    from kb.policy.sources import POLICY_FILE, load_file

    policy, problems = load_file(settings.content_dir)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        raise KBError(f"{settings.content_dir / POLICY_FILE} is not valid")
    if policy is None:
        raise KBError(f"no policy data: {settings.content_dir / POLICY_FILE} does not exist")
    return policy


def _stored_policy(row: VersionRow) -> Policy:
    from kb.policy.document import Policy

    return Policy.from_stored(row.document, source=row.source, accepted_at=row.accepted_at)


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from kb.errors import NotFound
    from kb.storage import policy as store

    row = _read_stored(settings, store.latest, None)
    if row is not None:
        policy = _stored_policy(row)
        print(f"version {policy.version} (as of {policy.date.isoformat()}), "
              f"accepted {row.accepted_at} from {row.source}")
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

    found: list[VersionRow] = _read_stored(
        settings, lambda db: store.history(db, limit=args.limit), [])
    if not found:
        print("no policy version has been accepted yet (start the site once)", file=sys.stderr)
        return 0
    for row in found:
        keys = ", ".join(row.changed_keys[:6]) + (", ..." if len(row.changed_keys) > 6 else "")
        print(f"{row.accepted_at}  {row.version}  {row.source}  "
              f"{len(row.changed_keys)} key(s) changed{': ' + keys if keys else ''}")
    return 0


def cmd_diff(args: argparse.Namespace, settings: Settings) -> int:
    from kb.storage import policy as store

    refs = (args.a, args.b)
    looked_up = [ref for ref in refs if ref != FILE_REF and len(ref) >= MIN_REF]

    async def find(db: Database) -> dict[str, list[VersionRow]]:
        return {ref: await store.find(db, ref) for ref in looked_up}

    matches: dict[str, list[VersionRow]] = _read_stored(settings, find, {})
    old, new = (_version(settings, ref, matches.get(ref, [])) for ref in refs)
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


def _version(settings: Settings, ref: str, rows: list[VersionRow]) -> Policy:
    """The policy `ref` names: policy.yaml, or the one stored version among `rows` it prefixes."""
    from kb.errors import BadRequest, NotFound

    if ref == FILE_REF:
        return _file_policy(settings)
    if len(ref) < MIN_REF:
        raise BadRequest(f"{ref!r}: give at least 4 characters of a version")
    if not rows:
        raise NotFound(f"no stored policy version starts with {ref!r} (see kb policy history)")
    if len(rows) > 1:
        raise BadRequest(f"{ref!r} matches several versions: {', '.join(r.version for r in rows)}")
    return _stored_policy(rows[0])
