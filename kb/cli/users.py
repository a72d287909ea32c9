"""`kb user ...`: manage the accounts of the web editor from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from kb.config import Settings
from kb.errors import BadRequest

ROLES = ("admin", "editor", "analyst")


def _run(settings: Settings, work: Callable[[Any], Awaitable[int]]) -> int:
    from kb.auth import Auth
    from kb.storage.db import run_with_database

    return run_with_database(settings.database, lambda db: work(Auth(settings, db)))


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise BadRequest("no password on standard input")
        return password
    first = getpass.getpass(f"Password for {args.name}: ")
    if getpass.getpass("Repeat the password: ") != first:
        raise BadRequest("the two passwords differ")
    return first


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    password = _read_password(args)

    async def work(auth: Any) -> int:
        user = await auth.add_user(args.name, password, args.role)
        print(f"added {user.name} ({user.role})")
        return 0

    return _run(settings, work)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(auth: Any) -> int:
        users = await auth.users()
        if not users:
            print("no users yet: add one with `kb user add NAME --role admin`", file=sys.stderr)
        for user in users:
            state = "disabled" if user.disabled else "active"
            print(f"{user.name}\t{user.role}\t{state}\t{user.created_at}")
        return 0

    return _run(settings, work)


def cmd_set_role(args: argparse.Namespace, settings: Settings) -> int:
    async def work(auth: Any) -> int:
        user = await auth.set_role(args.name, args.role)
        print(f"{user.name} is now {user.role}; their sessions were ended")
        return 0

    return _run(settings, work)


def cmd_disable(args: argparse.Namespace, settings: Settings) -> int:
    async def work(auth: Any) -> int:
        user = await auth.set_disabled(args.name, True)
        print(f"disabled {user.name}; their sessions were ended")
        return 0

    return _run(settings, work)


def cmd_enable(args: argparse.Namespace, settings: Settings) -> int:
    async def work(auth: Any) -> int:
        user = await auth.set_disabled(args.name, False)
        print(f"enabled {user.name}")
        return 0

    return _run(settings, work)


def cmd_password(args: argparse.Namespace, settings: Settings) -> int:
    password = _read_password(args)

    async def work(auth: Any) -> int:
        user = await auth.set_password(args.name, password)
        print(f"changed the password of {user.name}; their sessions were ended")
        return 0

    return _run(settings, work)


def register(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    user = sub.add_parser("user", help="manage the accounts of the web editor (/admin)")
    actions = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")

    def action(name: str, func: Callable[[argparse.Namespace, Settings], int], help: str,
               *, role: bool = False, password: bool = False, named: bool = True) -> None:
        parser = actions.add_parser(name, help=help)
        add_common(parser)
        if named:
            parser.add_argument("name", help="the user name")
        if role:
            parser.add_argument("--role" if name == "add" else "role", choices=ROLES,
                                **({"required": True} if name == "add" else {}), help="admin, editor or analyst")
        if password:
            parser.add_argument("--password-stdin", action="store_true",
                                help="read the password from the first line of standard input")
        parser.set_defaults(func=func)

    action("add", cmd_add, "add a user (asks for the password)", role=True, password=True)
    action("list", cmd_list, "list users, their roles and whether they are disabled", named=False)
    action("set-role", cmd_set_role, "change a user's role (ends their sessions)", role=True)
    action("disable", cmd_disable, "disable a user (ends their sessions)")
    action("enable", cmd_enable, "enable a disabled user")
    action("password", cmd_password, "set a new password (ends their sessions)", password=True)
