"""The JSON API under /api/v1/ and its OpenAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient


def test_list_articles_filters_and_paginates(sample_client: TestClient) -> None:
    body = sample_client.get("/api/v1/articles?lang=en&type=faq").json()
    assert body["total"] == 4
    assert set(body["results"][0]) == {"id", "lang", "slug", "title", "summary", "category", "type", "url", "updated"}
    page = sample_client.get("/api/v1/articles?lang=en&limit=3&offset=5").json()
    assert page["total"] == 7 and len(page["results"]) == 2  # the two editors' guides are internal
    cat = sample_client.get("/api/v1/articles?category=support-codes&lang=pt").json()
    assert {r["category"] for r in cat["results"]} == {"support-codes"} and cat["total"] == 2


def test_list_articles_refuses_bad_parameters_with_json_errors(sample_client: TestClient) -> None:
    for query in ("limit=0", "limit=abc", "limit=1000000000", "offset=-1", "lang=xx", "type=podcast", "category=zzz"):
        response = sample_client.get(f"/api/v1/articles?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]


def test_get_one_article_with_html_and_translations(sample_client: TestClient) -> None:
    body = sample_client.get("/api/v1/articles/en/support-code-and-vip-code").json()
    assert body["id"] == 3 and body["url"] == "/en/articles/support-code-and-vip-code"
    assert "<p>" in body["html"]
    assert {t["lang"] for t in body["translations"]} == {"pt", "fr", "de", "it", "es"}


def test_unknown_article_is_a_json_404(sample_client: TestClient) -> None:
    response = sample_client.get("/api/v1/articles/en/nope")
    assert response.status_code == 404 and response.json() == {"error": "article not found"}
    assert sample_client.get("/api/v1/nothing").json() == {"error": "not found"}


def test_openapi_documents_every_api_route(sample_client: TestClient, tmp_path: Path) -> None:
    document = sample_client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    documented = set(document["paths"])
    app = sample_client.app
    routes = {r.path for r in app.routes if isinstance(r, Route) and r.path.startswith("/api/v1/")}
    routes.discard("/api/v1/openapi.json")
    assert routes and routes <= documented


# --- the document and the answers agree (issue 10, item 8) ------------------------------------


def _token(client: TestClient) -> dict[str, str]:
    tokens = client.app.state.kb.tokens  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {client.portal.call(tokens.create, 'api-tests')}"}  # type: ignore[union-attr]


def _operation(document: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    return document["paths"][path][method]  # type: ignore[no-any-return]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_a_405_lists_every_method_the_path_answers(client: TestClient, method: str) -> None:
    response = client.request(method, "/api/v1/articles/en/support-code-and-vip-code/votes")
    assert response.status_code == 405 and response.json()["error"]
    assert {m.strip() for m in response.headers["allow"].split(",")} >= {"GET", "POST"}
    # ...and both really work there.
    assert client.get("/api/v1/articles/en/support-code-and-vip-code/votes").status_code == 200
    assert client.post("/api/v1/articles/en/support-code-and-vip-code/votes", json={"helpful": True}).status_code == 201


def test_every_404_of_the_analytics_api_is_documented(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    auth = _token(client)
    for url, path in [("/api/v1/analytics/articles/999999", "/api/v1/analytics/articles/{id}"),
                      ("/api/v1/analytics/articles/-1", "/api/v1/analytics/articles/{id}"),
                      ("/api/v1/analytics/export/nope", "/api/v1/analytics/export/{kind}")]:
        response = client.get(url, headers=auth)
        assert response.status_code == 404 and response.json()["error"], url
        assert "404" in _operation(document, path)["responses"], path


EMPTY_PARAMETERS = [
    "/api/v1/articles?lang=", "/api/v1/articles?type=", "/api/v1/articles?category=", "/api/v1/articles?limit=",
    "/api/v1/search?q=vip&lang=", "/api/v1/search?q=vip&type=", "/api/v1/search?q=vip&offset=",
    "/api/v1/suggest?q=vi&lang=", "/api/v1/policies?lang=", "/api/v1/policies/premium.cost?lang=",
    "/api/v1/analytics/summary?until=", "/api/v1/analytics/summary?period=custom&since=",
    "/api/v1/analytics/articles?type=", "/api/v1/analytics/articles?lang=", "/api/v1/analytics/timeseries?interval=",
    "/api/v1/analytics/export/votes?format=",
]


@pytest.mark.parametrize("url", EMPTY_PARAMETERS)
def test_an_empty_api_parameter_is_a_clear_400(client: TestClient, url: str) -> None:
    name = url.rsplit("&", 1)[-1].rsplit("?", 1)[-1].rstrip("=")
    response = client.get(url, headers=_token(client) if "/analytics/" in url else {})
    assert response.status_code == 400, url
    assert response.json() == {"error": f"{name} must not be empty; leave the parameter out instead"}


def test_the_search_page_still_reads_empty_form_fields_as_any(sample_client: TestClient) -> None:
    # The page's filter form sends every field, empty ones too: only the JSON API is strict.
    assert sample_client.get("/en/search?q=vip&category=&type=").status_code == 200


def test_q_is_documented_as_cut_and_is_cut(sample_client: TestClient) -> None:
    document = sample_client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/search", "/api/v1/suggest"):
        (q,) = [p for p in _operation(document, path)["parameters"] if p["name"] == "q"]
        # maxLength would promise a 400 for a longer q; the API reads the first 500 characters.
        assert "maxLength" not in q["schema"] and "first 500 characters" in q["description"]
        response = sample_client.get(path, params={"q": "vip " * 300, "lang": "en"})
        assert response.status_code == 200 and len(response.json()["query"]) <= 500, path


LANG_URLS = ["/api/v1/articles?lang={}", "/api/v1/search?q=vip&lang={}", "/api/v1/suggest?q=vi&lang={}",
             "/api/v1/policies?lang={}", "/api/v1/policies/premium.cost?lang={}", "/api/v1/analytics/summary?lang={}"]


@pytest.mark.parametrize("url", LANG_URLS)
def test_an_unknown_lang_is_the_same_400_on_every_api(client: TestClient, url: str) -> None:
    auth = _token(client) if "/analytics/" in url else {}
    unknown = client.get(url.format("zz"), headers=auth)
    assert unknown.status_code == 400, unknown.text
    assert unknown.json()["error"].startswith("unknown lang 'zz'")
    assert client.get(url.format("pt"), headers=auth).status_code == 200


def test_the_document_lists_the_sites_languages_and_categories(sample_client: TestClient) -> None:
    document = sample_client.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert schemas["Lang"]["enum"] == ["de", "en", "es", "fr", "it", "pt"]
    site = sample_client.app.state.kb.site  # type: ignore[attr-defined]
    assert schemas["Category"]["enum"] == sorted(site.content.categories)
    lang_params = [p for path in document["paths"].values() for op in path.values()
                   for p in op.get("parameters", []) if p["name"] == "lang"]
    assert lang_params and all(p["schema"] == {"$ref": "#/components/schemas/Lang"} for p in lang_params)
