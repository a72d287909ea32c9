"""/admin/synonyms: editors and admins edit synonyms.yaml one language at a time, preview what a
query finds before (the saved synonyms) and after (the draft), and save it (compare-and-swap:
a file changed meanwhile is a conflict, shown as a diff). Thin: kb.content.synonyms does the
file, kb.search the searches."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kb.auth import EDITING_ROLES, User
from kb.content.files import FileChanged, file_revision
from kb.content.model import Problem
from kb.content.synonyms import (
    SYNONYMS_FILE,
    known_languages,
    parse_synonyms,
    read_text,
    replace_section,
    save_section,
    section,
)
from kb.editing.workspace import unified_diff
from kb.errors import BadRequest
from kb.i18n import N_, ui_languages
from kb.search.errors import SearchUnavailable
from kb.search.results import SearchResults
from kb.web.admin_pages import redirect, render
from kb.web.routes.admin import checked_form
from kb.web.services import Services, services
from kb.web.sessions import require_role

NAV_ENTRY = ("/admin/synonyms", N_("Synonyms"), EDITING_ROLES)
PREVIEW_LIMIT = 5
MAX_TEXT_CHARS = 100_000
_LINE_RE = re.compile(r"on line (\d+)")


@dataclass(frozen=True)
class Draft:
    """What the form holds and what became of it."""

    lang: str
    text: str
    revision: str  # of the whole file when the form was opened ('' : absent)
    query: str = ""
    problems: tuple[tuple[int | None, str], ...] = ()  # (line in the form, or None: elsewhere)
    conflict: tuple[str, ...] = ()  # the diff, when the file changed meanwhile
    before: SearchResults | None = None
    after: SearchResults | None = None


def _languages(svc: Services) -> list[str]:
    return sorted(known_languages(svc.site.content_dir, ui_languages()))


def _lang(svc: Services, raw: str | None) -> str:
    languages = _languages(svc)
    lang = raw or (svc.settings.default_lang if svc.settings.default_lang in languages else languages[0])
    if lang not in languages:
        raise BadRequest(f"unknown lang {lang[:20]!r}; one of: {', '.join(languages)}")
    return lang


def _path(svc: Services) -> Any:
    return svc.site.content_dir / SYNONYMS_FILE


def _in_form(problems: list[Problem], first: int, lines: int) -> tuple[tuple[int | None, str], ...]:
    """Problems as lines of the form's text (file line `first + 1` is its line 1)."""
    def local(number: int) -> int | None:
        return number - first if 1 <= number - first <= max(lines, 1) else None

    mapped: list[tuple[int | None, str]] = []
    for problem in problems:
        line = local(problem.line)
        if line is None:
            mapped.append((None, str(problem)))
            continue
        # "already in the group on line 12": the other line is one of the form's too
        message = _LINE_RE.sub(lambda m: f"on line {local(int(m[1])) or m[1]}", problem.message)
        mapped.append((line, message))
    return tuple(mapped)


def _page(request: Request, user: User, draft: Draft, *, status: int = 200) -> Response:
    svc = services(request)
    on_disk = read_text(_path(svc)) or ""
    _, file_problems = parse_synonyms(on_disk, str(_path(svc)), known_languages(svc.site.content_dir, ui_languages()))
    return render(request, "admin/synonyms.html", {
        "draft": draft, "languages": _languages(svc), "file_name": SYNONYMS_FILE,
        "file_problems": [p for p in file_problems if not draft.problems], "lines": draft.text.count("\n") + 1,
    }, user=user, status=status)


async def synonyms_page(request: Request) -> Response:
    if request.method == "POST":
        return await synonyms_post(request)
    user = await require_role(request, *EDITING_ROLES)
    svc = services(request)
    lang = _lang(svc, request.query_params.get("lang"))
    text = await asyncio.to_thread(read_text, _path(svc))
    revision = file_revision(text.encode("utf-8")) if text is not None else ""
    return _page(request, user, Draft(lang, section(text or "", lang).text, revision))


def _field(form: Any, name: str, limit: int) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be text")
    if len(value) > limit:
        raise BadRequest(f"{name} is longer than {limit} characters")
    return value


async def _preview(svc: Services, draft: Draft, changed: str) -> Draft:
    languages = known_languages(svc.site.content_dir, ui_languages())
    synonyms, _ = parse_synonyms(changed, SYNONYMS_FILE, languages)
    if not draft.query.strip():
        return draft
    try:
        before = await svc.search.search(draft.lang, draft.query, limit=PREVIEW_LIMIT,
                                         synonyms=svc.site.content.synonyms.of(draft.lang))
        after = await svc.search.search(draft.lang, draft.query, limit=PREVIEW_LIMIT,
                                        synonyms=synonyms.of(draft.lang))
    except SearchUnavailable:
        return draft
    return replace(draft, before=before, after=after)


async def synonyms_post(request: Request) -> Response:
    user, form = await checked_form(request, *EDITING_ROLES)
    svc = services(request)
    lang = _lang(svc, _field(form, "lang", 20))
    text = _field(form, "text", MAX_TEXT_CHARS).replace("\r\n", "\n")
    revision = _field(form, "revision", 64)
    draft = Draft(lang, text, revision, _field(form, "q", 500))
    path = _path(svc)
    languages = known_languages(svc.site.content_dir, ui_languages())
    if form.get("action") != "save":
        on_disk = await asyncio.to_thread(read_text, path)
        changed, first = replace_section(on_disk or "", lang, text)
        _, problems = parse_synonyms(changed, str(path), languages)
        draft = replace(draft, problems=_in_form(problems, first, text.count("\n") + 1))
        return _page(request, user, await _preview(svc, draft, changed))
    workspace = svc.editor.workspace
    try:
        async with workspace.lock:
            # With KB_CONTENT_REMOTE the save is also a commit by the editor, pushed (Workspace.committed).
            changed, problems, first = await workspace.committed(
                path, lambda: save_section(path, lang, text, revision or None, lock=workspace.lock_file,
                                           languages=languages), author=user.name, message=f"Synonyms ({lang})")
    except FileChanged as exc:
        current = exc.current or ""
        diff = unified_diff(section(current, lang).text, text, "on disk now", "your version")
        conflict = Draft(lang, text, file_revision(current.encode("utf-8")) if exc.current is not None else "",
                         draft.query, conflict=diff or ("(only other languages changed)",))
        return _page(request, user, conflict, status=409)
    if problems:
        invalid = replace(draft, problems=_in_form(problems, first, text.count("\n") + 1))
        return _page(request, user, await _preview(svc, invalid, changed), status=422)
    await workspace.reload()
    return redirect("/admin/synonyms?" + urlencode({"lang": lang, "done": "synonyms"}))


routes = [
    Route("/admin/synonyms", synonyms_page, methods=["GET", "POST"], name="admin_synonyms"),
]
