"""The analytics pages for product teams: /admin/analytics (analyst, admin), one article's
drill-down and the downloads; and the page-view hook of the article and category pages.
Thin: parse (kb.web.analytics_query), call kb.analytics, render. The JSON API for BI tools is
kb.web.routes.analytics_api."""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from babel import Locale
from babel.numbers import format_decimal, format_percent
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kb import i18n
from kb.analytics.candidates import WINDOW_MINUTES
from kb.analytics.model import Figure, reason_label
from kb.analytics.periods import PERIODS
from kb.auth import EDITING_ROLES
from kb.content.model import ARTICLE_TYPES
from kb.content.site import Site
from kb.content.synonyms import SYNONYMS_FILE, SynonymsRefused, add_equivalent, known_languages
from kb.errors import BadRequest, NotFound, ValidationFailed
from kb.i18n import N_, ui_languages
from kb.web.admin_pages import edit_url, redirect, render, ui_lang
from kb.web.analytics_query import (
    MAX_PAGE,
    Query,
    article_report,
    export_response,
    href,
    parse_query,
)
from kb.web.charts import chart
from kb.web.routes.admin import checked_form
from kb.web.services import int_param, services
from kb.web.sessions import require_role, safe_next

ROLES = ("analyst", "admin")
CANDIDATE_ROLES = ("analyst", *EDITING_ROLES)  # analysts see them; editors and admins act
CANDIDATES_URL = "/admin/analytics/synonyms"
CANDIDATES_PAGE = 100
DASHBOARD_CANDIDATES = 10
PAGE_SIZE = 50
COMMENTS_PAGE = 20
NAV_ENTRY = ("/admin/analytics", N_("Analytics"), ROLES)

FIGURE_LABELS = {
    "views": N_("Views"), "votes": N_("Votes"), "helpful_rate": N_("Helpful rate"),
    "vote_rate": N_("Vote rate (votes per view)"), "comments": N_("Comments"), "searches": N_("Searches"),
    "zero_rate": N_("Zero-result rate"), "click_through": N_("Search click-through"),
}
# For rates and the zero-result rate, down is good news.
LOWER_IS_BETTER = {"zero_rate"}
COLUMNS = [
    ("title", N_("Article")), ("views", N_("Views")), ("yes", N_("Yes")), ("no", N_("No")),
    ("rate", N_("Helpful")), ("bound", N_("Lower bound (95%%)")), ("vote_rate", N_("Vote rate")),
    ("trend", N_("Trend")), ("updated", N_("Last updated")),
]
ATTENTION_LABELS = {"low": N_("Few readers helped"), "falling": N_("Helpful rate falling")}


# --- formatting for templates ------------------------------------------------------------------


