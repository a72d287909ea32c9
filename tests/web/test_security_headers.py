"""Every response carries the security headers; the admin area keeps its stricter, uncached ones."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from kb.config import PROJECT_ROOT
from kb.web.app import create_app
from tests.admin_support import signed_in
from tests.conftest import settings_for

PUBLIC_CSP_PARTS = ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
                    "frame-ancestors 'none'")


def _csp(response: httpx.Response) -> dict[str, str]:
    policy = response.headers.get("content-security-policy", "")
    return {d.split(" ", 1)[0]: d.strip() for d in (part.strip() for part in policy.split(";")) if d}


def assert_secured(response: httpx.Response) -> None:
    csp = _csp(response)
    assert csp.get("frame-ancestors") == "frame-ancestors 'none'", response.headers
    # No directive that lets inline or injected code run, whatever the route chose.
    assert "unsafe-inline" not in csp.get("script-src", csp.get("default-src", "")), csp
    assert "unsafe-eval" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] in {"same-origin", "strict-origin-when-cross-origin", "no-referrer"}
    assert response.headers["x-frame-options"] == "DENY"


def assert_admin(response: httpx.Response) -> None:
    assert_secured(response)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "same-origin"
    policy = response.headers["content-security-policy"]
    assert all(part in policy for part in PUBLIC_CSP_PARTS), policy
    assert "form-action 'self'" in policy and "base-uri 'none'" in policy


def static_url(html: str) -> str:
    match = re.search(r'"(/static/css/kb\.css\?v=[0-9a-f]{12})"', html)
    assert match, "no hashed stylesheet on the page"
    return match.group(1)


@pytest.mark.parametrize("path", [
    "/en/",
    "/fr/articles/code-support-et-code-vip",
    "/en/search?q=code",
    "/en/feed.xml",
    "/sitemap.xml",
    "/robots.txt",
    "/healthz",
    "/api/v1/search?q=code&lang=en",
    "/api/v1/openapi.json",
    "/api/v1/articles/en/support-code-and-vip-code/votes",
    "/en/no-such-category/",
    "/en/articles/no-such-article",
    "/api/v1/articles/en/no-such-article/votes",
    "/no/such/page",
    "/",
])
def test_public_answers_of_every_kind_carry_the_headers(sample_client: TestClient, path: str) -> None:
    response = sample_client.get(path)
    assert response.status_code in {200, 302, 404}, (path, response.status_code)
    assert_secured(response)
    if path.startswith("/api/"):
        assert _csp(response)["default-src"] == "default-src 'none'"
    else:
        assert all(part in response.headers["content-security-policy"] for part in PUBLIC_CSP_PARTS)


def test_a_vote_and_a_refused_vote_carry_the_headers(client: TestClient) -> None:
    url = "/api/v1/articles/en/support-code-and-vip-code/votes"
    assert_secured(client.post(url, json={"helpful": True}))
    refused = client.post(url, content=b"helpful", headers={"content-type": "text/plain"})
    assert refused.status_code == 415
    assert_secured(refused)


def test_hashed_static_files_carry_the_headers(sample_client: TestClient) -> None:
    asset = sample_client.get(static_url(sample_client.get("/en/").text))
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert_secured(asset)
    assert_secured(sample_client.get("/static/css/no-such-file.css"))


def test_a_route_with_its_own_stricter_policy_keeps_it(sample_tree: Path, make_client: Any) -> None:
    (sample_tree / "en" / "diagram.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    media = make_client(sample_tree).get("/content/en/diagram.svg")
    assert media.status_code == 200
    assert _csp(media)["default-src"] == "default-src 'none'"
    assert_secured(media)


def test_a_500_page_carries_the_headers(tmp_path: Path, sample_tree: Path) -> None:
    app = create_app(settings_for(tmp_path, sample_tree))

    def explode(article: object) -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        app.state.kb.site.rendered = explode
        page = client.get("/en/articles/support-code-and-vip-code")
        assert page.status_code == 500
        assert_secured(page)


@pytest.mark.parametrize("path", ["/admin/login", "/admin/articles", "/admin/no-such-page"])
def test_the_admin_keeps_its_policy_signed_out(sample_client: TestClient, path: str) -> None:
    response = sample_client.get(path)
    assert response.status_code in {200, 303, 404}
    assert_admin(response)


def test_admin_pages_and_their_errors_keep_the_policy_and_are_never_cached(client: TestClient) -> None:
    signed_in(client, "ann", "analyst")
    forbidden = client.get("/admin/users")
    assert forbidden.status_code == 403
    assert_admin(forbidden)
    signed_in(client, "eve", "editor")
    page = client.get("/admin/articles")
    assert page.status_code == 200
    assert_admin(page)
    missing = client.get("/admin/articles/en/no-such-article")
    assert missing.status_code == 404
    assert_admin(missing)
    failed_login = client.post("/admin/login", data={"csrf_token": "forged", "name": "eve", "password": "x"})
    assert failed_login.status_code in {400, 403}
    assert_admin(failed_login)


INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*application/ld\+json)[^>]*>"  # inline script (JSON-LD is data)
    r"|<style\b"                                                    # style element
    r"|<[a-zA-Z][^>]*\s(?:on[a-z]+|style)\s*=",                      # event handler or style attribute
    re.IGNORECASE)


def test_no_template_has_inline_script_style_or_event_handler() -> None:
    """The policy forbids inline code, so a template that relied on it would silently break."""
    offenders = [f"{path.relative_to(PROJECT_ROOT)}: {match.group(0)[:60]}"
                 for path in sorted((PROJECT_ROOT / "templates").rglob("*.html"))
                 for match in INLINE.finditer(path.read_text(encoding="utf-8"))]
    assert not offenders, offenders
    assert INLINE.search('<button onclick="x()">') and INLINE.search("<script>alert(1)</script>")
    assert not INLINE.search('<script src="/static/js/kb.js" defer></script>')


def test_rendered_pages_need_no_inline_code(make_client: Any, tree: Any) -> None:
    """Article Markdown never produces what the policy would block: table alignment is a class."""
    tree.add("en", "aligned", body="| item | price |\n|:--|--:|\n| tea | 2 |\n\n| centred |\n|:-:|\n| x |\n")
    client = make_client(tree.root)
    page = client.get("/en/articles/aligned").text
    assert '<td class="align-right">2</td>' in page and '<th class="align-center">centred</th>' in page
    assert not INLINE.search(page), INLINE.search(page)


def test_the_sample_pages_need_no_inline_code(sample_client: TestClient) -> None:
    site = sample_client.app.state.kb.site  # type: ignore[attr-defined]
    paths = ["/en/", "/fr/", *(f"/{a.lang}/articles/{a.slug}" for a in site.published())]
    for path in paths:
        page = sample_client.get(path)
        assert page.status_code == 200, path
        assert not INLINE.search(page.text), (path, INLINE.search(page.text))
