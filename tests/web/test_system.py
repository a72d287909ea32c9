"""Health, sitemap, robots and feeds."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from starlette.testclient import TestClient


def test_healthz_reports_status_and_article_count(sample_client: TestClient) -> None:
    body = sample_client.get("/healthz").json()
    assert body["status"] == "ok" and body["articles"] == 39  # public ones: 6 guides are internal; all but the video in de/it/es too


def test_sitemap_lists_every_published_article_with_alternates(sample_client: TestClient) -> None:
    response = sample_client.get("/sitemap.xml")
    root = ET.fromstring(response.content)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    locs = [loc.text for loc in root.findall("s:url/s:loc", ns)]
    assert "http://testserver/pt/articles/codigo-de-suporte-e-codigo-vip" in locs
    assert sum("/articles/" in loc for loc in locs) == 39  # the 6 editors' guides are internal
    # each version links to every version: six articles in six languages, the video in three
    assert len(root.findall("s:url/x:link", ns)) == 36 * 6 + 3 * 3


def test_robots_points_to_the_sitemap_and_hides_admin(sample_client: TestClient) -> None:
    text = sample_client.get("/robots.txt").text
    assert "Sitemap: http://testserver/sitemap.xml" in text and "Disallow: /admin/" in text


def test_atom_feed_lists_recent_articles_of_one_language(sample_client: TestClient) -> None:
    root = ET.fromstring(sample_client.get("/fr/feed.xml").content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == 7  # the 2 editors' guides are internal
    assert all("/fr/articles/" in e.find("a:link", ns).get("href") for e in entries)
    assert root.find("a:title", ns).text == "Base de connaissances"
