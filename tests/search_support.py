"""What search tests share: asking the real app's search API."""

from __future__ import annotations

from typing import Any


def search(client: Any, q: str, lang: str = "en", **params: Any) -> dict[str, Any]:
    """GET /api/v1/search; the JSON body of a 200 answer."""
    response = client.get("/api/v1/search", params={"q": q, "lang": lang, **params})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def slugs(client: Any, q: str, lang: str = "en") -> list[str]:
    """The slugs of the first page of results, best first."""
    return [r["slug"] for r in search(client, q, lang)["results"]]
