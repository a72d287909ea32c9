"""Who is signed in: the session cookie of the admin area, read once per request.

kb.auth owns the accounts and what a session cookie's value means (signed user id and session
version); this module owns the cookie itself and the checks routes make with it.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from kb.auth import SESSION_MAX_AGE, User
from kb.errors import Forbidden, KBError
from kb.web.services import services

SESSION_COOKIE = "kb_session"


class LoginRequired(KBError):
    """Anonymous request for a page that needs an account: the admin routes redirect to the login."""

    status = 401


async def current_user(request: Request) -> User | None:
    """The signed-in user of this request, or None (looked up once per request)."""
    state = request.scope.setdefault("state", {})
    if "kb_user" not in state:
        state["kb_user"] = await services(request).auth.session_user(request.cookies.get(SESSION_COOKIE))
    user: User | None = state["kb_user"]
    return user


async def require_role(request: Request, *roles: str) -> User:
    """The signed-in user if their role is one of `roles` (any role when none are given).

    Anonymous -> LoginRequired (the web layer answers 303 to /admin/login?next=...);
    a role without the right -> Forbidden (403).
    """
    user = await current_user(request)
    if user is None:
        raise LoginRequired("Sign in to continue.")
    if roles and user.role not in roles:
        raise Forbidden("Your role does not allow this page.")
    return user


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/admin/login?next=" + quote(target, safe="/")


def safe_next(value: str | None, default: str = "/admin/") -> str:
    """Only local paths: never another host, scheme, or a protocol-relative //host."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(SESSION_COOKIE, value, max_age=SESSION_MAX_AGE, path="/", httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=request.url.scheme == "https")
