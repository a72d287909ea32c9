"""`kb db migrate|copy`: bring the database to this kb's schema; move a site to PostgreSQL."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from kb.cli.common import add_command, add_group
from kb.config import Settings
from kb.errors import ConfigError

if TYPE_CHECKING:
    from kb.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    actions = add_group(subparsers, "db", help="the database: migrations, moving to PostgreSQL",
                        dest="db_command")
    add_command(actions, "migrate", cmd_migrate,
                help="apply the migrations this kb has (kb serve also does, at start)")
    copy = add_command(actions, "copy", cmd_copy,
                       help="copy every table of the SQLite database into a new PostgreSQL database")
    copy.add_argument("--to", required=True, metavar="URL",
                      help="postgresql://user:password@host:port/name of an empty database")


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from kb.storage.db import Database, run_with_database

    async def work(db: Database) -> int:
        print(f"{db.name}: schema version {await db.schema_version()}")
        return 0

    return run_with_database(settings.database, work)


def cmd_copy(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from kb.storage.db import Database, run_with_database
    from kb.storage.dialect import is_postgresql
    from kb.storage.transfer import copy_to_postgresql

    source, target = settings.database, args.to
    if not isinstance(source, Path):
        raise ConfigError("kb db copy reads the site's SQLite database: set --database (or KB_DATABASE) to its file")
    if not source.exists():
        raise ConfigError(f"{source} does not exist: nothing to copy")
    if not is_postgresql(target):
        raise ConfigError("--to takes a postgresql://user:password@host:port/name URL")

    async def migrated(db: Database) -> None:
        return None

    run_with_database(source, migrated)  # the source at this kb's schema
    run_with_database(target, migrated)  # the target created by the migrations, empty
    report = asyncio.run(copy_to_postgresql(source, target, progress=lambda table, rows: print(
        f"{table}: {rows} rows")))
    print(f"copied and verified {sum(report.rows.values())} rows of {len(report.rows)} tables "
          f"({report.votes_tallied} counted votes in the tallies) into {Database(target).name}")
    return 0
