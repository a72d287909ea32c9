"""What the routes receive: the services built by create_app and kept on app.state.kb."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from kb.config import Settings
from kb.errors import BadRequest, NotFound
from kb.content.site import Site
from kb.storage.db import Database
from kb.web.templating import Templates


@dataclass
class Services:
    settings: Settings
    site: Site
    templates: Templates
    db: Database
    # Services of later areas register here by name (search, feedback, policy, auth, ...).
    extra: dict[str, Any] = field(default_factory=dict)


def services(request: Request) -> Services:
    return request.app.state.kb  # type: ignore[no-any-return]


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


def lang_param(request: Request, name: str = "lang") -> str | None:
    """An optional language of the JSON API: one the site has content in (the OpenAPI Lang)."""
    lang = request.query_params.get(name)
    if lang is None:
        return None
    languages = services(request).site.languages
    if lang not in languages:
        raise BadRequest(f"unknown {name} {lang[:20]!r}; one of: {', '.join(languages)}")
    return lang
