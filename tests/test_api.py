"""The JSON API under /api/v1/ and its OpenAPI document."""

from __future__ import annotations

from starlette.routing import Route


def test_list_articles_filters_and_paginates(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/articles?lang=en&type=faq").json()
    assert body["total"] == 4
    assert set(body["results"][0]) == {"id", "lang", "slug", "title", "summary", "category", "type", "url", "updated"}
    page = client.get("/api/v1/articles?lang=en&limit=3&offset=7").json()
    assert page["total"] == 9 and len(page["results"]) == 2
    cat = client.get("/api/v1/articles?category=support-codes&lang=pt").json()
    assert {r["category"] for r in cat["results"]} == {"support-codes"} and cat["total"] == 2


def test_list_articles_refuses_bad_parameters_with_json_errors(client) -> None:  # type: ignore[no-untyped-def]
    for query in ("limit=0", "limit=abc", "limit=1000000000", "offset=-1", "lang=xx", "type=podcast", "category=zzz"):
        response = client.get(f"/api/v1/articles?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]


def test_get_one_article_with_html_and_translations(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/articles/en/support-code-and-vip-code").json()
    assert body["id"] == 3 and body["url"] == "/en/articles/support-code-and-vip-code"
    assert "<p>" in body["html"]
    assert {t["lang"] for t in body["translations"]} == {"pt", "fr"}


def test_unknown_article_is_a_json_404(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/articles/en/nope")
    assert response.status_code == 404 and response.json() == {"error": "article not found"}
    assert client.get("/api/v1/nothing").json() == {"error": "not found"}


def test_openapi_documents_every_api_route(client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    documented = set(document["paths"])
    app = client.app
    routes = {r.path for r in app.routes if isinstance(r, Route) and r.path.startswith("/api/v1/")}
    routes.discard("/api/v1/openapi.json")
    assert routes and routes <= documented
