"""/admin: sign in and out, the article editor, history, and user management. Thin routes over
kb.auth and kb.editing; every form carries a CSRF token bound to the session."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kb.auth import EDITING_ROLES, ROLES, Auth, User
from kb.content.model import ARTICLE_TYPES, LANG_RE, Article
from kb.content.site import article_url
from kb.editing.checks import Checked
from kb.editing.editor import ACTIONS, Editor, pending_stamp, status_of
from kb.editing.forms import STATUSES, ArticleForm, ListFilter
from kb.editing.workspace import Outcome
from kb.errors import BadRequest, Forbidden, KBError, NotFound
from kb.health.model import FLAG_LABELS, ArticleHealth
from kb.i18n import N_
from kb.web.admin_pages import edit_url, redirect, render
from kb.web.security import check_csrf, visitor_id
from kb.web.services import int_param, services
from kb.web.sessions import (
    LoginRequired,
    clear_session_cookie,
    current_user,
    login_url,
    require_role,
    safe_next,
    set_session_cookie,
)

MAX_FORM_BYTES = 2_000_000


def _editor(request: Request) -> Editor:
    return services(request).editor


def _auth(request: Request) -> Auth:
    return services(request).auth


async def read_form(request: Request) -> FormData:
    try:
        length = int(request.headers.get("content-length") or 0)
    except ValueError:
        raise BadRequest("bad Content-Length") from None
    if length > MAX_FORM_BYTES:
        raise BadRequest("the form is too large")
    return await request.form(max_files=0, max_fields=100)


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


async def checked_form(request: Request, *roles: str) -> tuple[User, FormData]:
    """The user (with one of `roles`) and the posted form, after verifying its CSRF token."""
    user = await require_role(request, *roles)
    form = await read_form(request)
    check_csrf(services(request).settings.secret_key, user.csrf_subject, form.get("csrf_token"))
    return user, form


# --- signing in and out ---------------------------------------------------------------------


async def home(request: Request) -> Response:
    user = await require_role(request)
    if user.role in EDITING_ROLES:
        return redirect("/admin/articles")
    return render(request, "admin/home.html", {}, user=user)


async def login(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if await current_user(request) is not None:
            return redirect(next_url)
        return render(request, "admin/login.html", {"next": next_url, "error": "", "name": ""}, user=None)
    form = await read_form(request)
    secret = services(request).settings.secret_key
    check_csrf(secret, visitor_id(request), form.get("csrf_token"))
    next_url = safe_next(_text(form, "next"))
    name, password = _text(form, "name")[:200], _text(form, "password")
    client = request.client.host if request.client else "unknown"
    try:
        user = await _auth(request).authenticate(name, password, client)
    except Forbidden:
        return render(request, "admin/login.html", {
            "next": next_url, "name": name,
            "error": N_("Wrong user name or password, or the account is disabled."),
        }, user=None, status=403)
    response = redirect(next_url)
    set_session_cookie(response, request, _auth(request).session_cookie(user))
    return response


async def logout(request: Request) -> Response:
    user, _ = await checked_form(request)
    await _auth(request).logout(user)
    response = redirect("/admin/login")
    clear_session_cookie(response, request)
    return response


# --- articles -------------------------------------------------------------------------------


async def article_list(request: Request) -> Response:
    user = await require_role(request, *EDITING_ROLES)
    editor = _editor(request)
    params = request.query_params
    wanted = ListFilter(lang=params.get("lang", ""), category=params.get("category", ""),
                        status=params.get("status", ""), type=params.get("type", ""),
                        q=params.get("q", "")).check(editor.site)
    return render(request, "admin/articles.html", {
        "rows": await editor.listing(wanted), "filter": wanted, "deleted": await editor.deleted(),
        "languages": editor.languages(), "categories": _categories(editor), "statuses": STATUSES,
        "types": ARTICLE_TYPES, "content_problems": editor.site.content.problems[:50],
        "health": (await services(request).health.report()).articles, "flag_labels": FLAG_LABELS,
    }, user=user)


def _categories(editor: Editor) -> list[tuple[str, str]]:
    site = editor.site
    return sorted(((key, " › ".join(c.title("en") for c in site.ancestors(key)))
                   for key in site.content.categories), key=lambda kv: kv[1].casefold())


def _form_page(request: Request, user: User, form: ArticleForm, *, article: Article | None = None,
               checked: Checked | None = None, outcome: Outcome | None = None, pending: Any = None,
               status: int = 200, health: ArticleHealth | None = None) -> Response:
    editor = _editor(request)
    state = status_of(article, pending) if article is not None else None
    return render(request, "admin/edit.html", {
        "form": form, "article": article, "checked": checked, "outcome": outcome, "state": state,
        "pending": pending, "categories": _categories(editor), "types": ARTICLE_TYPES,
        "languages": editor.languages(), "live_url": article_url(article) if article is not None else "",
        "translations": _translations(editor, article) if article is not None else [],
        "health": health, "flag_labels": FLAG_LABELS,
    }, user=user, status=status)


def _translations(editor: Editor, article: Article) -> list[tuple[str, Article | None]]:
    group = {a.lang: a for a in editor.site.content.articles.values() if a.id == article.id}
    return [(lang, group.get(lang)) for lang in editor.languages() if lang != article.lang]


async def new_article(request: Request) -> Response:
    editor = _editor(request)
    if request.method == "GET":
        user = await require_role(request, *EDITING_ROLES)
        lang = request.query_params.get("lang") or editor.default_lang
        if not LANG_RE.match(lang):
            raise BadRequest("lang must be a two-letter code")
        category = request.query_params.get("category", "")
        if category and category not in editor.site.content.categories:
            raise BadRequest("unknown category")
        form = editor.new_form(lang=lang, category=category)
        form.title = request.query_params.get("title", "")[:300]
        return _form_page(request, user, form)
    user, posted = await checked_form(request, *EDITING_ROLES)
    form = ArticleForm.from_mapping(posted)
    action = _text(posted, "action")
    if action == "preview":
        return _form_page(request, user, form, checked=editor.preview(form))
    outcome = await editor.create(form, action, user.name)
    return _after_save(request, user, form, outcome, action)


def _after_save(request: Request, user: User, form: ArticleForm, outcome: Outcome, action: str,
                article: Article | None = None, pending: Any = None) -> Response:
    if outcome.kind == "saved":
        return redirect(edit_url(outcome.lang, outcome.slug) + "?" + urlencode({"done": action}))
    if outcome.kind == "conflict" and outcome.current_revision:
        # The form now carries what is on disk: saving again is a deliberate choice after the diff.
        form.base_revision = outcome.current_revision
        if outcome.message == "pending" and article is not None:
            form.base_pending = pending_stamp(pending)
    status = 409 if outcome.kind == "conflict" else 422
    return _form_page(request, user, form, article=article, checked=outcome.checked, outcome=outcome,
                      pending=pending, status=status)


async def edit_article(request: Request) -> Response:
    editor = _editor(request)
    lang, slug = str(request.path_params["lang"]), str(request.path_params["slug"])
    if request.method == "GET":
        user = await require_role(request, *EDITING_ROLES)
        article, form, pending = await editor.open(lang, slug)
        return _form_page(request, user, form, article=article, pending=pending,
                          health=await services(request).health.of(article))
    user, posted = await checked_form(request, *EDITING_ROLES)
    article, _, pending = await editor.open(lang, slug)
    form = ArticleForm.from_mapping(posted)
    form.lang, form.slug = lang, slug
    action = _text(posted, "action")
    if action == "preview":
        return _form_page(request, user, form, article=article, pending=pending,
                          checked=editor.preview(form, article))
    if action not in ACTIONS:
        raise BadRequest("unknown action")
    outcome = await editor.save(lang, slug, form, action, user.name)
    if outcome.kind != "saved":
        _, _, pending = await editor.open(lang, slug)
    return _after_save(request, user, form, outcome, action, article, pending)


async def translate_article(request: Request) -> Response:
    user = await require_role(request, *EDITING_ROLES)
    editor = _editor(request)
    source = editor.article(str(request.path_params["lang"]), str(request.path_params["slug"]))
    target = request.query_params.get("to", "")
    if not LANG_RE.match(target) or target == source.lang:
        raise BadRequest("to must be another two-letter language code")
    existing = next((a for a in editor.site.content.articles.values()
                     if a.id == source.id and a.lang == target), None)
    if existing is not None:
        return redirect(edit_url(existing.lang, existing.slug))
    return _form_page(request, user, editor.new_form(lang=target, translate=source))


async def article_action(request: Request) -> Response:
    """unpublish, delete, discard (the pending draft)."""
    user, posted = await checked_form(request, *EDITING_ROLES)
    editor = _editor(request)
    lang, slug, what = str(request.path_params["lang"]), str(request.path_params["slug"]), \
        str(request.path_params["action"])
    base = _text(posted, "base_revision")
    if what == "unpublish":
        outcome = await editor.unpublish(lang, slug, base, user.name)
    elif what == "delete":
        outcome = await editor.delete(lang, slug, base, user.name)
    elif what == "discard":
        await editor.discard_pending(lang, slug, user.name)
        return redirect(edit_url(lang, slug) + "?done=discard")
    else:
        raise NotFound("not found")
    if outcome.kind == "conflict":
        return render(request, "admin/conflict.html", {"outcome": outcome, "back": edit_url(lang, slug)},
                      user=user, status=409)
    if what == "delete":
        return redirect("/admin/articles?done=delete")
    return redirect(edit_url(lang, slug) + f"?done={what}")


async def preview(request: Request) -> Response:
    """The rendered article with its problems: a fragment for the live preview, else a page."""
    user, posted = await checked_form(request, *EDITING_ROLES)
    editor = _editor(request)
    form = ArticleForm.from_mapping(posted)
    existing = editor.article(form.lang, form.slug) if _text(posted, "existing") == "1" else None
    checked = editor.preview(form, existing)
    if request.headers.get("x-kb-fragment") == "1":
        return render(request, "admin/_preview.html", {"checked": checked, "form": form}, user=user)
    return render(request, "admin/preview.html", {"checked": checked, "form": form}, user=user)


# --- history --------------------------------------------------------------------------------


def _history_key(request: Request) -> tuple[str, int]:
    lang = str(request.path_params["lang"])
    if not LANG_RE.match(lang):
        raise NotFound("article not found")
    article_id = int(request.path_params["id"])
    if not 0 < article_id < 2**62:
        raise NotFound("article not found")
    return lang, article_id


async def history(request: Request) -> Response:
    user = await require_role(request, *EDITING_ROLES)
    lang, article_id = _history_key(request)
    article, revisions = await _editor(request).history.of(lang, article_id)
    return render(request, "admin/history.html", {
        "article": article, "revisions": revisions, "lang": lang, "article_id": article_id,
    }, user=user)


async def diff(request: Request) -> Response:
    user = await require_role(request, *EDITING_ROLES)
    lang, article_id = _history_key(request)
    old_id = int_param(request, "a", 0, minimum=1, maximum=2**62)
    new_id = int_param(request, "b", 0, minimum=1, maximum=2**62)
    if not old_id or not new_id:
        raise BadRequest("choose two revisions (a and b)")
    old, new, lines = await _editor(request).history.diff(lang, article_id, old_id, new_id)
    return render(request, "admin/diff.html", {
        "old": old, "new": new, "lines": lines, "lang": lang, "article_id": article_id,
    }, user=user)


async def restore(request: Request) -> Response:
    user, posted = await checked_form(request, *EDITING_ROLES)
    lang, article_id = _history_key(request)
    try:
        revision_id = int(_text(posted, "revision"))
    except ValueError:
        raise BadRequest("revision must be a revision number") from None
    outcome = await _editor(request).history.restore(lang, article_id, revision_id,
                                                     _text(posted, "base_revision"), user.name)
    if outcome.kind == "conflict":
        return render(request, "admin/conflict.html", {
            "outcome": outcome, "back": f"/admin/history/{lang}/{article_id}"}, user=user, status=409)
    return redirect(edit_url(outcome.lang, outcome.slug) + "?done=restore")


# --- users ----------------------------------------------------------------------------------


async def users_page(request: Request) -> Response:
    user = await require_role(request, "admin")
    return render(request, "admin/users.html", {
        "users": await _auth(request).users(), "roles": ROLES, "error": "",
    }, user=user)


async def add_user(request: Request) -> Response:
    user, posted = await checked_form(request, "admin")
    auth = _auth(request)
    try:
        await auth.add_user(_text(posted, "name"), _text(posted, "password"), _text(posted, "role"))
    except KBError as exc:
        if exc.status >= 500:
            raise
        return render(request, "admin/users.html", {
            "users": await auth.users(), "roles": ROLES, "error": exc.message,
        }, user=user, status=exc.status)
    return redirect("/admin/users?done=user")


async def change_user(request: Request) -> Response:
    user, posted = await checked_form(request, "admin")
    auth = _auth(request)
    name, what = str(request.path_params["name"]), str(request.path_params["action"])
    try:
        if what == "role":
            await auth.set_role(name, _text(posted, "role"))
        elif what in ("disable", "enable"):
            await auth.set_disabled(name, what == "disable")
        else:
            raise NotFound("not found")
    except KBError as exc:
        if exc.status in (400, 409):
            return render(request, "admin/users.html", {
                "users": await auth.users(), "roles": ROLES, "error": exc.message,
            }, user=user, status=exc.status)
        raise
    return redirect("/admin/users?done=user")


# --- errors ---------------------------------------------------------------------------------


async def login_required(request: Request, exc: Exception) -> Response:
    """Anonymous: pages go to the login form (and come back), the API answers 401."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": "authentication required"}, status_code=401)
    return redirect(login_url(request))


