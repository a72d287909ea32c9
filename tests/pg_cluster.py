"""A throwaway PostgreSQL cluster for the test session (the `pg_cluster` fixture of conftest).

initdb in a temporary folder (as the `postgres` user when the tests run as root: the server
refuses to run as root), listening on a Unix socket in that folder only, no TCP port. A
template database is migrated once; each test gets one database of the process emptied
(`empty_database`: every row deleted, about 25 ms of server CPU) or, when a test changed its
schema or needs a second one, `CREATE DATABASE ... TEMPLATE` of it (about 150 ms with its DROP).
The cluster is stopped and its folder removed at the end of the session.
Durability settings are off (fsync, synchronous_commit): a test never kills the server itself.
bench/cluster.py starts one too, `durable=True` (PostgreSQL's defaults: a commit waits for the
disk, as in production), so that its votes/s are those of acknowledged, durable votes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from kb.storage.db import Database

INSTALL_HINT = "PostgreSQL binaries not found: apt-get install postgresql"


def migrate(target: str | Path) -> None:
    """Apply every migration to a database (a PostgreSQL URL or a SQLite file), and close it.

    In a thread of its own, with its own event loop: a session fixture may be set up from inside
    an async test, whose loop is running (pytest-asyncio 1.5), where asyncio.run refuses to run."""

    async def run() -> None:
        database = Database(target)
        await database.open()
        await database.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()
TEMPLATE = "kb_template"

# What a test could change of a migrated database besides its rows: relations and their columns,
# functions, triggers (and whether they are enabled), schemas, and the migrations it records.
SHAPE = """
SELECT md5(concat_ws('|',
  (SELECT string_agg(c.relname || ':' || c.relkind::text || ':' || coalesce(a.attname, '') || ':'
                     || coalesce(format_type(a.atttypid, a.atttypmod), '') || ':' || coalesce(a.attnotnull::text, ''),
                     ',' ORDER BY c.relname, a.attnum)
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')),
  (SELECT string_agg(p.proname || ':' || md5(p.prosrc), ',' ORDER BY p.proname, md5(p.prosrc))
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')),
  (SELECT string_agg(t.tgname || ':' || t.tgenabled::text, ',' ORDER BY t.tgname) FROM pg_trigger t WHERE NOT t.tgisinternal),
  (SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace),
  (SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM kb_schema)))
"""


def find_binaries() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb, or one on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def scratch_dir() -> str | None:
    """/dev/shm when it is a tmpfs with room: the throwaway cluster's ~2,000 files are written and
    removed there in milliseconds (on this machine's disk a file's removal took ~2 ms)."""
    shm = "/dev/shm"
    if not os.path.isdir(shm) or not os.access(shm, os.W_OK):
        return None
    free = os.statvfs(shm)
    return shm if free.f_bavail * free.f_frsize >= 2**30 else None


class Cluster:
    def __init__(self, binaries: Path, *, durable: bool = False, options: str = "") -> None:
        self.binaries = binaries
        self.durable = durable
        self.options = options
        self.root = Path(tempfile.mkdtemp(prefix="kb-pg-", dir=None if durable else scratch_dir()))
        self.data = self.root / "data"
        self.as_postgres = os.geteuid() == 0
        self._names = itertools.count(1)
        self._reused: str | None = None  # empty_database's
        self._template_shape = ""
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        command = [str(self.binaries / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        # --no-sync: initdb does not wait for its files to reach the disk (~3 s), as the server
        # started here does not either (fsync=off) unless it is durable.
        self._run("initdb", "-D", str(self.data), "-U", "kb", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                  *(() if self.durable else ("--no-sync",)))
        options = f"-k {self.root} -c listen_addresses='' -c max_connections=300 {self.options}"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        migrate(self.url(TEMPLATE))
        with psycopg.connect(self.url(TEMPLATE)) as conn:
            self._template_shape = self._shape(conn)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def postmaster(self) -> int:
        """The server's process id (bench/cluster.py measures the CPU of it and its children)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def url(self, name: str) -> str:
        return f"postgresql://kb@/{name}?host={self.root}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def create_database(self, *, migrated: bool = True) -> str:
        """A new database's URL: a copy of the migrated template, or empty."""
        name = f"kb_test_{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {TEMPLATE}" if migrated else ""))
        return self.url(name)

    def empty_database(self) -> str:
        """A migrated database without a row, as a new copy of the template is: the one this
        process reuses, every other session on it ended, every row but the migrations' deleted
        and every identity restarted. A database whose schema a test changed is dropped and
        replaced by a new copy."""
        if self._reused is not None:
            with psycopg.connect(self._reused, autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                if self._shape(conn) == self._template_shape:
                    self._delete_rows(conn)
                    return self._reused
            self.drop_database(self._reused)
        self._reused = self.create_database()
        return self._reused

    @staticmethod
    def _shape(conn: psycopg.Connection[tuple[object, ...]]) -> str:
        row = conn.execute(SHAPE).fetchone()
        return str(row[0]) if row else ""

    @staticmethod
    def _delete_rows(conn: psycopg.Connection[tuple[object, ...]]) -> None:
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")  # no trigger, no foreign key check
            tables = conn.execute("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
                                  "WHERE schemaname = 'public' AND tablename <> 'kb_schema'").fetchall()
            for (table,) in tables:
                conn.execute(f"DELETE FROM {table}")
            conn.execute("SELECT setval(c.oid::regclass, 1, false) FROM pg_class c "
                         "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'S'")

    def drop_database(self, url: str) -> None:
        name = urlsplit(url).path.strip("/")
        with self.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
