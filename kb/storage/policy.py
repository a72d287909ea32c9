"""SQL of the policy area: the accepted versions of the policy data (0004_policy_versions.sql)."""

from __future__ import annotations

from dataclasses import dataclass

from kb.storage.db import Conn, Database, Row


@dataclass(frozen=True)
class VersionRow:
    id: int
    version: str
    source: str
    document: str  # canonical JSON
    changed_keys: tuple[str, ...]
    accepted_at: str


_COLUMNS = "id, version, source, document, changed_keys, accepted_at"


def _row(row: Row) -> VersionRow:
    keys = tuple(k for k in str(row[4]).split(",") if k)
    return VersionRow(int(row[0]), str(row[1]), str(row[2]), str(row[3]), keys, str(row[5]))


async def record(db: Database, *, version: str, source: str, document: str,
                 changed_keys: list[str]) -> VersionRow | None:
    """Store an accepted version unless it is already the latest; return the new row."""

    async def op(conn: Conn) -> VersionRow | None:
        lock = conn.dialect.lock("policy_versions")  # two nodes accepting one version store it once
        if lock:
            await conn.execute(lock)
        last = await conn.fetch_one("SELECT version FROM policy_versions ORDER BY id DESC LIMIT 1")
        if last is not None and last[0] == version:
            return None
        row = await conn.fetch_one(
            f"INSERT INTO policy_versions (version, source, document, changed_keys) VALUES (?, ?, ?, ?) "
            f"RETURNING {_COLUMNS}", (version, source, document, ",".join(sorted(changed_keys))))
        return _row(row) if row is not None else None

    return await db.write(op)


async def latest(db: Database, *, source: str | None = None) -> VersionRow | None:
    if source is None:
        row = await db.fetch_one(f"SELECT {_COLUMNS} FROM policy_versions ORDER BY id DESC LIMIT 1")
    else:
        row = await db.fetch_one(
            f"SELECT {_COLUMNS} FROM policy_versions WHERE source = ? ORDER BY id DESC LIMIT 1", (source,))
    return _row(row) if row is not None else None


async def history(db: Database, *, limit: int = 50) -> list[VersionRow]:
    """Newest first."""
    rows = await db.fetch_all(f"SELECT {_COLUMNS} FROM policy_versions ORDER BY id DESC LIMIT ?", (limit,))
    return [_row(r) for r in rows]


async def find(db: Database, ref: str) -> list[VersionRow]:
    """Rows whose version starts with `ref` (newest first), one per distinct version."""
    pattern = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = await db.fetch_all(
        f"SELECT {_COLUMNS} FROM policy_versions WHERE version LIKE ? ESCAPE '\\' "
        "AND id IN (SELECT MAX(id) FROM policy_versions GROUP BY version) ORDER BY id DESC",
        (pattern,),
    )
    return [_row(r) for r in rows]


async def first_accepted(db: Database, version: str) -> str | None:
    row = await db.fetch_one("SELECT MIN(accepted_at) FROM policy_versions WHERE version = ?", (version,))
    return str(row[0]) if row is not None and row[0] is not None else None
