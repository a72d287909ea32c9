"""Helpers for the admin tests: accounts, signing in, and reading forms like a browser would."""

from __future__ import annotations

import re
from typing import Any

from bs4 import BeautifulSoup
from starlette.testclient import TestClient

PASSWORD = "correct horse battery"


def add_user(client: TestClient, name: str, role: str, password: str = PASSWORD) -> None:
    auth = client.app.state.kb.auth  # type: ignore[attr-defined]
    client.portal.call(auth.add_user, name, password, role)  # type: ignore[union-attr]


def call(client: TestClient, func: Any, *args: Any) -> Any:
    """Run a coroutine function of the app's services on the app's event loop."""
    return client.portal.call(func, *args)  # type: ignore[union-attr]


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD, next_url: str = "") -> Any:
    client.cookies.delete("kb_session")  # sign in afresh, as someone else if need be
    page = client.get("/admin/login")
    return client.post("/admin/login", data={"csrf_token": csrf(page.text), "name": name, "password": password,
                                             "next": next_url})


def signed_in(client: TestClient, name: str, role: str) -> TestClient:
    add_user(client, name, role)
    response = login(client, name)
    assert response.status_code == 303, response.text
    return client


def form_fields(html: str, form_id: str = "article-form") -> dict[str, str]:
    """The values a browser would submit for a form (without its submit buttons)."""
    form = BeautifulSoup(html, "html.parser").find("form", id=form_id)
    assert form is not None, f"no form #{form_id}"
    values: dict[str, str] = {}
    for field in form.find_all(["input", "textarea", "select"]):
        name = field.get("name")
        if not name or field.get("type") in ("submit", "button"):
            continue
        if field.name == "textarea":
            text = field.get_text()
            values[name] = text.removeprefix("\n")  # as browsers do
        elif field.name == "select":
            chosen = field.find("option", selected=True) or field.find("option")
            values[name] = chosen.get("value", "") if chosen else ""
        else:
            values[name] = field.get("value", "")
    return values


def open_form(client: TestClient, url: str) -> dict[str, str]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return form_fields(response.text)


def soup(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")
