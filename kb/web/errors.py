"""One place turns exceptions into answers: JSON under /api/, a page in the visitor's language elsewhere."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kb import i18n
from kb.errors import KBError
from kb.i18n import N_
from kb.storage.db import DatabaseUnavailable
from kb.web.services import services

log = logging.getLogger("kb.web")

_TITLES = {
    400: N_("The request could not be understood"),
    403: N_("You are not allowed to do this"),
    404: N_("Page not found"),
    405: N_("This method is not allowed here"),
    409: N_("This change conflicts with another one"),
    413: N_("The request is too large"),
    415: N_("Unsupported content type"),
    422: N_("Some fields are not valid"),
    429: N_("Too many requests"),
    500: N_("Something went wrong on our side"),
    503: N_("We cannot save this right now"),
}

# Reasons raised as fixed English text (NotFound("article not found") ...), marked here so the
# catalogs hold them: a page shows them in its language, the JSON API keeps the English.
# A reason with variable parts (a name, a number) has no entry and is shown as raised.
_REASONS = (
    N_("article not found"), N_("category not found"), N_("file not found"), N_("not found"),
    N_("revision not found"), N_("no content in this language"), N_("no policy data is loaded"),
    N_("the database is busy; try again in a moment"),
    N_("the database cannot save anything now; try again later"),
    N_("The form has expired or did not come from this site. Reload the page and try again."),
)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_lang(request: Request) -> str:
    first = request.url.path.strip("/").split("/")[0]
    if first in services(request).site.languages:
        return first
    return i18n.negotiate(request.headers.get("accept-language"), i18n.ui_languages(), "en")


def _respond(request: Request, status: int, message: str, details: object = None,
             headers: dict[str, str] | None = None) -> Response:
    if _wants_json(request):
        body: dict[str, object] = {"error": message}
        if details:
            body["details"] = details
        return JSONResponse(body, status_code=status, headers=headers)
    svc = services(request)
    lang = _error_lang(request)
    title = i18n.gettext(lang, _TITLES.get(status, _TITLES[500]))
    if message:  # gettext("") is the catalog's header
        message = i18n.gettext(lang, message)  # unchanged when the catalog does not hold it
    try:
        body_html = svc.templates.render_string(lang, "error.html", {
            "request": request, "lang": lang, "status": status, "title": title,
            "message": message if status != 500 else "", "details": details,
            **svc.templates.request_context(request),
        })
    except Exception:  # the error page itself must never fail
        log.exception("error page failed to render")
        return PlainTextResponse(title, status_code=status, headers=headers)
    return Response(body_html, status_code=status, media_type="text/html; charset=utf-8", headers=headers)


async def kb_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KBError)
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    if isinstance(exc, DatabaseUnavailable):  # already logged, once per failed batch, by the writer
        return _respond(request, exc.status, exc.message, headers=headers)
    if exc.status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
        return _respond(request, 500, "internal error")
    return _respond(request, exc.status, exc.message, exc.details, headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if exc.status_code != 404 else "not found"
    return _respond(request, exc.status_code, str(message), headers=dict(exc.headers or {}) or None)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    request.scope[_ANSWERED] = exc
    return _respond(request, 500, "internal error")


_ANSWERED = "kb.answered_error"


class AnsweredErrors:
    """Outside every other layer: stops an unexpected exception that `server_error` has logged
    and answered. Starlette's ServerErrorMiddleware raises it again after the 500 "so servers can
    log it", and uvicorn would log the same traceback a second time. An exception it did not
    answer (raised after the response started, or outside HTTP) goes on to the server, which logs
    it once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            if scope.get(_ANSWERED) is not exc:
                raise


handlers = {KBError: kb_error, HTTPException: http_error, Exception: server_error}