class Format:
    """Numbers as the UI language writes them; '–' where there is nothing to show."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        pattern = Locale.parse(lang).percent_formats[None].pattern
        self._pct = re.sub(r"0(?=[^0-9#]*%)", "0.0", pattern, count=1)  # one decimal: 61.5%

    def pct(self, value: float | None) -> str:
        if value is None:
            return "–"
        return str(format_percent(value, self._pct, locale=self.lang))

    def points(self, value: float | None) -> str:
        """A change of a rate, in percentage points, signed."""
        if value is None:
            return "–"
        sign = "+" if value > 0.00005 else ""
        shown = sign + str(format_decimal(value * 100, "#,##0.0", locale=self.lang))
        return i18n.gettext(self.lang, N_("%(points)s pt")) % {"points": shown}

    def change(self, figure: Figure) -> str:
        if figure.change is None:
            return "–"
        if figure.is_rate:
            return self.points(figure.change)
        return ("+" if figure.change > 0 else "") + str(format_percent(figure.change, locale=self.lang))

    def value(self, figure: Figure) -> str:
        if figure.is_rate:
            return self.pct(figure.value)
        return self.number(figure.value)

    def number(self, value: float | None) -> str:
        if value is None:
            return "–"
        return str(format_decimal(value, locale=self.lang))

    @staticmethod
    def direction(figure: Figure) -> str:
        """'good', 'bad' or '' for the colour of a change."""
        if not figure.change or figure.key in {"views", "searches", "votes", "comments"}:
            return ""
        better = figure.change < 0 if figure.key in LOWER_IS_BETTER else figure.change > 0
        return "good" if better else "bad"


# --- dashboard ---------------------------------------------------------------------------------


def _options(site: Site) -> dict[str, Any]:
    langs = sorted({a.lang for a in site.content.articles.values()})
    categories = sorted(((key, " › ".join(c.title("en") for c in site.ancestors(key)))
                         for key in site.content.categories), key=lambda kv: kv[1].casefold())
    return {"languages": langs, "categories": categories, "types": ARTICLE_TYPES, "periods": PERIODS}


async def dashboard(request: Request) -> Response:
    user = await require_role(request, *ROLES)
    query = parse_query(request)
    report = await services(request).analytics.dashboard(
        query.period, query.filters, sort=query.sort, descending=query.descending, interval=query.interval)
    rows, points = report.rows, report.points
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    page = int_param(request, "page", 1, minimum=1, maximum=pages)
    params = query.params()
    view_params = {**params, "interval": query.interval} if request.query_params.get("interval") else params
    sort_params = {**view_params, "sort": query.sort, "dir": "desc" if query.descending else "asc"}
    return render(request, "admin/analytics.html", {
        **_common(request, query, "/admin/analytics"),
        "figures": report.figures,
        "points": points, "chart": chart(points),
        "rows": rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], "row_count": len(rows),
        "page": page, "pages": pages,
        "searches": report.searches,
        "sort_link": lambda column: href("/admin/analytics", view_params, sort=column,
                                         dir=_next_dir(query, column), page=None) + "#articles",
        "page_link": lambda number: href("/admin/analytics", sort_params, page=number) + "#articles",
        "interval_link": lambda interval: href("/admin/analytics", {**sort_params, "interval": interval}),
        "drill_link": lambda row: href(f"/admin/analytics/articles/{row.article_id}",
                                       {**params, "lang": row.lang}),
        "export_link": lambda kind, fmt: href(f"/admin/analytics/export/{kind}", params, format=fmt),
        "new_article_link": lambda q: href("/admin/articles/new", {}, title=q.query, lang=q.lang),
        "can_edit": user.role in EDITING_ROLES,
        "candidates": await services(request).analytics.synonym_candidates(
            query.period, query.filters, limit=DASHBOARD_CANDIDATES),
        "candidates_link": href(CANDIDATES_URL, params), "back_link": href("/admin/analytics", params) + "#candidates",
        "window_minutes": WINDOW_MINUTES,
    }, user=user)


def _next_dir(query: Query, column: str) -> str:
    if query.sort == column:
        return "asc" if query.descending else "desc"
    return "asc" if column in {"title", "bound", "rate"} else "desc"


def _common(request: Request, query: Query, base: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
    links = [(days, href(base, {"period": str(days), **query.filters.query(), **(extra or {})}))
             for days in PERIODS]
    return {
        "period_links": links,
        "query": query, "period": query.period, "previous": query.period.previous(),
        "filters": query.filters, "fmt": Format(ui_lang(request)), "figure_labels": FIGURE_LABELS,
        "columns": COLUMNS, "attention_labels": ATTENTION_LABELS, "reason_label": reason_label,
        **_options(services(request).site),
    }


async def article_page(request: Request) -> Response:
    user = await require_role(request, *ROLES)
    query = parse_query(request)
    report = await article_report(request, query, COMMENTS_PAGE)
    pages = max(1, math.ceil(report.comments_total / COMMENTS_PAGE))
    params = {**query.params(), "lang": report.lang}
    comment_params = {k: v for k, v in request.query_params.items() if k in {"helpful", "reason", "q"} and v}
    base = f"/admin/analytics/articles/{report.article_id}"
    return render(request, "admin/analytics_article.html", {
        **_common(request, query, base, {"lang": report.lang}),
        "report": report, "row": report.row, "chart": chart(report.series), "points": report.series,
        "comment_filter": comment_params, "comment_pages": pages,
        "comment_page": int_param(request, "page", 1, minimum=1, maximum=MAX_PAGE),
        "page_link": lambda number: href(base, {**params, **comment_params}, page=number) + "#comments",
        "base_link": base, "params": params,
        "back_link": href("/admin/analytics", query.params()),
        "edit_link": edit_url(report.article.lang, report.article.slug)
        if report.article is not None and user.role in EDITING_ROLES else None,
        "reasons": [(code, reason_label(code), count) for code, count in report.reasons],
        "reasons_total": sum(count for _, count in report.reasons),
    }, user=user)


async def download(request: Request) -> Response:
    """/admin/analytics/export/{kind}: the dashboard's download links."""
    await require_role(request, *ROLES)
    return export_response(request, parse_query(request), str(request.path_params["kind"]))


