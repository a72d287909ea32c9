"""Anonymous visitor ids (signed cookie) and CSRF tokens bound to them."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from http.cookies import CookieError, SimpleCookie

from itsdangerous import BadSignature, Signer
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kb.errors import Forbidden
from kb.web.services import services

VISITOR_COOKIE = "kb_visitor"
VISITOR_MAX_AGE = 365 * 24 * 3600
_SKIP_PREFIXES = ("/static/", "/healthz", "/content/")


class VisitorMiddleware:
    """Give every visitor a random id in a signed, HttpOnly, SameSite=Lax cookie.

    The id identifies a browser, not a person: it holds no personal data and is only stored
    hashed (see visitor_hash).
    """

    def __init__(self, app: ASGIApp, secret_key: str) -> None:
        self.app = app
        self.signer = Signer(secret_key, salt="kb.visitor")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_SKIP_PREFIXES):
            await self.app(scope, receive, send)
            return
        visitor = self._read(scope)
        new = visitor is None
        if visitor is None:
            visitor = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["visitor"] = visitor
        secure = scope.get("scheme") == "https"

        async def send_with_cookie(message: Message) -> None:
            if new and message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                cookie = (f"{VISITOR_COOKIE}={self.signer.sign(visitor).decode()}; Path=/; "
                          f"Max-Age={VISITOR_MAX_AGE}; HttpOnly; SameSite=Lax")
                headers.append("set-cookie", cookie + ("; Secure" if secure else ""))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _read(self, scope: Scope) -> str | None:
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                cookie: SimpleCookie = SimpleCookie()
                try:
                    cookie.load(value.decode("latin-1"))
                except CookieError:  # a malformed Cookie header is treated as no cookie
                    return None
                morsel = cookie.get(VISITOR_COOKIE)
                if morsel is None:
                    continue
                try:
                    return self.signer.unsign(morsel.value).decode()
                except BadSignature:
                    return None
        return None


def visitor_id(request: Request) -> str:
    return str(request.state.visitor)


def visitor_hash(secret_key: str, visitor: str) -> str:
    """What storage keeps: a keyed hash, so the raw cookie value is never on disk."""
    return hmac.new(secret_key.encode(), f"visitor:{visitor}".encode(), hashlib.sha256).hexdigest()[:32]


def hashed_visitor(request: Request) -> str:
    """The visitor of this request as votes, views and the search log know them."""
    return visitor_hash(services(request).settings.secret_key, visitor_id(request))


def csrf_token(secret_key: str, subject: str) -> str:
    return hmac.new(secret_key.encode(), f"csrf:{subject}".encode(), hashlib.sha256).hexdigest()[:40]


def check_csrf(secret_key: str, subject: str, submitted: object) -> None:
    """Raise Forbidden unless `submitted` is the token for `subject` (visitor or session)."""
    if not isinstance(submitted, str) or not hmac.compare_digest(submitted, csrf_token(secret_key, subject)):
        raise Forbidden("The form has expired or did not come from this site. Reload the page and try again.")
