"""`kb user ...`: manage the accounts of the web editor from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

from kb.cli.common import Handler, add_command, add_group
from kb.config import Settings
from kb.errors import BadRequest

if TYPE_CHECKING:
    from kb.auth import Auth
    from kb.cli.common import Subparsers


class _Roles:
    """kb.auth.ROLES as argparse choices, looked up only when a `kb user` command is parsed.

    Importing kb.auth at start-up would load argon2 and the database driver (~40 ms) for every
    command; a copy of the tuple here would be a second definition to keep in step.
    """

    def __iter__(self) -> Iterator[str]:
        from kb.auth import ROLES

        return iter(ROLES)

    def __contains__(self, role: object) -> bool:
        from kb.auth import ROLES

        return role in ROLES


def register(subparsers: Subparsers) -> None:
    actions = add_group(subparsers, "user", help="manage the accounts of the web editor (/admin)",
                        dest="user_command")

    def action(name: str, handler: Handler, help: str, *, role: bool = False,
               password: bool = False, named: bool = True) -> None:
        parser = add_command(actions, name, handler, help=help)
        if named:
            parser.add_argument("name", help="the user name")
        if role:
            role_help = "admin, editor or analyst"
            argument = (parser.add_argument("--role", required=True, help=role_help)
                        if name == "add" else parser.add_argument("role", help=role_help))
            # Set after add_argument: it formats the usage (iterating the choices) as a check.
            argument.choices = _Roles()
        if password:
            parser.add_argument("--password-stdin", action="store_true",
                                help="read the password from the first line of standard input")

    action("add", cmd_add, "add a user (asks for the password)", role=True, password=True)
    action("list", cmd_list, "list users, their roles and whether they are disabled", named=False)
    action("set-role", cmd_set_role, "change a user's role (ends their sessions)", role=True)
    action("disable", cmd_disable, "disable a user (ends their sessions)")
    action("enable", cmd_enable, "enable a disabled user")
    action("password", cmd_password, "set a new password (ends their sessions)", password=True)


def _with_auth(settings: Settings, work: Callable[[Auth], Awaitable[int]]) -> int:
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

    async def work(auth: Auth) -> int:
        user = await auth.add_user(args.name, password, args.role)
        print(f"added {user.name} ({user.role})")
        return 0

    return _with_auth(settings, work)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(auth: Auth) -> int:
        users = await auth.users()
        if not users:
            print("no users yet: add one with `kb user add NAME --role admin`", file=sys.stderr)
        for user in users:
            state = "disabled" if user.disabled else "active"
            print(f"{user.name}\t{user.role}\t{state}\t{user.created_at}")
        return 0

    return _with_auth(settings, work)


def cmd_set_role(args: argparse.Namespace, settings: Settings) -> int:
    async def work(auth: Auth) -> int:
        user = await auth.set_role(args.name, args.role)
        print(f"{user.name} is now {user.role}; their sessions were ended")
        return 0

    return _with_auth(settings, work)


def cmd_disable(args: argparse.Namespace, settings: Settings) -> int:
    async def work(auth: Auth) -> int:
        user = await auth.set_disabled(args.name, True)
        print(f"disabled {user.name}; their sessions were ended")
        return 0

    return _with_auth(settings, work)


def cmd_enable(args: argparse.Namespace, settings: Settings) -> int:
    async def work(auth: Auth) -> int:
        user = await auth.set_disabled(args.name, False)
        print(f"enabled {user.name}")
        return 0

    return _with_auth(settings, work)


def cmd_password(args: argparse.Namespace, settings: Settings) -> int:
    password = _read_password(args)

    async def work(auth: Auth) -> int:
        user = await auth.set_password(args.name, password)
        print(f"changed the password of {user.name}; their sessions were ended")
        return 0

    return _with_auth(settings, work)
