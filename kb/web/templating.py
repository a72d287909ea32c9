"""Jinja2 environments (one per UI language, gettext installed), hashed static URLs, ETags."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2
from jinja2.bccache import Bucket
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from kb import i18n

STATIC_CACHE = "public, max-age=31536000, immutable"


class StaticAssets:
    """Content hashes of files in static/, so URLs change when files do (cached for a year)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._hashes: dict[str, str] = {}

    def url(self, name: str) -> str:
        digest = self._hashes.get(name)
        if digest is None:
            path = self.root / name
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else "missing"
            self._hashes[name] = digest
        return f"/static/{name}?v={digest}"


class CompiledTemplates(jinja2.BytecodeCache):
    """Each template's compiled code, kept for the process and shared by every environment
    (one per UI language and app): a template is compiled once, not once per language and app
    (a test session builds hundreds of apps in one process). Keyed by the template's file and
    checked against its source, so an edited template is compiled again."""

    def __init__(self) -> None:
        self._code: dict[str, tuple[str, CodeType]] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        found = self._code.get(bucket.key)
        if found is not None and found[0] == bucket.checksum:
            bucket.code = found[1]

    def dump_bytecode(self, bucket: Bucket) -> None:
        if bucket.code is not None:
            self._code[bucket.key] = (bucket.checksum, bucket.code)


# Every environment Templates makes has the same options, which compiled code depends on.
COMPILED = CompiledTemplates()


class Templates:
    def __init__(self, directory: Path, assets: StaticAssets, globals_: Mapping[str, Any],
                 request_context: Callable[[Request], Mapping[str, Any]]) -> None:
        self.directory = directory
        self.assets = assets
        self.globals = dict(globals_)
        self.request_context = request_context
        self._envs: dict[str, jinja2.Environment] = {}

    def env(self, lang: str) -> jinja2.Environment:
        ui_lang = lang if lang in i18n.ui_languages() else "en"
        env = self._envs.get(ui_lang)
        if env is None:
            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(self.directory),
                autoescape=True,  # every template, whatever its extension
                extensions=["jinja2.ext.i18n"],
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                bytecode_cache=COMPILED,
            )
            # Added to the environment at run time by the i18n extension, unknown to jinja2's types.
            env.install_gettext_translations(i18n.translations(ui_lang), newstyle=True)  # type: ignore[attr-defined]
            env.globals.update(self.globals)
            env.globals["static_url"] = self.assets.url
            env.globals["ui_lang"] = ui_lang
            env.filters["date"] = lambda value: i18n.format_day(value, ui_lang)
            env.filters["number"] = lambda value: i18n.format_number(value, ui_lang)
            self._envs[ui_lang] = env
        return env

    def render_string(self, lang: str, name: str, context: Mapping[str, Any]) -> str:
        return self.env(lang).get_template(name).render(context)

    def response(self, request: Request, lang: str, name: str, context: Mapping[str, Any],
                 *, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        """Render a page; answer 304 when the browser already has this exact body."""
        full = {"request": request, "lang": lang, **self.request_context(request), **context}
        body = self.render_string(lang, name, full).encode("utf-8")
        return page_response(request, body, status=status, headers=headers)


def page_response(request: Request, body: bytes, *, status: int = 200,
                  headers: Mapping[str, str] | None = None,
                  media_type: str = "text/html; charset=utf-8") -> Response:
    etag = '"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
    all_headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding, Cookie"}
    all_headers.update(headers or {})
    if status == 200 and etag_matches(request, etag):
        return Response(status_code=304, headers=all_headers)
    return HTMLResponse(body, status_code=status, headers=all_headers, media_type=media_type)


def etag_matches(request: Request, etag: str) -> bool:
    """True when If-None-Match names `etag`: the client already has this version (answer 304).
    A weak validator (W/"...") matches too, as RFC 9110 asks for If-None-Match."""
    header = request.headers.get("if-none-match", "")
    return etag in {part.strip().removeprefix("W/") for part in header.split(",") if part.strip()}
