"""Users, roles, passwords (argon2) and sessions of the people who run the site.

A session value carries the user id and the user's session version, signed and time-stamped
with the secret key. Logging out, disabling a user, or changing their role or password bumps the
version, which ends every session of that user at once. No account exists until one is created
with `kb user add`. The cookie that carries the value, and the checks routes make with it, are
the web layer's (kb.web.sessions).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY
from itsdangerous import BadSignature, URLSafeTimedSerializer

from kb.config import Settings
from kb.errors import BadRequest, Conflict, Forbidden, NotFound, TooManyRequests
from kb.storage import ratelimits
from kb.storage import users as store
from kb.storage.db import Database

ROLES = ("admin", "editor", "analyst")
EDITING_ROLES = ("admin", "editor")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; this bounds the work a request can ask for
SESSION_MAX_AGE = 12 * 3600
LOGIN_WINDOW_SECONDS = 15 * 60
# argon2id with RFC 9106's low-memory profile (64 MiB, 3 passes), argon2-cffi's default. Read when
# an Auth is built; the test suite sets argon2.profiles.CHEAPEST here, or its hundreds of apps
# would each spend 0.1-1 s hashing the decoy.
PASSWORD_HASHING: Parameters = RFC_9106_LOW_MEMORY


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    disabled: bool
    session_version: int
    created_at: str
    session: str = ""  # the random id of the session this request came with

    @property
    def csrf_subject(self) -> str:
        """What admin forms' CSRF tokens are bound to: this very session."""
        return f"session:{self.id}:{self.session_version}:{self.session}"


def _user(row: store.UserRow, session: str = "") -> User:
    return User(id=row.id, name=row.name, role=row.role, disabled=row.disabled,
                session_version=row.session_version, created_at=row.created_at, session=session)


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME_RE.match(name):
        raise BadRequest("a user name is 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}, not {role[:20]!r}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise BadRequest(f"the password must have at most {MAX_PASSWORD} characters")
    return password


class Auth:
    """The accounts service (Services.auth of the web layer, or built by `kb user`)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.hasher = PasswordHasher.from_parameters(PASSWORD_HASHING)
        self.serializer = URLSafeTimedSerializer(settings.secret_key, salt="kb.session")
        self.login_limiter = ratelimits.limiter_for(db, "logins", settings.login_rate_limit, LOGIN_WINDOW_SECONDS)
        # Verifying against this when the name is unknown keeps both answers equally slow. Made
        # at the first login attempt, whatever the name, not at start (0.2 s and 64 MiB).
        self._decoy: str | None = None

    # --- accounts -------------------------------------------------------------------------

    async def add_user(self, name: str, password: str, role: str) -> User:
        name, role = check_name(name), check_role(role)
        digest = await asyncio.to_thread(self.hasher.hash, check_password(password))
        user_id = await store.insert_user(self.db, name, digest, role)
        if user_id is None:
            raise Conflict(f"a user named {name!r} already exists")
        row = await store.user_by_id(self.db, user_id)
        assert row is not None
        return _user(row)

    async def users(self) -> list[User]:
        return [_user(row) for row in await store.all_users(self.db)]

    async def user(self, name: str) -> User:
        row = await store.user_by_name(self.db, name)
        if row is None:
            raise NotFound(f"no user named {name[:64]!r}")
        return _user(row)

    async def set_role(self, name: str, role: str) -> User:
        return await self._update(name, role=check_role(role))

    async def set_disabled(self, name: str, disabled: bool) -> User:
        return await self._update(name, disabled=disabled)

    async def set_password(self, name: str, password: str) -> User:
        digest = await asyncio.to_thread(self.hasher.hash, check_password(password))
        return await self._update(name, password_hash=digest)

    async def _update(self, name: str, *, role: str | None = None, disabled: bool | None = None,
                      password_hash: str | None = None) -> User:
        try:
            row = await store.update_user(self.db, name, role=role, disabled=disabled,
                                          password_hash=password_hash)
        except store.LastAdmin:
            raise Conflict("refused: this would leave no enabled admin") from None
        if row is None:
            raise NotFound(f"no user named {name[:64]!r}")
        return _user(row)

    # --- logging in and out ---------------------------------------------------------------

    async def authenticate(self, name: str, password: str, client: str) -> User:
        """The user for these credentials; Forbidden (same message for every reason) otherwise."""
        wait = await ratelimits.hit(self.login_limiter, f"login:{client}")
        if wait:
            raise TooManyRequests("Too many login attempts. Try again later.", retry_after=wait)
        refused = Forbidden("Wrong user name or password, or the account is disabled.")
        if len(password) > MAX_PASSWORD:
            raise refused
        if self._decoy is None:
            self._decoy = await asyncio.to_thread(self.hasher.hash, secrets.token_urlsafe(16))
        row = await store.user_by_name(self.db, name.strip()) if NAME_RE.match(name.strip()) else None
        digest = row.password_hash if row else self._decoy
        try:
            await asyncio.to_thread(self.hasher.verify, digest, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise refused from None
        if row is None or row.disabled:
            raise refused
        if self.hasher.check_needs_rehash(row.password_hash):
            await store.update_user(self.db, row.name, password_hash=await asyncio.to_thread(
                self.hasher.hash, password), keep_an_admin=False)
            row = await store.user_by_name(self.db, row.name) or row
        return _user(row, session=secrets.token_urlsafe(12))

    def session_cookie(self, user: User) -> str:
        return self.serializer.dumps({"u": user.id, "v": user.session_version, "s": user.session})

    async def session_user(self, cookie: str | None) -> User | None:
        if not cookie or len(cookie) > 512:
            return None
        try:
            data = self.serializer.loads(cookie, max_age=SESSION_MAX_AGE)
            user_id, version, session = int(data["u"]), int(data["v"]), str(data["s"])
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        row = await store.user_by_id(self.db, user_id)
        if row is None or row.disabled or row.session_version != version:
            return None
        return _user(row, session=session)

    async def logout(self, user: User) -> None:
        await store.end_sessions(self.db, user.id)
