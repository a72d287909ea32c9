"""API tokens for BI tools: `kb token create NAME` prints a token once; only its hash is stored.

A token is 32 random bytes, so a plain SHA-256 of it cannot be brute-forced and lookups stay a
single indexed query (a slow password hash would be the wrong tool here). Tokens grant read
access to the analytics API, the rights of the analyst role.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from kb.errors import BadRequest, Conflict, NotFound
from kb.storage import tokens as store
from kb.storage.db import Database

PREFIX = "kb_"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Tokens:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, name: str) -> str:
        """A new token for `name`; the only time it is ever shown."""
        name = name.strip()
        if not NAME_RE.match(name):
            raise BadRequest("a token name is 1 to 64 letters, digits, '.', '_' or '-'")
        if await store.token_by_name(self.db, name) is not None:
            raise Conflict(f"a token named {name!r} already exists (revoked tokens keep their name)")
        token = PREFIX + secrets.token_urlsafe(32)
        await self.db.write(store.create_token(name, hash_token(token)))
        return token

    async def list(self) -> list[Token]:
        return [Token(**row) for row in await store.list_tokens(self.db)]

    async def revoke(self, name: str) -> None:
        if not await self.db.write(store.revoke_token(name.strip())):
            raise NotFound(f"no active token named {name[:64]!r}")

    async def check(self, token: str) -> Token | None:
        """The active token this secret belongs to, or None; records when it was last used."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        found = await store.active_token(self.db, hash_token(token))
        if found is None:
            return None
        self.db.write_later(store.touch_token(found["id"]))
        return Token(found["id"], found["name"], "", None, None)
