"""create_app(settings): the Starlette application, its routes, middleware and lifespan."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from kb import i18n
from kb.analytics.reports import Analytics
from kb.analytics.views import PageViews
from kb.auth import Auth
from kb.config import Settings, resource_dir
from kb.content.remote import ContentRemote, DatabaseNotifier, RemoteFollower
from kb.content.site import CONTENT_CACHE_FILE, Site
from kb.content.watch import TreeWatcher
from kb.editing.editor import Editor
from kb.feedback import Feedback
from kb.health.service import Health
from kb.policy.holder import PolicyHolder
from kb.policy.live import PolicyService
from kb.ratelimit import ClickLimits
from kb.search.log import SearchLog
from kb.search.service import SearchService
from kb.storage.db import Database
from kb.tokens import Tokens
from kb.web import errors, openapi, structured
from kb.web.headers import SecurityHeadersMiddleware
from kb.web.routes import admin, analytics_api, api, health, pages, system
from kb.web.routes import analytics as analytics_web
from kb.web.routes import feedback as feedback_web
from kb.web.routes import policy as policy_web
from kb.web.routes import search as search_web
from kb.web.routes import synonyms as synonyms_web
from kb.web.security import VisitorMiddleware, csrf_token
from kb.web.services import Services, services
from kb.web.templating import StaticAssets, Templates
from kb.web.urls import support_link

log = logging.getLogger("kb")

FREEZE_MIN_ARTICLES = 2000  # from here the loaded content is kept out of the collector's passes
TEMPLATES_DIR = resource_dir("templates")
STATIC_DIR = resource_dir("static")


def _request_context(request: Request) -> dict[str, Any]:
    """What every page template may use, beside what its route passes."""
    svc = services(request)
    visitor = getattr(request.state, "visitor", "")
    return {
        "csrf_token": csrf_token(svc.settings.secret_key, visitor),
        "site_languages": svc.site.languages,
        "language_name": i18n.language_name,
        "support_url": svc.settings.support_url,
        "support_link": support_link,  # support_link(support_url, title): "Contact support" about it
    }


class _App(Starlette):
    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's ServerErrorMiddleware, which sends 500 pages past user middleware;
        # AnsweredErrors outermost: a 500 already logged is not handed to the server to log again.
        return errors.AnsweredErrors(SecurityHeadersMiddleware(super().build_middleware_stack()))


def create_app(settings: Settings) -> Starlette:
    policy = PolicyHolder()  # the version served: PolicyService sets it, pages and search read it
    site = Site(settings.content_dir, policy=policy, cache_file=settings.index_dir / CONTENT_CACHE_FILE)
    db = Database(settings.database)
    templates = Templates(TEMPLATES_DIR, StaticAssets(STATIC_DIR),
                          {**feedback_web.TEMPLATE_GLOBALS, **structured.TEMPLATE_GLOBALS}, _request_context)
    # With KB_CONTENT_REMOTE the content folder is a clone; a push is announced to the other nodes
    # through the database (PostgreSQL NOTIFY; on SQLite in this process only: they poll).
    follower = RemoteFollower(ContentRemote(settings.content_dir, settings.content_remote),
                              settings.content_poll_seconds, site.load,
                              DatabaseNotifier(db)) if settings.content_remote else None
    editor = Editor(site, db, settings.data_dir / "editor.lock", settings.default_lang, follower)
    svc = Services(
        settings=settings, site=site, templates=templates, db=db,
        search=SearchService(site, settings.index_dir),
        feedback=Feedback(site, db, rate_limit=settings.vote_rate_limit, show_counts=settings.show_vote_counts),
        policy=PolicyService(settings, site, db, policy),
        auth=Auth(settings, db),
        editor=editor,
        analytics=Analytics(db, site),
        tokens=Tokens(db),
        views=PageViews(db),
        search_log=SearchLog(db, ClickLimits()),
        health=Health(site, db, default_lang=settings.default_lang, review_days=settings.review_days,
                      workspace=editor.workspace),
        admin_nav=(health.NAV_ENTRY, synonyms_web.NAV_ENTRY, analytics_web.NAV_ENTRY),
    )
    api_modules = [api, search_web, feedback_web, policy_web, analytics_api, health]
    routes: list[BaseRoute] = [
        *system.routes(str(STATIC_DIR)),
        *admin.routes,
        *analytics_web.routes,
        *analytics_api.routes,
        *health.routes,
        *synonyms_web.routes,
        openapi.route(analytics_api.with_security_schemes(openapi.build_document(api_modules))),
        *api.routes,
        *feedback_web.routes,
        *policy_web.routes,
        *search_web.routes,
        *pages.routes,
    ]

    watcher = TreeWatcher(settings.content_dir, settings.watch_seconds, site.load)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Start-up order matters: the database and the content first, then services that
        # read them (search index, policy), then watchers. Shutdown runs in reverse.
        if follower is not None:  # the content tree is a clone: clone it or catch up first
            await run_in_threadpool(follower.remote.prepare)
        await db.open()
        await run_in_threadpool(svc.policy.read_file)  # before the first renderings
        gc.disable()  # while the start loads millions of objects, none of them garbage
        try:
            await run_in_threadpool(site.load)
        finally:
            if len(site.content.articles) >= FREEZE_MIN_ARTICLES:
                # What the start loaded stays until the next full reload (then reference counting
                # frees it: articles hold no cycles): the collector's full passes need not walk
                # it (0.27 s CPU at 50,000 articles, a stall for whatever search or edit comes
                # then). Frozen before the collector is back on, or its first pass walks it all
                # (0.3 s of a start at 50,000).
                gc.freeze()
            gc.enable()
        log.info("serving %d articles in %s", len(site.content.articles), ", ".join(site.languages) or "no language")
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(db.close)
            await svc.search.start()
            stack.push_async_callback(svc.search.close)
            await watcher.start()
            stack.push_async_callback(watcher.stop)
            if follower is not None:
                await follower.start()
                stack.push_async_callback(follower.stop)
            await svc.policy.start()
            stack.push_async_callback(svc.policy.stop)
            yield

    app = _App(
        routes=routes,
        middleware=[
            # Before anything reads the Host header: links built from the request can only
            # carry a configured host (KB_ALLOWED_HOSTS); others get 400 "Invalid host header".
            Middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts(), www_redirect=False),
            Middleware(GZipMiddleware, minimum_size=500),
            Middleware(VisitorMiddleware, secret_key=settings.secret_key),
        ],
        exception_handlers={**errors.handlers, **admin.exception_handlers},
        lifespan=lifespan,
    )
    app.state.kb = svc
    app.state.watcher = watcher
    return app


def app_from_environment() -> Starlette:
    """Factory for `uvicorn --factory` (used by `kb serve`, also with --reload)."""
    from kb.config import load_settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return create_app(load_settings())
