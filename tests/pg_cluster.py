"""A throwaway PostgreSQL cluster for the test session (the `pg_cluster` fixture of conftest).

initdb in a temporary folder (as the `postgres` user when the tests run as root: the server
refuses to run as root), listening on a Unix socket in that folder only, no TCP port. A
template database is migrated once; each test gets `CREATE DATABASE ... TEMPLATE` of it, which
takes milliseconds. The cluster is stopped and its folder removed at the end of the session.
Durability settings are off (fsync, synchronous_commit): a test never kills the server itself.
bench/cluster.py starts one too, `durable=True` (PostgreSQL's defaults: a commit waits for the
disk, as in production), so that its votes/s are those of acknowledged, durable votes.
"""

from __future__ import annotations

import asyncio
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
TEMPLATE = "kb_template"


def find_binaries() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb, or one on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


class Cluster:
    def __init__(self, binaries: Path, *, durable: bool = False, options: str = "") -> None:
        self.binaries = binaries
        self.durable = durable
        self.options = options
        self.root = Path(tempfile.mkdtemp(prefix="kb-pg-"))
        self.data = self.root / "data"
        self.as_postgres = os.geteuid() == 0
        self._names = itertools.count(1)
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
        self._run("initdb", "-D", str(self.data), "-U", "kb", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        options = f"-k {self.root} -c listen_addresses='' -c max_connections=300 {self.options}"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        asyncio.run(self._migrate(self.url(TEMPLATE)))

    @staticmethod
    async def _migrate(url: str) -> None:
        db = Database(url)
        await db.open()
        await db.close()

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

    def drop_database(self, url: str) -> None:
        name = urlsplit(url).path.strip("/")
        with self.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
