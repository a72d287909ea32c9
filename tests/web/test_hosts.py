"""Only configured hosts are answered, and links the site builds never carry a forged Host."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from kb.config import load_settings
from kb.errors import ConfigError
from tests.web.test_security_headers import assert_secured

EVIL = "evil.example"
BASE = "https://help.example.com/kb"
LINKED = ["/sitemap.xml", "/robots.txt", "/en/feed.xml", "/en/", "/en/articles/support-code-and-vip-code",
          "/en/support-codes/"]


def links(text: str) -> list[str]:
    """Every absolute URL of a body: loc, href, content, JSON-LD and robots' Sitemap line."""
    return re.findall(r"https?://[^\s\"'<>]+", text)


@pytest.fixture
def default_hosts(make_client: Any, sample_tree: Path) -> TestClient:
    """The app as installed: KB_ALLOWED_HOSTS and KB_BASE_URL unset."""
    return make_client(sample_tree, allowed_hosts="")  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", [*LINKED, "/api/v1/search?q=code&lang=en", "/static/css/kb.css", "/admin/login"])
def test_a_forged_host_is_refused_with_a_clear_400(default_hosts: TestClient, path: str) -> None:
    response = default_hosts.get(path, headers={"host": EVIL})
    assert response.status_code == 400
    assert response.text == "Invalid host header"
    assert EVIL not in response.text and not response.headers.get("location")
    assert_secured(response)


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"])
def test_the_loopback_names_are_served_by_default(default_hosts: TestClient, host: str) -> None:
    response = default_hosts.get("/sitemap.xml", headers={"host": host})
    assert response.status_code == 200
    locations = re.findall(r"<loc>([^<]+)</loc>", response.text)
    assert locations and all(url.lower().startswith(f"http://{host.lower()}/") for url in locations)


@pytest.mark.parametrize("host", ["testserver", "localhost.evil.example", "127.0.0.1.nip.io", "help.example.com"])
def test_other_hosts_are_refused_by_default(default_hosts: TestClient, host: str) -> None:
    refused = default_hosts.get("/en/", headers={"host": host})
    assert refused.status_code == 400
    assert refused.text == "Invalid host header"


def test_the_base_url_host_is_allowed_and_every_link_uses_the_base_url(make_client: Any,
                                                                       sample_tree: Path) -> None:
    client = make_client(sample_tree, allowed_hosts="", base_url=BASE + "/")
    assert client.get("/en/", headers={"host": EVIL}).status_code == 400
    for host in ("help.example.com", "localhost:8000"):
        for path in LINKED:
            response = client.get(path, headers={"host": host})
            assert response.status_code == 200, (host, path)
            found = links(response.text)
            site_links = [url for url in found if "example.com" in url or "localhost" in url]
            assert site_links, (path, found)
            assert all(url.startswith(BASE + "/") for url in site_links), (path, site_links)
    robots = client.get("/robots.txt", headers={"host": "localhost"}).text
    assert f"Sitemap: {BASE}/sitemap.xml" in robots


def test_with_any_host_allowed_a_forged_host_still_never_reaches_a_link(make_client: Any,
                                                                         sample_tree: Path) -> None:
    client = make_client(sample_tree, allowed_hosts="*", base_url=BASE)
    for path in LINKED:
        response = client.get(path, headers={"host": EVIL})
        assert response.status_code == 200, path
        assert EVIL not in response.text, path
        assert all(EVIL not in value for value in response.headers.values())
    page = client.get("/en/articles/support-code-and-vip-code", headers={"host": EVIL}).text
    assert f'<link rel="canonical" href="{BASE}/en/articles/support-code-and-vip-code">' in page
    assert re.search(rf'<link rel="alternate" hreflang="fr" href="{re.escape(BASE)}/fr/articles/[^"]+">', page)
    assert f'<meta property="og:url" content="{BASE}/en/articles/support-code-and-vip-code">' in page


def test_sub_domain_patterns(make_client: Any, sample_tree: Path) -> None:
    client = make_client(sample_tree, allowed_hosts="*.example.com, kb.internal")
    assert client.get("/en/", headers={"host": "docs.example.com"}).status_code == 200
    assert client.get("/en/", headers={"host": "kb.internal:8080"}).status_code == 200
    assert client.get("/en/", headers={"host": "example.org"}).status_code == 400
    assert client.get("/en/", headers={"host": "kb.internal.evil.example"}).status_code == 400


def test_the_default_list_and_the_listen_address() -> None:
    def hosts(**values: Any) -> list[str]:
        return load_settings(values, environ={}, create_secret=False).trusted_hosts()

    loopback = ["localhost", "127.0.0.1", "[::1]"]  # as a Host header writes them
    assert hosts() == loopback
    assert hosts(base_url="https://Help.Example.com:8443/kb") == [*loopback, "help.example.com"]
    assert hosts(base_url="http://[2001:db8::1]:8000") == [*loopback, "[2001:db8::1]"]
    assert hosts(host="10.0.0.5") == [*loopback, "10.0.0.5"]
    assert hosts(host="0.0.0.0") == hosts(host="::") == loopback  # any address: no name implied
    assert hosts(allowed_hosts="a.example, ::1, [fe80::1], *") == ["a.example", "[::1]", "[fe80::1]", "*"]
    from_env = load_settings(environ={"KB_ALLOWED_HOSTS": "kb.example"}, create_secret=False)
    assert from_env.trusted_hosts() == ["kb.example"]


@pytest.mark.parametrize(("variable", "value"), [
    ("KB_ALLOWED_HOSTS", "a*b.example"),
    ("KB_ALLOWED_HOSTS", "http://kb.example/"),
    ("KB_ALLOWED_HOSTS", "kb.example:8080"),
    ("KB_BASE_URL", "help.example.com"),
    ("KB_BASE_URL", "ftp://help.example.com"),
])
def test_bad_values_are_refused_at_start_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(variable)):
        load_settings(environ={variable: value}, create_secret=False)