exception_handlers = {LoginRequired: login_required}

routes = [
    Route("/admin", home, name="admin"),
    Route("/admin/", home, name="admin_slash"),
    Route("/admin/login", login, methods=["GET", "POST"], name="admin_login"),
    Route("/admin/logout", logout, methods=["POST"], name="admin_logout"),
    Route("/admin/articles", article_list, name="admin_articles"),
    Route("/admin/articles/new", new_article, methods=["GET", "POST"], name="admin_new"),
    Route("/admin/preview", preview, methods=["POST"], name="admin_preview"),
    Route("/admin/articles/{lang}/{slug}", edit_article, methods=["GET", "POST"], name="admin_edit"),
    Route("/admin/articles/{lang}/{slug}/translate", translate_article, name="admin_translate"),
    Route("/admin/articles/{lang}/{slug}/{action}", article_action, methods=["POST"], name="admin_action"),
    Route("/admin/history/{lang}/{id:int}", history, name="admin_history"),
    Route("/admin/history/{lang}/{id:int}/diff", diff, name="admin_diff"),
    Route("/admin/history/{lang}/{id:int}/restore", restore, methods=["POST"], name="admin_restore"),
    Route("/admin/users", users_page, name="admin_users"),
    Route("/admin/users/add", add_user, methods=["POST"], name="admin_add_user"),
    Route("/admin/users/{name}/{action}", change_user, methods=["POST"], name="admin_change_user"),
]
