"""What the routes receive: the services built by create_app and kept on app.state.kb.

One typed, frozen object with a field per service, so a route reads `services(request).search`
and the type checker knows what it gets; create_app is the only place that builds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from starlette.requests import Request

from kb.analytics.reports import Analytics
from kb.analytics.views import PageViews
from kb.auth import Auth
from kb.config import Settings
from kb.content.model import check_filters
from kb.content.site import Site
from kb.editing.editor import Editor
from kb.errors import BadRequest, NotFound
from kb.feedback import Feedback
from kb.health.service import Health
from kb.policy.live import PolicyService
from kb.search.log import SearchLog
from kb.search.service import SearchService
from kb.storage.db import Database
from kb.tokens import Tokens
from kb.web.templating import Templates

# A page of the admin area: (url, label, roles allowed to see it in the menu).
NavEntry = tuple[str, str, tuple[str, ...]]


@dataclass(frozen=True)
class Services:
    settings: Settings
    site: Site
    templates: Templates
    db: Database
    search: SearchService
    feedback: Feedback
    policy: PolicyService
    auth: Auth
    editor: Editor
    analytics: Analytics
    tokens: Tokens
    views: PageViews
    search_log: SearchLog
    health: Health
    admin_nav: tuple[NavEntry, ...]  # entries other areas add to the admin menu (analytics)


def services(request: Request) -> Services:
    # app.state is untyped; create_app put a Services there and nothing replaces it.
    return cast(Services, request.app.state.kb)


def page_lang(request: Request) -> str:
    """The {lang} of the URL, which must be a language the site has content in."""
    lang = str(request.path_params.get("lang", ""))
    if lang not in services(request).site.languages:
        raise NotFound("no content in this language")
    return lang


def int_param(request: Request, name: str, default: int, *, minimum: int, maximum: int) -> int:
    """A bounded integer query parameter; anything else is a clear 400."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, not {raw[:20]!r}") from None
    if not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be between {minimum} and {maximum}")
    return value


def reject_empty(request: Request, *names: str) -> None:
    """JSON API: a filter or option is left out or given a value; `lang=` with nothing after it
    is a 400, as the OpenAPI document says (no empty string is a language, type, date or number).
    The HTML pages keep reading empty form fields as "any"."""
    for name in names:
        if request.query_params.get(name) == "":
            raise BadRequest(f"{name} must not be empty; leave the parameter out instead")


def lang_param(request: Request) -> str | None:
    """An optional language of the JSON API: one the site has content in (the OpenAPI Lang)."""
    lang = request.query_params.get("lang")
    if lang is not None:
        check_filters((), lang=lang, languages=services(request).site.languages)
    return lang
