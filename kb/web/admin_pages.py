"""The frame of every /admin page, shared by the admin and analytics routes: the menu, the
labels the admin templates translate, the interface language, and the private headers.

Admin pages are in the reader's interface language (Accept-Language), not in a content
language: the people who edit and analyse are not the site's readers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kb import i18n
from kb.auth import EDITING_ROLES, User
from kb.i18n import N_
from kb.web.headers import ADMIN_HEADERS
from kb.web.security import csrf_token, visitor_id
from kb.web.services import NavEntry, services

# Pages of the admin area: (url, label, roles allowed). Other areas add theirs (Services.admin_nav).
NAV: list[NavEntry] = [
    ("/admin/articles", N_("Articles"), EDITING_ROLES),
    ("/admin/articles/new", N_("New article"), EDITING_ROLES),
    ("/admin/users", N_("Users"), ("admin",)),
]
NOTICES = {
    "draft": N_("Draft saved."),
    "review": N_("Submitted for review."),
    "publish": N_("Published: the change is live."),
    "unpublish": N_("Unpublished: readers no longer see this article."),
    "delete": N_("Article deleted. You can restore it from the list of deleted articles."),
    "restore": N_("Revision restored."),
    "discard": N_("Pending draft discarded."),
    "user": N_("User saved."),
    "reviewed": N_("Marked reviewed: its review flags are cleared."),
    "synonyms": N_("Synonyms saved: the next searches use them."),
    "candidate_accepted": N_("Added to the synonyms: the next searches use it."),
    "candidate_dismissed": N_("Candidate dismissed: it is no longer listed."),
}
STATUS_LABELS = {
    "draft": N_("Draft"), "review": N_("In review"), "pending": N_("Published, with a pending draft"),
    "published": N_("Published"),
}
ACTION_LABELS = {
    "create": N_("Created"), "save": N_("Saved"), "draft": N_("Draft saved"), "review": N_("Submitted for review"),
    "publish": N_("Published"), "unpublish": N_("Unpublished"), "delete": N_("Deleted"), "restore": N_("Restored"),
    "external": N_("Changed outside the editor"), "reviewed": N_("Marked reviewed"),
}
ROLE_LABELS = {"admin": N_("Administrator"), "editor": N_("Editor"), "analyst": N_("Analyst")}


def ui_lang(request: Request) -> str:
    """The interface language of the admin pages, negotiated from Accept-Language."""
    return i18n.negotiate(request.headers.get("accept-language"), i18n.ui_languages(), "en")


def render(request: Request, name: str, context: dict[str, Any], *, user: User | None,
           status: int = 200) -> Response:
    """An admin page: the template with the menu `user` may see, a CSRF token for its forms
    and the notice of the action just done (?done=...), sent with the private ADMIN_HEADERS."""
    svc = services(request)
    secret = svc.settings.secret_key
    subject = user.csrf_subject if user else visitor_id(request)
    nav = [(url, label) for url, label, roles in [*NAV, *svc.admin_nav]
           if user is not None and user.role in roles]
    return svc.templates.response(request, ui_lang(request), name, {
        "user": user, "csrf_token": csrf_token(secret, subject), "nav": nav, "current_path": request.url.path,
        "status_labels": STATUS_LABELS, "role_labels": ROLE_LABELS, "action_labels": ACTION_LABELS,
        "notices": NOTICES, "notice": request.query_params.get("done", ""), **context,
    }, status=status, headers=ADMIN_HEADERS)


def redirect(url: str) -> Response:
    """See other (after a form post), never cached."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def edit_url(lang: str, slug: str) -> str:
    return f"/admin/articles/{lang}/{quote(slug)}"