# --- synonym candidates (issue 13) -------------------------------------------------------------


async def candidates_page(request: Request) -> Response:
    """Every candidate of the period: analysts read them; editors and admins accept or dismiss."""
    user = await require_role(request, *CANDIDATE_ROLES)
    query = parse_query(request)
    found = await services(request).analytics.synonym_candidates(query.period, query.filters, limit=CANDIDATES_PAGE)
    return render(request, "admin/analytics_candidates.html", {
        **_common(request, query, CANDIDATES_URL), "candidates": found, "can_edit": user.role in EDITING_ROLES,
        "back_link": href(CANDIDATES_URL, query.params()), "dashboard_link": href("/admin/analytics", query.params()),
        "window_minutes": WINDOW_MINUTES, "candidates_url": CANDIDATES_URL,
    }, user=user)


def _candidate_field(form: Any, name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} is required")
    if len(value) > 100:
        raise BadRequest(f"{name} is longer than 100 characters")
    return " ".join(value.split())


def _done(next_url: str, done: str) -> str:
    """`next_url` with the notice of what was done (?done=...), its anchor kept."""
    parts = urlsplit(next_url)
    params = [(k, v) for k, v in parse_qsl(parts.query) if k != "done"] + [("done", done)]
    return parts.path + "?" + urlencode(params) + (f"#{parts.fragment}" if parts.fragment else "")


async def candidate_action(request: Request) -> Response:
    """POST /admin/analytics/synonyms/{accept|dismiss}: accept writes [first, second] as an
    equivalent group of synonyms.yaml (the editor's safe write; with a content remote, a commit);
    dismiss hides the candidate. Back to `next` with a notice."""
    action = str(request.path_params["action"])
    if action not in ("accept", "dismiss"):
        raise NotFound("no such action: accept or dismiss")
    user, form = await checked_form(request, *EDITING_ROLES)
    svc = services(request)
    lang = _candidate_field(form, "lang")
    if lang not in known_languages(svc.site.content_dir, ui_languages()):
        raise BadRequest(f"unknown lang {lang[:20]!r}")
    first, second = _candidate_field(form, "first"), _candidate_field(form, "second")
    raw_next = form.get("next")
    next_url = safe_next(raw_next if isinstance(raw_next, str) else None, CANDIDATES_URL)
    if action == "dismiss":
        await svc.analytics.dismiss_candidate(lang, first, second, user.name)
        return redirect(_done(next_url, "candidate_dismissed"))
    workspace = svc.editor.workspace
    path = svc.site.content_dir / SYNONYMS_FILE
    try:
        async with workspace.lock:
            await workspace.committed(path, lambda: add_equivalent(path, lang, [first, second], lock=workspace.lock_file),
                                      author=user.name, message=f"Synonyms ({lang}): {first} = {second}")
    except SynonymsRefused as exc:
        raise ValidationFailed(f"{SYNONYMS_FILE}: {exc}") from None
    await workspace.reload()
    return redirect(_done(next_url, "candidate_accepted"))


routes = [
    Route(CANDIDATES_URL, candidates_page, name="analytics_candidates"),
    Route(CANDIDATES_URL + "/{action:str}", candidate_action, methods=["POST"], name="analytics_candidate_action"),
    Route("/admin/analytics", dashboard, name="analytics"),
    Route("/admin/analytics/articles/{id}", article_page, name="analytics_article"),
    Route("/admin/analytics/export/{kind}", download, name="analytics_download"),
]
